import {
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  ServiceDeployment,
  ServiceDeploymentBrief,
  ServiceDeploymentStatus,
  ServiceRevision,
} from "@aws-sdk/client-ecs";
import { awsCall, DeployError, isThrottling } from "./aws";
import { StackIdentifiers } from "./stack";

/**
 * Following an ECS service deployment (ECS native blue/green) to its end. The states come from
 * "View service history using Amazon ECS service deployments" (AWS ECS developer guide): a deployment
 * starts PENDING, is ongoing while IN_PROGRESS, STOP_REQUESTED, ROLLBACK_REQUESTED or
 * ROLLBACK_IN_PROGRESS, and ends SUCCESSFUL, STOPPED, ROLLBACK_SUCCESSFUL or ROLLBACK_FAILED.
 */

export const IN_FLIGHT_STATUSES: ServiceDeploymentStatus[] = [
  "PENDING",
  "IN_PROGRESS",
  "STOP_REQUESTED",
  "ROLLBACK_REQUESTED",
  "ROLLBACK_IN_PROGRESS",
];
export const COMPLETED_STATUSES: ServiceDeploymentStatus[] = ["SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"];
export const ROLLING_BACK_STATUSES: ServiceDeploymentStatus[] = ["ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"];

/** Clock and sleep, injected so tests run instantly and deterministically. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Where progress lines go. */
export type Log = (line: string) => void;

export interface FollowOptions {
  serviceDeploymentArn: string;
  /** The end state that counts as success: SUCCESSFUL for a deploy, ROLLBACK_SUCCESSFUL for a stop-with-rollback. */
  success: "SUCCESSFUL" | "ROLLBACK_SUCCESSFUL";
  /** Give up (and fail) after this many minutes; the deployment itself carries on in ECS. */
  timeoutMinutes: number;
  /** Seconds between DescribeServiceDeployments polls. */
  pollSeconds: number;
}

/** Checks the --timeout-minutes and --poll-seconds a following command was given. */
export function validateFollowLimits(timeoutMinutes: number, pollSeconds: number): void {
  if (!(timeoutMinutes >= 1 && timeoutMinutes <= 1440)) throw new DeployError(`--timeout-minutes must be from 1 to 1440 (got ${timeoutMinutes}).`);
  if (!(pollSeconds >= 1 && pollSeconds <= 300)) throw new DeployError(`--poll-seconds must be from 1 to 300 (got ${pollSeconds}).`);
}

export type FollowOutcome = "SUCCEEDED" | "ROLLED_BACK" | "ROLLBACK_FAILED" | "STOPPED" | "UNEXPECTED_SUCCESS" | "TIMED_OUT";

export interface FollowResult {
  outcome: FollowOutcome;
  ok: boolean;
  serviceDeploymentArn: string;
  /** The deployment's status when following ended. */
  status?: string;
  /** The lifecycle stage when following ended. */
  lifecycleStage?: string;
  /** Lifecycle stages in the order they were seen. */
  stages: string[];
  /** Seconds from the deployment's start to its end (or to now, if still running). */
  durationSeconds?: number;
  /** Why ECS rolled back or stopped, with what triggered it. */
  reason?: string;
  message: string;
}

/** One line per change: status, lifecycle stage, traffic and task counts, hooks. */
export function describeProgress(d: ServiceDeployment): string {
  const parts = [`${d.status ?? "?"}${d.lifecycleStage ? ` · ${d.lifecycleStage}` : ""}`];
  const target = d.targetServiceRevision;
  if (target) {
    const tasks = `${target.runningTaskCount ?? 0}/${target.requestedTaskCount ?? 0} tasks running`;
    const traffic =
      target.requestedProductionTrafficWeight !== undefined ? `, ${target.requestedProductionTrafficWeight}% production traffic` : "";
    parts.push(`green: ${tasks}${traffic}`);
  }
  const hooks = (d.lifecycleHookDetails ?? []).filter((h) => h.status).map((h) => `${h.hookId ?? h.targetArn ?? "hook"} ${h.status}`);
  if (hooks.length > 0) parts.push(`hooks: ${hooks.join(", ")}`);
  return parts.join(" — ");
}

/** Why a deployment failed, from what ECS recorded: rollback reason, circuit breaker, alarms. */
export function failureReason(d: ServiceDeployment): string {
  const reasons: string[] = [];
  if (d.rollback?.reason) reasons.push(d.rollback.reason);
  if (d.statusReason && !reasons.includes(d.statusReason)) reasons.push(d.statusReason);
  if (d.deploymentCircuitBreaker?.status === "TRIGGERED") {
    reasons.push(
      `deployment circuit breaker triggered (${d.deploymentCircuitBreaker.failureCount ?? "?"} failed tasks, threshold ${d.deploymentCircuitBreaker.threshold ?? "?"})`,
    );
  }
  if (d.alarms?.status === "TRIGGERED" || (d.alarms?.triggeredAlarmNames ?? []).length > 0) {
    reasons.push(`alarm(s) in ALARM: ${(d.alarms?.triggeredAlarmNames ?? []).join(", ") || "unnamed"}`);
  }
  return reasons.length > 0 ? reasons.join("; ") : "ECS gave no reason";
}

export function deploymentDurationSeconds(d: { startedAt?: Date; createdAt?: Date; finishedAt?: Date; stoppedAt?: Date }, now: number): number | undefined {
  const start = d.startedAt ?? d.createdAt;
  if (!start) return undefined;
  const end = d.finishedAt ?? d.stoppedAt;
  return Math.max(0, Math.round(((end ? end.getTime() : now) - start.getTime()) / 1000));
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined) return "?";
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m > 0 ? `${m}m${String(s).padStart(2, "0")}s` : `${s}s`;
}

export async function describeDeployment(ecs: ECSClient, arn: string): Promise<ServiceDeployment> {
  const response = await awsCall("ecs:DescribeServiceDeployments", () =>
    ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] })),
  );
  const found = response.serviceDeployments?.find((d) => d.serviceDeploymentArn === arn) ?? response.serviceDeployments?.[0];
  if (!found) {
    const why = response.failures?.map((f) => `${f.reason ?? "?"}${f.detail ? ` (${f.detail})` : ""}`).join("; ");
    throw new DeployError(`ECS does not know service deployment ${arn}${why ? `: ${why}` : ""}.`, { notFound: true });
  }
  return found;
}

/** ECS's DescribeServiceDeployments and DescribeServiceRevisions take at most 20 ARNs per call. */
async function inBatchesOf20<T>(arns: string[], describe: (batch: string[]) => Promise<T[] | undefined>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < arns.length; i += 20) out.push(...((await describe(arns.slice(i, i + 20))) ?? []));
  return out;
}

export function describeDeployments(ecs: ECSClient, arns: string[]): Promise<ServiceDeployment[]> {
  return inBatchesOf20(arns, async (batch) =>
    (await awsCall("ecs:DescribeServiceDeployments", () => ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: batch })))).serviceDeployments,
  );
}

export function describeRevisions(ecs: ECSClient, arns: string[]): Promise<ServiceRevision[]> {
  return inBatchesOf20(arns, async (batch) =>
    (await awsCall("ecs:DescribeServiceRevisions", () => ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: batch })))).serviceRevisions,
  );
}

/** Service deployments newest first (ECS does not promise an order), at most `limit`; reads up to 1,000. */
export async function listDeployments(
  ecs: ECSClient,
  ids: Pick<StackIdentifiers, "clusterName" | "serviceName">,
  options: { status?: ServiceDeploymentStatus[]; limit: number },
): Promise<ServiceDeploymentBrief[]> {
  const all: ServiceDeploymentBrief[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < 10; page++) {
    const response = await awsCall("ecs:ListServiceDeployments", () =>
      ecs.send(
        new ListServiceDeploymentsCommand({
          cluster: ids.clusterName,
          service: ids.serviceName,
          ...(options.status ? { status: options.status } : {}),
          maxResults: 100,
          ...(nextToken ? { nextToken } : {}),
        }),
      ),
    );
    all.push(...(response.serviceDeployments ?? []));
    nextToken = response.nextToken;
    // ECS documents no order for this list, so read every page (bounded) before picking the newest.
    if (!nextToken) break;
  }
  const time = (d: ServiceDeploymentBrief) => (d.createdAt ?? d.startedAt)?.getTime() ?? 0;
  return all.sort((a, b) => time(b) - time(a)).slice(0, options.limit);
}

/** The deployment currently in flight on the service, if any. */
export async function findInFlight(ecs: ECSClient, ids: Pick<StackIdentifiers, "clusterName" | "serviceName">): Promise<ServiceDeploymentBrief | undefined> {
  const [newest] = await listDeployments(ecs, ids, { status: IN_FLIGHT_STATUSES, limit: 1 });
  return newest;
}

/** Polls tolerated while a just-created deployment is not yet describable. */
const NOT_FOUND_RETRIES = 4;

/**
 * Polls DescribeServiceDeployments until the deployment ends or the timeout expires, logging each
 * status / lifecycle-stage change. Never reports success for a deployment ECS rolled back or stopped.
 * A throttled poll (after the SDK's own retries) backs off and polls again within the timeout.
 */
export async function followDeployment(ecs: ECSClient, clock: Clock, log: Log, options: FollowOptions): Promise<FollowResult> {
  const started = clock.now();
  const deadline = started + options.timeoutMinutes * 60_000;
  const stages: string[] = [];
  let lastLine = "";
  let last: ServiceDeployment | undefined;
  let throttledInARow = 0;
  let notFoundInARow = 0;
  let announcedRollback = false;
  const elapsed = () => formatDuration(Math.round((clock.now() - started) / 1000));

  for (;;) {
    let deployment: ServiceDeployment | undefined;
    try {
      deployment = await describeDeployment(ecs, options.serviceDeploymentArn);
      throttledInARow = 0;
    } catch (error) {
      const cause = error instanceof DeployError ? error.details : error;
      // A deployment UpdateService just created can take a moment to become describable.
      if ((cause as { notFound?: boolean } | undefined)?.notFound && !last && notFoundInARow < NOT_FOUND_RETRIES) {
        notFoundInARow++;
        if (clock.now() >= deadline) return timedOut(options, last, stages, clock);
        await clock.sleep(options.pollSeconds * 1000);
        continue;
      }
      if (!isThrottling(cause)) throw error;
      throttledInARow++;
      const backoffMs = Math.min(120_000, options.pollSeconds * 1000 * 2 ** throttledInARow);
      log(`[${elapsed()}] AWS throttled DescribeServiceDeployments; polling again in ${Math.round(backoffMs / 1000)}s`);
      if (clock.now() + backoffMs >= deadline) return timedOut(options, last, stages, clock);
      await clock.sleep(backoffMs);
      continue;
    }
    last = deployment;
    if (deployment.lifecycleStage && stages[stages.length - 1] !== deployment.lifecycleStage) stages.push(deployment.lifecycleStage);
    const line = describeProgress(deployment);
    if (line !== lastLine) {
      log(`[${elapsed()}] ${line}`);
      lastLine = line;
    }
    const status = deployment.status ?? "";
    if ((COMPLETED_STATUSES as string[]).includes(status)) return finished(options, deployment, stages, clock);
    if ((ROLLING_BACK_STATUSES as string[]).includes(status) && options.success === "SUCCESSFUL" && !announcedRollback) {
      announcedRollback = true;
      log(`[${elapsed()}] ECS is rolling the deployment back: ${failureReason(deployment)}`);
    }
    const now = clock.now();
    if (now >= deadline) return timedOut(options, deployment, stages, clock);
    await clock.sleep(Math.min(options.pollSeconds * 1000, deadline - now));
  }
}

function finished(options: FollowOptions, d: ServiceDeployment, stages: string[], clock: Clock): FollowResult {
  const base = {
    serviceDeploymentArn: options.serviceDeploymentArn,
    status: d.status,
    lifecycleStage: d.lifecycleStage,
    stages,
    durationSeconds: deploymentDurationSeconds(d, clock.now()),
  };
  const took = formatDuration(base.durationSeconds);
  switch (d.status) {
    case options.success:
      return {
        ...base,
        outcome: "SUCCEEDED",
        ok: true,
        message:
          options.success === "SUCCESSFUL"
            ? `Deployment succeeded in ${took}.`
            : `Rollback succeeded in ${took}: the service is back on its previous revision (${failureReason(d)}).`,
      };
    case "SUCCESSFUL": {
      // A stop-with-rollback whose deployment finished before the stop took effect.
      return {
        ...base,
        outcome: "UNEXPECTED_SUCCESS",
        ok: false,
        message:
          "The deployment completed before the rollback took effect: the new revision is serving. " +
          "Run `friday rollback` again to redeploy the previous revision.",
      };
    }
    case "ROLLBACK_SUCCESSFUL": {
      const reason = failureReason(d);
      return {
        ...base,
        outcome: "ROLLED_BACK",
        ok: false,
        reason,
        message: `Deployment FAILED: ECS rolled it back after ${took} (${reason}). The previous revision is serving; see \`friday status\`.`,
      };
    }
    case "ROLLBACK_FAILED": {
      const reason = failureReason(d);
      return {
        ...base,
        outcome: "ROLLBACK_FAILED",
        ok: false,
        reason,
        message:
          `Deployment FAILED and ECS could not roll it back (${reason}). The service may be degraded: ` +
          "check `friday status` and the service events now, then redeploy a known-good revision with `friday rollback --to <revision>`.",
      };
    }
    default: {
      const reason = failureReason(d);
      return {
        ...base,
        outcome: "STOPPED",
        ok: false,
        reason,
        message: `Deployment FAILED: it was stopped after ${took} (${reason}). See \`friday status\` for what is serving.`,
      };
    }
  }
}

function timedOut(options: FollowOptions, d: ServiceDeployment | undefined, stages: string[], clock: Clock): FollowResult {
  const where = d ? `${d.status ?? "?"}${d.lifecycleStage ? ` at ${d.lifecycleStage}` : ""}` : "in an unknown state";
  const message =
    `Timed out after ${options.timeoutMinutes} minute(s): deployment ${options.serviceDeploymentArn} is still ${where} and carries on in ECS. ` +
    "Follow it with `friday status`, or stop it with `friday rollback`; raise --timeout-minutes if deployments routinely take longer.";
  return {
    outcome: "TIMED_OUT",
    ok: false,
    serviceDeploymentArn: options.serviceDeploymentArn,
    status: d?.status,
    lifecycleStage: d?.lifecycleStage,
    stages,
    durationSeconds: d ? deploymentDurationSeconds(d, clock.now()) : undefined,
    message,
  };
}
