import { spawn } from "node:child_process";
import { BOUNDED_IAM_ACTIONS } from "../../components/infra-delivery-policies";
import {
  CodePipelineClient,
  GetPipelineCommand,
  StartPipelineExecutionCommand,
  StopPipelineExecutionCommand,
} from "@aws-sdk/client-codepipeline";
import { formatPreviewSummary, parsePreviewJson, summarisePreview, type PreviewSummary } from "./preview-summary";

/**
 * `friday infra preview|up`: what the pipeline's infra steps run. Each is a short, checked
 * sequence of Pulumi CLI calls — backend login, stack selection, preview (summarised; a failure
 * names the resource and stops before anything changes), and for `up` the update itself — with
 * one clear message for each way it can go wrong.
 */

/** The error every infra command fails with: one message saying what is wrong and what to do. */
export class InfraError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InfraError";
  }
}

export interface PulumiResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the Pulumi CLI. Tests hand in a fake `pulumi` executable through FRIDAY_PULUMI_BIN. */
export type PulumiRunner = (args: string[], opts?: { onLine?: (line: string) => void }) => Promise<PulumiResult>;

export function processRunner(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): PulumiRunner {
  const bin = env.FRIDAY_PULUMI_BIN || "pulumi";
  return (args, opts = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn(bin, args, { cwd, env: { ...env, PULUMI_SKIP_UPDATE_CHECK: "true" }, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      let pending = "";
      child.stdout.on("data", (chunk: Buffer) => {
        const text = chunk.toString();
        stdout += text;
        if (!opts.onLine) return;
        pending += text;
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) opts.onLine(line);
      });
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("error", (error: NodeJS.ErrnoException) =>
        reject(
          error.code === "ENOENT"
            ? new InfraError(`The Pulumi CLI ("${bin}") is not installed or not on PATH. The pipeline's buildspecs install it; elsewhere see https://www.pulumi.com/docs/install/.`)
            : error,
        ),
      );
      child.on("close", (code) => {
        if (pending && opts.onLine) opts.onLine(pending);
        resolve({ code: code ?? 1, stdout, stderr });
      });
    });
}

export interface InfraTarget {
  /** "staging" or "prod". */
  readonly stack: "staging" | "prod";
  /** The fully qualified Pulumi stack, e.g. "organization/friday/prod". */
  readonly pulumiStack: string;
}

export interface InfraContext {
  readonly run: PulumiRunner;
  readonly env: NodeJS.ProcessEnv;
  readonly log: (line: string) => void;
  readonly now: () => number;
}

/** The state backend the environment names; fails with the fix when there is none. */
export function backendOf(env: NodeJS.ProcessEnv): string {
  const url = env.PULUMI_BACKEND_URL?.trim();
  if (!url) {
    throw new InfraError(
      "No state backend: PULUMI_BACKEND_URL is not set. The pipeline sets it from friday:pipeline.infra.backendUrl in Pulumi.prod.yaml; " +
        "if that is missing, run `npx friday bootstrap --region <region>` once and add the block it prints.",
    );
  }
  if (/^https:\/\/(api|app)\.pulumi\.com/.test(url) && !env.PULUMI_ACCESS_TOKEN) {
    throw new InfraError(
      `The state backend is Pulumi Cloud (${url}) but PULUMI_ACCESS_TOKEN is not set. Store a team access token in Secrets Manager and set ` +
        "friday:pipeline.infra.accessTokenSecretArn to its ARN (the pipeline resolves it into the build's environment).",
    );
  }
  if (url.startsWith("s3://") && !env.PULUMI_SECRETS_PROVIDER) {
    throw new InfraError(
      `The state backend is ${url} but no secrets provider is set: set friday:pipeline.infra.secretsProvider (e.g. "awskms://alias/friday-pulumi?region=us-east-1"), ` +
        "the key `friday bootstrap` created.",
    );
  }
  return url;
}

/** The last `n` non-empty lines of a command's output, for error messages. */
export const lastLines = (text: string, n = 6) => text.trim().split("\n").filter(Boolean).slice(-n).join("\n");

/** The fix for failures whose cause Pulumi's own message leaves for the reader to work out. */
export function hintFor(output: string): string {
  if (/connection/i.test(output) && /(PENDING|not available|is not in AVAILABLE|ResourceNotFoundException)/i.test(output)) {
    return "\nThe CodeConnections connection is not available: approve it once (console → Developer Tools → Settings → Connections → Update pending connection), or set friday:pipeline.connectionArn to an approved one, then run the pipeline again.";
  }
  // A role without (or a policy named as) the permissions boundary: the boundary is missing or stale (made before it existed).
  const boundedActions = BOUNDED_IAM_ACTIONS.map((a) => a.replace("iam:", "")).join("|");
  if (/policy\/friday-[\w-]+-boundary/.test(output) || new RegExp(`not authorized to perform: iam:(${boundedActions})\\b`).test(output)) {
    return "\nThe roles' permissions boundary is missing or out of date (the infra roles may create and change roles only with it). An administrator runs `npx friday bootstrap --region <region>` once from this commit: it creates or updates friday-staging-boundary and friday-prod-boundary and puts them on every role (docs/infra-pipeline.md).";
  }
  if (/AccessDenied|not authorized to perform/i.test(output)) {
    return "\nThe step's role lacks a permission: if the program now creates a new kind of resource, add its actions to INFRA_SERVICES (components/infra-delivery-policies.ts) in the same pull request.";
  }
  return "";
}

/** Logs in to the backend and selects the stack: the two steps a missing backend or stack fails at. */
export async function selectStack(ctx: InfraContext, target: InfraTarget): Promise<void> {
  const backend = backendOf(ctx.env);
  ctx.log(`[1] State backend ${backend}`);
  const login = await ctx.run(["login", backend, "--non-interactive"]);
  if (login.code !== 0) {
    throw new InfraError(
      `Cannot use the state backend ${backend}:\n${lastLines(login.stderr || login.stdout)}\n` +
        "Check that it exists (`friday bootstrap` creates the S3 bucket) and that this role may read it.",
    );
  }
  ctx.log(`[2] Stack ${target.pulumiStack}`);
  const select = await ctx.run(["stack", "select", "--stack", target.pulumiStack, "--non-interactive"]);
  if (select.code !== 0) {
    throw new InfraError(
      `The stack ${target.pulumiStack} does not exist in ${backend} (or cannot be read):\n${lastLines(select.stderr || select.stdout)}\n` +
        `Create it once with \`npx friday bootstrap\` (see docs/infra-pipeline.md), or fix friday:stagingStack in Pulumi.prod.yaml.`,
    );
  }
}

/** `pulumi preview`, summarised. A failing preview throws, naming each resource and its error. */
export async function preview(ctx: InfraContext, target: InfraTarget): Promise<PreviewSummary> {
  ctx.log(`[3] Preview of ${target.stack}`);
  const started = ctx.now();
  const result = await ctx.run(["preview", "--json", "--non-interactive", "--stack", target.pulumiStack]);
  let summary: PreviewSummary | undefined;
  try {
    summary = summarisePreview(target.stack, parsePreviewJson(result.stdout));
  } catch (error) {
    if (result.code === 0) throw new InfraError((error as Error).message);
  }
  if (summary) ctx.log(formatPreviewSummary(summary));
  if (result.code !== 0 || (summary && summary.errors.length)) {
    const named = summary?.errors.length
      ? summary.errors.map((e) => `  ${e.resource ?? "the program"}: ${e.message.split("\n")[0]}`).join("\n")
      : lastLines(result.stderr || result.stdout);
    throw new InfraError(`The preview of ${target.stack} failed, so nothing was changed:\n${named}${hintFor(named)}\nFix it in a pull request (its preview check shows the same error).`);
  }
  ctx.log(`Preview took ${((ctx.now() - started) / 1000).toFixed(1)} s.`);
  return summary!;
}

export interface UpOptions {
  /** Run this image (the Build stage's digest) rather than building app/ with Docker. */
  readonly image?: string;
  /** The commit being applied; staging records it and prod must match it (staging first). */
  readonly release?: string;
  /**
   * (staging) Point the state at the database instance a staging refresh swapped in, before the
   * preview (friday staging adopt-database; nothing happens when the state already tracks it).
   */
  readonly adoptDatabase?: (pulumiStack: string) => Promise<{ changed: boolean; urn: string; identifier: string; liveResourceId: string } | undefined>;
  /** (prod) The pipeline this step runs in, and the run: restarted if the update changed the pipeline itself. */
  readonly pipeline?: { readonly name: string; readonly executionId: string; readonly client: CodePipelineClient };
}

export interface UpResult {
  readonly stack: string;
  readonly summary: PreviewSummary;
  readonly seconds: number;
  /** The pipeline's definition changed: this run was stopped and `restartedAs` takes the same commit. */
  readonly restartedAs?: string;
}

/** Preview, then `pulumi up` of the stack, streaming Pulumi's progress; restarts the run if the pipeline changed. */
export async function up(ctx: InfraContext, target: InfraTarget, options: UpOptions): Promise<UpResult> {
  const started = ctx.now();
  await selectStack(ctx, target);
  if (options.image) {
    // The stack's task-definition template takes the image the Build stage pushed (no Docker build of app/).
    const set = await ctx.run(["config", "set", "friday:imageUri", options.image, "--stack", target.pulumiStack, "--non-interactive"]);
    if (set.code !== 0) throw new InfraError(`Cannot set friday:imageUri for ${target.stack}: ${lastLines(set.stderr)}`);
  }
  if (options.adoptDatabase) {
    const adopted = await options.adoptDatabase(target.pulumiStack);
    if (adopted?.changed) {
      // A refresh swapped in a new instance: read it (and its new managed secret) into the state before planning.
      ctx.log(`A staging refresh swapped the database: the state now tracks "${adopted.identifier}" (${adopted.liveResourceId}); refreshing it`);
      const refresh = await ctx.run(["refresh", "--yes", "--skip-preview", "--non-interactive", "--stack", target.pulumiStack, "--target", adopted.urn]);
      if (refresh.code !== 0) throw new InfraError(`pulumi refresh of the swapped-in database failed; nothing else was changed:\n${lastLines(refresh.stderr || refresh.stdout)}`);
    }
  }
  const summary = await preview(ctx, target);
  const versionBefore = options.pipeline ? await pipelineVersion(options.pipeline) : undefined;
  ctx.log(`[4] pulumi up of ${target.stack}`);
  const result = await ctx.run(["up", "--yes", "--skip-preview", "--non-interactive", "--stack", target.pulumiStack], { onLine: (line) => line.trim() && ctx.log(line) });
  if (result.code !== 0) {
    throw new InfraError(
      `pulumi up of ${target.stack} failed; what it changed before the error stays, the rest of this run does not start:\n${lastLines(result.stderr || result.stdout, 10)}` +
        `${hintFor(result.stderr + result.stdout)}\nFix forward (a new commit through the pipeline) or revert the commit; either goes through staging first.`,
    );
  }
  let restartedAs: string | undefined;
  if (options.pipeline && versionBefore !== undefined) {
    const versionAfter = await pipelineVersion(options.pipeline);
    if (versionAfter !== versionBefore) restartedAs = await restart(ctx, options.pipeline, options.release);
  }
  const seconds = (ctx.now() - started) / 1000;
  ctx.log(`Done: ${target.stack} is up to date in ${seconds.toFixed(0)} s${restartedAs ? `; the pipeline changed (version ${versionBefore} → newer), run ${restartedAs} continues this commit` : ""}.`);
  return { stack: target.stack, summary, seconds, restartedAs };
}

async function pipelineVersion(pipeline: NonNullable<UpOptions["pipeline"]>): Promise<number | undefined> {
  const out = await pipeline.client.send(new GetPipelineCommand({ name: pipeline.name }));
  return out.pipeline?.version;
}

/**
 * The update changed the pipeline this step runs in. CodePipeline does not carry a running
 * execution over to a new definition reliably, so friday makes it explicit: start the same commit
 * on the new definition (QUEUED: it runs once this one ends) and stop this run after this step.
 */
async function restart(ctx: InfraContext, pipeline: NonNullable<UpOptions["pipeline"]>, release?: string): Promise<string> {
  const started = await pipeline.client.send(
    new StartPipelineExecutionCommand({
      name: pipeline.name,
      ...(release ? { sourceRevisions: [{ actionName: "Source", revisionType: "COMMIT_ID", revisionValue: release }] } : {}),
    }),
  );
  const id = started.pipelineExecutionId ?? "unknown";
  await pipeline.client.send(
    new StopPipelineExecutionCommand({
      pipelineName: pipeline.name,
      pipelineExecutionId: pipeline.executionId,
      abandon: false,
      reason: `pulumi up changed the pipeline itself; run ${id} takes ${release ?? "the same commit"} through the new definition.`,
    }),
  );
  ctx.log(`The pipeline's definition changed: started run ${id} for ${release ?? "the same commit"} and stopped run ${pipeline.executionId} after this step.`);
  return id;
}
