import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { GitSource, PipelineBuildProject, PipelineBuildProjectArgs } from "./pipeline-build-project";

/** One check: a CodeBuild project the git host's webhook starts, reported as a commit status. */
export interface PullRequestCheck extends Omit<PipelineBuildProjectArgs, "gitSource"> {
  /** The commit status's name on the git host, e.g. "friday/tests". */
  readonly statusContext: string;
  /** Also run on pushes to other branches than the base (tests do; previews only on pull requests). @default false */
  readonly onBranchPushes?: boolean;
  /** Run only when a changed file matches one of these globs (e.g. the Pulumi program's paths). @default any file */
  readonly filePaths?: string[];
}

export interface PullRequestChecksArgs {
  /** The app repository, "owner/name". */
  readonly repository: string;
  /** Its git host (CodeConnections' provider type). */
  readonly providerType: string;
  /** The CodeConnections connection (the pipeline's). */
  readonly connectionArn: pulumi.Input<string>;
  /** The branch pull requests target; pushes to it run the pipeline, not these checks. @default "main" */
  readonly baseBranch?: string;
  /** Pull requests from forks wait for a maintainer's approving comment before they build. @default true */
  readonly forkApproval?: boolean;
  /** The checks, one CodeBuild project each. */
  readonly checks: PullRequestCheck[];
}

/** The git hosts CodeBuild can build from through a connection, with their clone URLs. */
const HOSTS: Record<string, { type: GitSource["type"]; url: (repo: string) => string; reopened: boolean; approvers: string[] }> = {
  GitHub: { type: "GITHUB", url: (repo) => `https://github.com/${repo}.git`, reopened: true, approvers: ["GITHUB_WRITE", "GITHUB_MAINTAIN", "GITHUB_ADMIN"] },
  GitLab: { type: "GITLAB", url: (repo) => `https://gitlab.com/${repo}.git`, reopened: false, approvers: ["GITLAB_DEVELOPER", "GITLAB_MAINTAINER", "GITLAB_OWNER"] },
  Bitbucket: { type: "BITBUCKET", url: (repo) => `https://bitbucket.org/${repo}.git`, reopened: false, approvers: ["BITBUCKET_WRITE", "BITBUCKET_ADMIN"] },
};

/** Refuses a git host CodeBuild cannot build from through a connection (the Pipeline checks this before creating anything). */
export function validatePullRequestHost(name: string, providerType: string): void {
  if (!HOSTS[providerType]) {
    throw new Error(
      `PullRequestChecks "${name}": providerType "${providerType}" has no CodeBuild webhook through a connection here; ` +
        `use one of ${Object.keys(HOSTS).join(", ")}, or set friday:pipeline.pullRequests.enabled to false.`,
    );
  }
}

export function validatePullRequestChecksArgs(name: string, args: PullRequestChecksArgs): void {
  validatePullRequestHost(name, args.providerType);
  if (!args.checks.length) throw new Error(`PullRequestChecks "${name}": checks is empty; give at least one.`);
  const contexts = new Set<string>();
  for (const check of args.checks) {
    if (contexts.has(check.statusContext)) throw new Error(`PullRequestChecks "${name}": two checks report as "${check.statusContext}"; give each its own statusContext.`);
    contexts.add(check.statusContext);
    if (check.filePaths && !check.filePaths.length) throw new Error(`PullRequestChecks "${name}": ${check.projectName}.filePaths is empty; leave it out to run on any change.`);
  }
}

/** A path glob ("infra/**", "Pulumi.*.yaml") as the regular expression CodeBuild's FILE_PATH filter takes. */
export function globToRegex(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*" && glob[i + 1] === "*") {
      out += ".*";
      i++;
      if (glob[i + 1] === "/") i++;
    } else if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else out += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return `^${out}$`;
}

/**
 * Checks on every pull request (and branch push) of the app repository: CodeBuild projects started
 * by the git host's webhook, each reporting a commit status. They deploy nothing: their roles can
 * read, never change, and pushes to the base branch are left to the pipeline.
 */
export class PullRequestChecks extends pulumi.ComponentResource {
  public readonly projects: PipelineBuildProject[];

  constructor(name: string, args: PullRequestChecksArgs, opts?: pulumi.ComponentResourceOptions) {
    super("friday:delivery:PullRequestChecks", name, {}, opts);
    validatePullRequestChecksArgs(name, args);
    const host = HOSTS[args.providerType];
    const base = args.baseBranch ?? "main";
    const baseRef = `^refs/heads/${base.replace(/[.+*?^${}()|[\]\\]/g, "\\$&")}$`;

    this.projects = args.checks.map(({ statusContext, onBranchPushes, filePaths, ...project }) => {
      const build = new PipelineBuildProject(
        project.projectName,
        { ...project, gitSource: { type: host.type, location: host.url(args.repository), connectionArn: args.connectionArn, statusContext } },
        { parent: this },
      );
      const files = filePaths?.length ? [{ type: "FILE_PATH", pattern: filePaths.map(globToRegex).join("|") }] : [];
      const pullRequestEvents = ["PULL_REQUEST_CREATED", "PULL_REQUEST_UPDATED", ...(host.reopened ? ["PULL_REQUEST_REOPENED"] : [])];
      new aws.codebuild.Webhook(
        `${project.projectName}-webhook`,
        {
          projectName: build.project.name,
          buildType: "BUILD",
          filterGroups: [
            { filters: [{ type: "EVENT", pattern: pullRequestEvents.join(", ") }, { type: "BASE_REF", pattern: baseRef }, ...files] },
            ...(onBranchPushes
              ? [{ filters: [{ type: "EVENT", pattern: "PUSH" }, { type: "HEAD_REF", pattern: baseRef, excludeMatchedPattern: true }, ...files] }]
              : []),
          ],
          ...(args.forkApproval ?? true ? { pullRequestBuildPolicy: { requiresCommentApproval: "FORK_PULL_REQUESTS", approverRoles: host.approvers } } : {}),
        },
        { parent: this },
      );
      return build;
    });
    this.registerOutputs({ projectNames: this.projects.map((p) => p.projectName) });
  }
}
