import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { PolicyDocument } from "./pipeline-policies";
import { permissionsBoundary, serviceTrust } from "./service-trust";

/** Where the buildspecs live (in the repo, never in the console). */
export const BUILDSPEC_DIR = join(__dirname, "..", "pipeline", "buildspecs");

/** The buildspecs the pipeline's projects run. */
export type BuildspecName = "test" | "build" | "migrate" | "deploy" | "smoke" | "gate" | "infra-preview" | "infra-up";

/** The text of pipeline/buildspecs/<name>.yml. */
export function readBuildspec(name: BuildspecName): string {
  return readFileSync(join(BUILDSPEC_DIR, `${name}.yml`), "utf8");
}

/** CodeBuild images per CPU architecture (the app's, so `docker build` runs natively). */
export const BUILD_ENVIRONMENTS = {
  ARM64: { type: "ARM_CONTAINER", image: "aws/codebuild/amazonlinux-aarch64-standard:3.0", dockerPlatform: "linux/arm64" },
  X86_64: { type: "LINUX_CONTAINER", image: "aws/codebuild/amazonlinux-x86_64-standard:5.0", dockerPlatform: "linux/amd64" },
} as const;

export type CpuArchitecture = keyof typeof BUILD_ENVIRONMENTS;

/** One environment variable of a project; SECRETS_MANAGER values are `<secret-arn>:<json-key>`. */
export interface ProjectVariable {
  readonly name: string;
  readonly value: pulumi.Input<string>;
  readonly type?: "PLAINTEXT" | "SECRETS_MANAGER";
}

export interface PipelineBuildProjectArgs {
  /** The CodeBuild project's name (also names its log group and role). */
  readonly projectName: string;
  /** What the project does, shown in the console. */
  readonly description: string;
  /** Which buildspec under pipeline/buildspecs/ it runs. */
  readonly buildspec: BuildspecName;
  /** The role's inline policy. */
  readonly policy: pulumi.Input<PolicyDocument>;
  /**
   * Further permissions as managed policies, for roles whose permissions outgrow an inline policy
   * (IAM holds 10,240 characters inline per role, 6,144 per managed policy). @default none
   */
  readonly managedPolicies?: pulumi.Input<PolicyDocument>[];
  /**
   * Build straight from the git host (pull requests and branch pushes, reported back as a commit
   * status) instead of as a CodePipeline action. @default a CodePipeline action
   */
  readonly gitSource?: GitSource;
  /** Environment variables set on the project. */
  readonly variables: ProjectVariable[];
  /** CPU architecture of the build host. @default "ARM64" */
  readonly architecture?: CpuArchitecture;
  /** Run the Docker daemon (image builds only). @default false */
  readonly privileged?: boolean;
  /** @default "BUILD_GENERAL1_SMALL" */
  readonly computeType?: string;
  /** Build timeout in minutes. @default 30 */
  readonly timeoutMinutes?: number;
  /** Run inside this VPC (private subnets + security group). */
  readonly vpc?: { vpcId: pulumi.Input<string>; subnetIds: pulumi.Input<string[]>; securityGroupId: pulumi.Input<string> };
  /** Local caches (e.g. LOCAL_DOCKER_LAYER_CACHE). @default none */
  readonly cacheModes?: string[];
  /** KMS key the project encrypts its output artifacts with. */
  readonly artifactsKeyArn: pulumi.Input<string>;
  /** Log retention of the project's log group. @default 30 */
  readonly logRetentionDays?: number;
  /** Tags of the project's log group besides the stack's default tags. */
  readonly logGroupTags?: Record<string, string>;
}

/** A repository CodeBuild checks out itself, through a CodeConnections connection. */
export interface GitSource {
  /** CodeBuild's source type for the host: GITHUB, GITLAB or BITBUCKET. */
  readonly type: "GITHUB" | "GITLAB" | "BITBUCKET";
  /** The clone URL, e.g. https://github.com/acme/app.git. */
  readonly location: string;
  /** The CodeConnections connection CodeBuild authenticates with. */
  readonly connectionArn: pulumi.Input<string>;
  /** The commit status's name on the git host, e.g. "friday/tests". */
  readonly statusContext: string;
}

/** Synchronous checks of the args; throws one error naming the field, the value and the fix. */
export function validatePipelineBuildProjectArgs(name: string, args: PipelineBuildProjectArgs): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{1,149}$/.test(args.projectName)) {
    throw new Error(`PipelineBuildProject "${name}": projectName must be 2-150 letters, digits, "-" or "_" (got "${args.projectName}").`);
  }
  const timeout = args.timeoutMinutes ?? 30;
  if (!Number.isInteger(timeout) || timeout < 5 || timeout > 2160) {
    throw new Error(`PipelineBuildProject "${name}": timeoutMinutes must be a whole number from 5 to 2160 (got ${timeout}).`);
  }
  const names = new Set<string>();
  for (const v of args.variables) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(v.name)) {
      throw new Error(`PipelineBuildProject "${name}": variable name must be UPPER_SNAKE_CASE (got "${v.name}").`);
    }
    if (names.has(v.name)) throw new Error(`PipelineBuildProject "${name}": variable ${v.name} is set twice; keep one.`);
    names.add(v.name);
  }
  if ((args.managedPolicies?.length ?? 0) > 10) {
    throw new Error(`PipelineBuildProject "${name}": managedPolicies holds ${args.managedPolicies!.length} policies; IAM attaches at most 10 to a role by default. Merge some.`);
  }
  if (args.gitSource && !/^[\w./-]{1,100}$/.test(args.gitSource.statusContext)) {
    throw new Error(`PipelineBuildProject "${name}": gitSource.statusContext must be 1-100 letters, digits, ".", "/" or "-" (got "${args.gitSource.statusContext}").`);
  }
}

/**
 * One CodeBuild project of the pipeline with its own role (least privilege: exactly `policy`), its
 * own log group, and a buildspec from pipeline/buildspecs/.
 */
export class PipelineBuildProject extends pulumi.ComponentResource {
  public readonly project: aws.codebuild.Project;
  public readonly role: aws.iam.Role;
  public readonly projectName: string;
  public readonly projectArn: pulumi.Output<string>;

  constructor(name: string, args: PipelineBuildProjectArgs, opts?: pulumi.ComponentResourceOptions) {
    super("friday:delivery:PipelineBuildProject", name, {}, opts);
    validatePipelineBuildProjectArgs(name, args);
    this.projectName = args.projectName;

    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { name: `/aws/codebuild/${args.projectName}`, retentionInDays: args.logRetentionDays ?? 30, tags: args.logGroupTags },
      { parent: this },
    );
    this.role = createRole(this, name, args);
    const policy = new aws.iam.RolePolicy(
      `${name}-policy`,
      { role: this.role.id, policy: pulumi.output(args.policy).apply((doc) => JSON.stringify(doc)) },
      { parent: this },
    );
    const attachments = (args.managedPolicies ?? []).map((document, i) => {
      const managed = new aws.iam.Policy(
        `${name}-policy-${i + 1}`,
        { description: `CodeBuild ${args.projectName}: permissions, part ${i + 1}`, policy: pulumi.output(document).apply((doc) => JSON.stringify(doc)) },
        { parent: this },
      );
      return new aws.iam.RolePolicyAttachment(`${name}-policy-${i + 1}`, { role: this.role.name, policyArn: managed.arn }, { parent: this });
    });
    this.project = createProject(this, name, args, this.role, logGroup, [policy, ...attachments]);
    this.projectArn = this.project.arn;
    this.registerOutputs({ projectName: this.projectName, projectArn: this.projectArn, roleArn: this.role.arn });
  }
}

function createRole(parent: pulumi.Resource, name: string, args: PipelineBuildProjectArgs): aws.iam.Role {
  return new aws.iam.Role(
    `${name}-role`,
    {
      description: `CodeBuild ${args.projectName}: ${args.description}`,
      permissionsBoundary: permissionsBoundary(parent),
      // CodeBuild's guide (cross-service confused deputy prevention): this project only.
      assumeRolePolicy: serviceTrust(parent, "codebuild.amazonaws.com", (t) => `arn:${t.partition}:codebuild:${t.region}:${t.account}:project/${args.projectName}`),
    },
    { parent },
  );
}

function createProject(
  parent: pulumi.Resource,
  name: string,
  args: PipelineBuildProjectArgs,
  role: aws.iam.Role,
  logGroup: aws.cloudwatch.LogGroup,
  policies: pulumi.Resource[],
): aws.codebuild.Project {
  const env = BUILD_ENVIRONMENTS[args.architecture ?? "ARM64"];
  const git = args.gitSource;
  return new aws.codebuild.Project(
    `${name}-project`,
    {
      name: args.projectName,
      description: args.description,
      serviceRole: role.arn,
      buildTimeout: args.timeoutMinutes ?? 30,
      queuedTimeout: 60,
      encryptionKey: args.artifactsKeyArn,
      artifacts: { type: git ? "NO_ARTIFACTS" : "CODEPIPELINE" },
      source: git
        ? {
            type: git.type,
            location: git.location,
            buildspec: readBuildspec(args.buildspec),
            auth: { type: "CODECONNECTIONS", resource: git.connectionArn },
            reportBuildStatus: true,
            buildStatusConfig: { context: git.statusContext },
            // Full history: a preview compares the pull request's head with its base.
            gitCloneDepth: 0,
          }
        : { type: "CODEPIPELINE", buildspec: readBuildspec(args.buildspec) },
      environment: {
        type: env.type,
        image: env.image,
        computeType: args.computeType ?? "BUILD_GENERAL1_SMALL",
        imagePullCredentialsType: "CODEBUILD",
        privilegedMode: args.privileged ?? false,
        environmentVariables: args.variables.map((v) => ({ name: v.name, value: v.value, type: v.type ?? "PLAINTEXT" })),
      },
      cache: args.cacheModes?.length ? { type: "LOCAL", modes: args.cacheModes } : { type: "NO_CACHE" },
      logsConfig: { cloudwatchLogs: { status: "ENABLED", groupName: logGroup.name }, s3Logs: { status: "DISABLED" } },
      vpcConfig: args.vpc
        ? { vpcId: args.vpc.vpcId, subnets: args.vpc.subnetIds, securityGroupIds: [args.vpc.securityGroupId] }
        : undefined,
    },
    // The role must hold its policies before the first build runs.
    { parent, dependsOn: policies },
  );
}
