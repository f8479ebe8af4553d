import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { ECSClient, ServiceRevision } from "@aws-sdk/client-ecs";
import { SSMClient } from "@aws-sdk/client-ssm";
import { Command } from "commander";
import { awsCall, DeployError } from "./aws";
import { addCommonFlags, cliContext, CommonFlags, numberFlag } from "./cli-support";
import {
  Clock,
  COMPLETED_STATUSES,
  deploymentDurationSeconds,
  describeDeployments,
  describeRevisions,
  failureReason,
  formatDuration,
  IN_FLIGHT_STATUSES,
  listDeployments,
} from "./follow";
import { appImageOf, describeService } from "./service";
import { loadStackIdentifiers, validateStackName } from "./stack";

/**
 * `friday status`: what runs (revision and image digest), what is in flight (with its lifecycle
 * stage), how the last deployments ended and how long they took, and the rollback alarms.
 */

export interface StatusDeps {
  ecs: ECSClient;
  ssm: SSMClient;
  cloudwatch: CloudWatchClient;
  clock: Clock;
}

export interface RevisionInfo {
  serviceRevisionArn?: string;
  taskDefinitionArn?: string;
  /** The app image pinned by digest (repository@sha256:...), as ECS resolved it. */
  image?: string;
  imageDigest?: string;
  runningTaskCount?: number;
  requestedTaskCount?: number;
}

export interface DeploymentInfo {
  serviceDeploymentArn?: string;
  status?: string;
  lifecycleStage?: string;
  startedAt?: string;
  finishedAt?: string;
  durationSeconds?: number;
  targetTaskDefinition?: string;
  targetImage?: string;
  /** Why it rolled back or stopped. */
  reason?: string;
}

export interface AlarmInfo {
  name: string;
  /** OK, ALARM, INSUFFICIENT_DATA, or MISSING when CloudWatch has no alarm by that name. */
  state: string;
  reason?: string;
  updatedAt?: string;
}

export interface StatusReport {
  stack: string;
  cluster: string;
  service: string;
  desiredCount?: number;
  runningCount?: number;
  /** The current service revisions (two while a deployment is in flight). */
  running: RevisionInfo[];
  inFlight?: DeploymentInfo;
  /** The last N deployments, newest first (in flight included). */
  deployments: DeploymentInfo[];
  alarms: AlarmInfo[];
}

function revisionInfo(revision: ServiceRevision | undefined, containerName: string): Pick<RevisionInfo, "taskDefinitionArn" | "image" | "imageDigest"> {
  const { imageByDigest, imageDigest } = appImageOf(revision, containerName);
  return { taskDefinitionArn: revision?.taskDefinition, image: imageByDigest, imageDigest };
}

export async function readAlarms(cloudwatch: CloudWatchClient, names: string[]): Promise<AlarmInfo[]> {
  if (names.length === 0) return [];
  const response = await awsCall("cloudwatch:DescribeAlarms", () =>
    cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: names, AlarmTypes: ["MetricAlarm", "CompositeAlarm"] })),
  );
  const found = [...(response.MetricAlarms ?? []), ...(response.CompositeAlarms ?? [])];
  return names.map((name) => {
    const alarm = found.find((a) => a.AlarmName === name);
    if (!alarm) return { name, state: "MISSING" };
    return {
      name,
      state: alarm.StateValue ?? "UNKNOWN",
      reason: alarm.StateReason,
      updatedAt: alarm.StateUpdatedTimestamp?.toISOString(),
    };
  });
}

export async function getStatus(deps: StatusDeps, options: { stack: string; last?: number }): Promise<StatusReport> {
  validateStackName(options.stack);
  const last = options.last ?? 5;
  if (!(Number.isInteger(last) && last >= 1 && last <= 50)) throw new DeployError(`--last must be a whole number from 1 to 50 (got ${last}).`);
  const { ecs } = deps;
  const ids = await loadStackIdentifiers(deps.ssm, options.stack);
  const service = await describeService(ecs, ids);

  const briefs = await listDeployments(ecs, ids, { limit: last });
  const described = await describeDeployments(
    ecs,
    briefs.map((b) => b.serviceDeploymentArn).filter((a): a is string => !!a),
  );
  const byArn = new Map(described.map((d) => [d.serviceDeploymentArn, d]));

  const currentArns = (service.currentServiceRevisions ?? []).map((r) => r.arn).filter((a): a is string => !!a);
  const targetArns = described.map((d) => d.targetServiceRevision?.arn).filter((a): a is string => !!a);
  const revisionArns = [...new Set([...currentArns, ...targetArns])];
  const revisions = revisionArns.length > 0 ? await describeRevisions(ecs, revisionArns) : [];
  const revisionByArn = new Map(revisions.map((r) => [r.serviceRevisionArn, r]));

  const running: RevisionInfo[] = (service.currentServiceRevisions ?? []).map((r) => ({
    serviceRevisionArn: r.arn,
    ...revisionInfo(revisionByArn.get(r.arn), ids.containerName),
    runningTaskCount: r.runningTaskCount,
    requestedTaskCount: r.requestedTaskCount,
  }));
  if (running.length === 0 && service.taskDefinition) running.push({ taskDefinitionArn: service.taskDefinition });

  const now = deps.clock.now();
  const deployments: DeploymentInfo[] = briefs.map((brief) => {
    const d = byArn.get(brief.serviceDeploymentArn) ?? brief;
    const full = byArn.get(brief.serviceDeploymentArn);
    const target = revisionInfo(revisionByArn.get(full?.targetServiceRevision?.arn), ids.containerName);
    const status = d.status;
    const failed = status && status !== "SUCCESSFUL" && (COMPLETED_STATUSES as string[]).includes(status);
    return {
      serviceDeploymentArn: brief.serviceDeploymentArn,
      status,
      lifecycleStage: full?.lifecycleStage,
      startedAt: (d.startedAt ?? d.createdAt)?.toISOString(),
      finishedAt: (d.finishedAt ?? full?.stoppedAt)?.toISOString(),
      durationSeconds: deploymentDurationSeconds({ ...d, stoppedAt: full?.stoppedAt }, now),
      targetTaskDefinition: target.taskDefinitionArn,
      targetImage: target.image,
      ...(failed && full ? { reason: failureReason(full) } : {}),
    };
  });
  const inFlight = deployments.find((d) => (IN_FLIGHT_STATUSES as string[]).includes(d.status ?? ""));

  return {
    stack: ids.stack,
    cluster: ids.clusterName,
    service: ids.serviceName,
    desiredCount: service.desiredCount,
    runningCount: service.runningCount,
    running,
    inFlight,
    deployments,
    alarms: await readAlarms(deps.cloudwatch, ids.rollbackAlarmNames),
  };
}

function shortTd(arn: string | undefined): string {
  return arn ? arn.replace(/^.*:task-definition\//, "") : "?";
}

function shortDigest(digest: string | undefined): string {
  return digest ? digest.slice(0, 19) : "?";
}

export function formatStatus(r: StatusReport): string {
  const out: string[] = [];
  out.push(`${r.stack}: service ${r.service} in cluster ${r.cluster} (${r.runningCount ?? "?"} running, desired ${r.desiredCount ?? "?"})`);
  for (const rev of r.running) {
    out.push(`Running: ${shortTd(rev.taskDefinitionArn)}  ${rev.image ?? "image ?"}  (${rev.runningTaskCount ?? "?"}/${rev.requestedTaskCount ?? "?"} tasks)`);
  }
  if (r.inFlight) {
    out.push(
      `In flight: ${r.inFlight.status}${r.inFlight.lifecycleStage ? ` at ${r.inFlight.lifecycleStage}` : ""} for ${formatDuration(r.inFlight.durationSeconds)}` +
        ` → ${shortTd(r.inFlight.targetTaskDefinition)} (${r.inFlight.targetImage ?? "image ?"})  ${r.inFlight.serviceDeploymentArn}`,
    );
  } else {
    out.push("In flight: none");
  }
  out.push(`Last ${r.deployments.length} deployment(s):`);
  for (const d of r.deployments) {
    out.push(
      `  ${(d.startedAt ?? "?").slice(0, 16).replace("T", " ")}Z  ${(d.status ?? "?").padEnd(20)} ${formatDuration(d.durationSeconds).padStart(7)}  ` +
        `${shortTd(d.targetTaskDefinition)}  ${shortDigest(d.targetImage?.split("@")[1])}${d.reason ? `  (${d.reason})` : ""}`,
    );
  }
  out.push("Rollback alarms:");
  if (r.alarms.length === 0) out.push("  none published");
  const width = Math.max(0, ...r.alarms.map((a) => a.name.length));
  for (const a of r.alarms) out.push(`  ${a.name.padEnd(width)}  ${a.state}${a.state !== "OK" && a.reason ? `  (${a.reason})` : ""}`);
  return out.join("\n");
}

/** `friday status --stack <staging|prod> [--last N] [--json]` */
export function registerStatus(program: Command): void {
  addCommonFlags(program.command("status").description("running revision and image, deployment in flight, last deployments, rollback alarms"))
    .option("--last <n>", "how many recent deployments to show", "5")
    .action(async (flags: CommonFlags & { last: string }) => {
      const ctx = cliContext();
      const last = numberFlag("--last", flags.last, 1, 50);
      const { ecs, ssm, cloudwatch } = ctx.clients(flags.region);
      const report = await getStatus({ ecs, ssm, cloudwatch, clock: ctx.clock }, { stack: flags.stack, last: Math.floor(last) });
      ctx.stdout(flags.json ? JSON.stringify(report, null, 2) : formatStatus(report));
    });
}
