import { ECSClient, ServiceRevision, StopServiceDeploymentCommand } from "@aws-sdk/client-ecs";
import { SSMClient } from "@aws-sdk/client-ssm";
import { Command } from "commander";
import { awsCall, DeployError } from "./aws";
import { addCommonFlags, cliContext, CommonFlags, confirmProd, finish, numberFlag, pollOption, progressLog, timeoutOption } from "./cli-support";
import { refuseWhileInFlight, startDeployment } from "./deploy";
import {
  Clock,
  describeDeployment,
  describeDeployments,
  describeRevisions,
  findInFlight,
  followDeployment,
  FollowResult,
  formatDuration,
  listDeployments,
  Log,
  ROLLING_BACK_STATUSES,
  validateFollowLimits,
} from "./follow";
import { appImageOf, describeTaskDefinition, runningRevision } from "./service";
import { loadStackIdentifiers, StackIdentifiers, validateStackName } from "./stack";

/**
 * `friday rollback`: the button. A deployment in flight is stopped with ROLLBACK (ECS moves
 * production traffic back to the revision it came from); with none in flight, the previous
 * known-good revision is redeployed through the same blue/green path as any deploy.
 */

export interface RollbackDeps {
  ecs: ECSClient;
  ssm: SSMClient;
  clock: Clock;
  log: Log;
}

export interface RollbackOptions {
  stack: string;
  /** Redeploy this revision instead of the previous known-good one: a task-definition ARN, "family:revision" or a revision number. */
  to?: string;
  /** @default 30 */
  timeoutMinutes?: number;
  /** @default 15 */
  pollSeconds?: number;
}

export interface RollbackPlan {
  stack: string;
  /** "stop": StopServiceDeployment(ROLLBACK) on the deployment in flight; "redeploy": UpdateService to an earlier revision. */
  action: "stop" | "redeploy";
  /** The deployment to stop (action "stop"). */
  serviceDeploymentArn?: string;
  deploymentStatus?: string;
  lifecycleStage?: string;
  /** What serves (or is being rolled out) now. */
  fromTaskDefinition?: string;
  fromImage?: string;
  /** What the service goes back to. */
  toTaskDefinition?: string;
  toImage?: string;
  /** How the target was chosen. */
  chosenBecause: string;
}

export interface RollbackResult extends FollowResult {
  plan: RollbackPlan;
}

export function validateRollbackOptions(options: RollbackOptions): Required<Omit<RollbackOptions, "to">> & { to?: string } {
  validateStackName(options.stack);
  const timeoutMinutes = options.timeoutMinutes ?? 30;
  const pollSeconds = options.pollSeconds ?? 15;
  validateFollowLimits(timeoutMinutes, pollSeconds);
  if (options.to !== undefined) parseTo(options.to);
  return { stack: options.stack, to: options.to, timeoutMinutes, pollSeconds };
}

/**
 * `--to` as a task-definition reference in the stack's family: a full ARN, "family:revision", or
 * a bare revision number.
 */
export function parseTo(to: string, family?: string): string {
  const named =
    /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition\/([A-Za-z0-9_-]+):(\d+)$/.exec(to) ?? /^([A-Za-z0-9_-]+):(\d+)$/.exec(to);
  if (named) {
    if (family !== undefined && named[1] !== family) throw wrongFamily(to, family);
    return to;
  }
  if (/^\d+$/.test(to)) return `${family ?? "family"}:${to}`;
  throw new DeployError(
    `--to must be a task-definition ARN, "family:revision" or a revision number (got "${to}"). See \`friday status\` for recent revisions.`,
  );
}

function wrongFamily(to: string, family: string): DeployError {
  return new DeployError(`--to ${to} is not a revision of this stack's task-definition family "${family}": pass one of its revisions, e.g. ${family}:12.`);
}

function appImage(revision: ServiceRevision | undefined, containerName: string): string | undefined {
  return appImageOf(revision, containerName).imageByDigest;
}

/** Works out what the button would do, changing nothing. */
export async function planRollback(deps: RollbackDeps, raw: RollbackOptions): Promise<{ ids: StackIdentifiers; plan: RollbackPlan }> {
  const options = validateRollbackOptions(raw);
  const { ecs } = deps;
  const ids = await loadStackIdentifiers(deps.ssm, options.stack);

  const inFlight = await findInFlight(ecs, ids);
  if (inFlight) {
    const status = inFlight.status ?? "";
    if ((ROLLING_BACK_STATUSES as string[]).includes(status)) {
      throw new DeployError(
        `A rollback is already running on ${ids.stack} (${inFlight.serviceDeploymentArn}, ${status}). ` +
          `Follow it with \`friday status --stack ${ids.stack}\`; nothing was changed.`,
      );
    }
    if (status === "STOP_REQUESTED") {
      throw new DeployError(
        `Deployment ${inFlight.serviceDeploymentArn} on ${ids.stack} is already being stopped (STOP_REQUESTED). ` +
          `Wait for it to end (\`friday status --stack ${ids.stack}\`), then run \`friday rollback\` again if needed; nothing was changed.`,
      );
    }
    if (options.to) {
      throw new DeployError(
        `A deployment is in flight on ${ids.stack} (${inFlight.serviceDeploymentArn}, ${status}): ECS rolls it back to the revision it came from, so --to does not apply. ` +
          "Run without --to to stop it with rollback, or wait for it to end and then use --to.",
      );
    }
    const d = await describeDeployment(ecs, inFlight.serviceDeploymentArn as string);
    const arns = [d.targetServiceRevision?.arn, d.sourceServiceRevisions?.[0]?.arn].filter((a): a is string => !!a);
    const revisions = arns.length > 0 ? await describeRevisions(ecs, arns) : [];
    const target = revisions.find((r) => r.serviceRevisionArn === d.targetServiceRevision?.arn);
    const source = revisions.find((r) => r.serviceRevisionArn === d.sourceServiceRevisions?.[0]?.arn);
    return {
      ids,
      plan: {
        stack: ids.stack,
        action: "stop",
        serviceDeploymentArn: inFlight.serviceDeploymentArn,
        deploymentStatus: d.status,
        lifecycleStage: d.lifecycleStage,
        fromTaskDefinition: target?.taskDefinition,
        fromImage: appImage(target, ids.containerName),
        toTaskDefinition: source?.taskDefinition,
        toImage: appImage(source, ids.containerName),
        chosenBecause: "a deployment is in flight: ECS rolls it back to the revision it started from",
      },
    };
  }

  const running = await runningRevision(ecs, ids);
  const redeploy = (to: Pick<RollbackPlan, "toTaskDefinition" | "toImage" | "chosenBecause">) => ({
    ids,
    plan: { stack: ids.stack, action: "redeploy" as const, fromTaskDefinition: running.taskDefinitionArn, fromImage: running.imageByDigest, ...to },
  });
  if (options.to) {
    const reference = parseTo(options.to, ids.taskDefinitionFamily);
    const { taskDefinition } = await describeTaskDefinition(ecs, reference, "pick an existing revision (see `friday status`).");
    const arn = taskDefinition.taskDefinitionArn as string;
    if (arn === running.taskDefinitionArn) {
      throw new DeployError(`${ids.stack} already runs ${arn}: nothing to roll back to. Pick another revision with --to.`);
    }
    return redeploy({
      toTaskDefinition: arn,
      toImage: taskDefinition.containerDefinitions?.find((c) => c.name === ids.containerName)?.image,
      chosenBecause: `--to ${options.to}`,
    });
  }

  const previous = await previousKnownGood(ecs, ids, running.taskDefinitionArn);
  return redeploy({
    toTaskDefinition: previous.revision.taskDefinition,
    toImage: appImage(previous.revision, ids.containerName),
    chosenBecause: previous.because,
  });
}

/**
 * The most recent revision other than the running one that served after a SUCCESSFUL deployment:
 * first the source of the newest successful deployment (what served before it), then the targets
 * and sources of older successful deployments. ECS keeps 90 days of deployment history.
 */
async function previousKnownGood(
  ecs: ECSClient,
  ids: StackIdentifiers,
  runningTaskDefinition: string | undefined,
): Promise<{ revision: ServiceRevision; because: string }> {
  const successes = await listDeployments(ecs, ids, { status: ["SUCCESSFUL"], limit: 20 });
  const described = await describeDeployments(
    ecs,
    successes.map((s) => s.serviceDeploymentArn).filter((a): a is string => !!a),
  );
  const byArn = new Map(described.map((d) => [d.serviceDeploymentArn, d]));
  const candidates: { arn: string; because: string }[] = [];
  successes.forEach((brief, index) => {
    const d = byArn.get(brief.serviceDeploymentArn);
    if (!d) return;
    const when = (d.finishedAt ?? d.createdAt)?.toISOString() ?? "?";
    if (index > 0 && d.targetServiceRevision?.arn) {
      candidates.push({ arn: d.targetServiceRevision.arn, because: `it was deployed successfully by ${d.serviceDeploymentArn} (${when})` });
    }
    for (const source of d.sourceServiceRevisions ?? []) {
      if (source.arn) candidates.push({ arn: source.arn, because: `it served until the successful deployment ${d.serviceDeploymentArn} (${when}) replaced it` });
    }
  });
  const unique = candidates.filter((c, i) => candidates.findIndex((x) => x.arn === c.arn) === i);
  const revisions = unique.length > 0 ? await describeRevisions(ecs, unique.map((c) => c.arn)) : [];
  const byRevision = new Map(revisions.map((r) => [r.serviceRevisionArn, r]));
  for (const candidate of unique) {
    const revision = byRevision.get(candidate.arn);
    if (revision?.taskDefinition && revision.taskDefinition !== runningTaskDefinition) {
      return { revision, because: `previous known-good revision: ${candidate.because}` };
    }
  }
  throw new DeployError(
    `No previous revision to roll back to on ${ids.stack}: ECS's deployment history (90 days) has no earlier successful revision than ${runningTaskDefinition ?? "the running one"}. ` +
      `Pass --to <task-definition-arn|${ids.taskDefinitionFamily}:revision|revision> to pick one; nothing was changed.`,
  );
}

export function formatPlan(plan: RollbackPlan, ids: StackIdentifiers): string {
  const lines = [`Rollback plan for ${plan.stack} (service ${ids.serviceName} in cluster ${ids.clusterName}):`];
  if (plan.action === "stop") {
    lines.push(
      `  in flight: ${plan.serviceDeploymentArn} (${plan.deploymentStatus ?? "?"}${plan.lifecycleStage ? ` at ${plan.lifecycleStage}` : ""})`,
      `  rolling out: ${plan.fromTaskDefinition ?? "?"}${plan.fromImage ? ` (${plan.fromImage})` : ""}`,
      `  → StopServiceDeployment with ROLLBACK: ECS returns production traffic to ${plan.toTaskDefinition ?? "the source revision"}${plan.toImage ? ` (${plan.toImage})` : ""} and ends the deployment ROLLBACK_SUCCESSFUL.`,
    );
  } else {
    lines.push(
      `  running: ${plan.fromTaskDefinition ?? "?"}${plan.fromImage ? ` (${plan.fromImage})` : ""}`,
      `  → redeploy ${plan.toTaskDefinition}${plan.toImage ? ` (${plan.toImage})` : ""} through blue/green (UpdateService): green starts, passes the smoke test and takes production traffic; ECS rolls this back too if it fails.`,
      `  chosen: ${plan.chosenBecause}`,
    );
  }
  return lines.join("\n");
}

/** Carries out a plan and follows it to the end. `ok` only when the service is back on the old revision. */
export async function executeRollback(
  deps: RollbackDeps,
  ids: StackIdentifiers,
  plan: RollbackPlan,
  options: { timeoutMinutes: number; pollSeconds: number },
): Promise<RollbackResult> {
  const { ecs, log } = deps;
  if (plan.action === "stop") {
    const arn = plan.serviceDeploymentArn as string;
    await awsCall("ecs:StopServiceDeployment", () => ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: "ROLLBACK" })));
    log(`Stop with ROLLBACK requested for ${arn}; following it (timeout ${options.timeoutMinutes} min)`);
    const followed = await followDeployment(ecs, deps.clock, log, { serviceDeploymentArn: arn, success: "ROLLBACK_SUCCESSFUL", ...options });
    return { ...followed, plan };
  }
  // Someone may have started a deployment while the plan waited for confirmation.
  await refuseWhileInFlight(ecs, ids);
  const arn = await startDeployment(deps, ids, plan.toTaskDefinition as string);
  log(`Redeploying ${plan.toTaskDefinition}: service deployment ${arn}; following it (timeout ${options.timeoutMinutes} min)`);
  const followed = await followDeployment(ecs, deps.clock, log, { serviceDeploymentArn: arn, success: "SUCCESSFUL", ...options });
  return {
    ...followed,
    plan,
    message: followed.ok
      ? `Rolled back in ${formatDuration(followed.durationSeconds)}: ${ids.stack} runs ${plan.toTaskDefinition} again.`
      : `Rollback redeploy of ${plan.toTaskDefinition} did not succeed. ${followed.message}`,
  };
}

/** Plan, confirm (`confirm` throws to refuse), execute. */
export async function rollback(
  deps: RollbackDeps & { confirm: (plan: RollbackPlan) => Promise<void> },
  raw: RollbackOptions,
): Promise<RollbackResult> {
  const options = validateRollbackOptions(raw);
  const { ids, plan } = await planRollback(deps, options);
  const text = formatPlan(plan, ids);
  deps.log(text);
  await deps.confirm(plan);
  return executeRollback(deps, ids, plan, options);
}

/** `friday rollback --stack <staging|prod> [--to <revision>] [--yes]` */
export function registerRollback(program: Command): void {
  addCommonFlags(
    program
      .command("rollback")
      .description("stop the deployment in flight with rollback, or redeploy the previous known-good revision through blue/green"),
  )
    .option("--to <revision>", "redeploy this task definition (ARN, family:revision or revision number) instead of the previous known-good one")
    .option("--yes", "do not ask for confirmation on prod")
    .addOption(timeoutOption(30))
    .addOption(pollOption())
    .action(async (flags: CommonFlags & { to?: string; yes?: boolean; timeoutMinutes: string; pollSeconds: string }) => {
      const ctx = cliContext();
      const options = validateRollbackOptions({
        stack: flags.stack,
        to: flags.to,
        timeoutMinutes: numberFlag("--timeout-minutes", flags.timeoutMinutes, 1, 1440),
        pollSeconds: numberFlag("--poll-seconds", flags.pollSeconds, 1, 300),
      });
      const { ecs, ssm } = ctx.clients(flags.region);
      const result = await rollback(
        {
          ecs,
          ssm,
          clock: ctx.clock,
          log: progressLog(ctx, flags.json),
          confirm: () => confirmProd(ctx, options.stack, flags.yes, "Roll back prod as planned above.", "refuse"),
        },
        options,
      );
      finish(ctx, flags.json, result, `${result.message}\n  service deployment: ${result.serviceDeploymentArn}\n  stages: ${result.stages.join(" → ") || "none seen"}`);
    });
}
