import { ECSClient, ListServiceDeploymentsCommand, ServiceDeployment, ServiceDeploymentBrief, ServiceRevision } from "@aws-sdk/client-ecs";
import { awsCall } from "../deploy/aws";
import { describeDeployments, describeRevisions } from "../deploy/follow";
import { appImageOf } from "../deploy/service";
import { StackIdentifiers } from "../deploy/stack";
import { HistoryProgress } from "./progress";

/**
 * A stack's ECS service deployments in the window, with what each deployed (task definition and app
 * image digest of its target and source revisions) and, for a rollback, when ECS started it.
 */

/** One ECS service deployment, flattened to what the figures need. */
export interface ServiceDeploymentRecord {
  readonly arn: string;
  /** ECS status: SUCCESSFUL, ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED, STOPPED, or still in flight. */
  readonly status: string;
  readonly createdAt?: Date;
  readonly startedAt?: Date;
  /** When it ended: finishedAt, else stoppedAt (a stopped deployment has only the latter). */
  readonly endedAt?: Date;
  readonly targetTaskDefinition?: string;
  readonly sourceTaskDefinition?: string;
  /** sha256 digest of the app container's image in the target revision. */
  readonly targetImageDigest?: string;
  readonly sourceImageDigest?: string;
  /** When ECS started rolling it back (the deployment's `rollback.startedAt`). */
  readonly rollbackStartedAt?: Date;
  /** Why: rollback reason, status reason. */
  readonly reason?: string;
}

/** ECS keeps this many days of service deployment history. */
export const ECS_HISTORY_DAYS = 90;

const SOURCE_LIST = "ecs:ListServiceDeployments";
const SOURCE_DESCRIBE = "ecs:DescribeServiceDeployments";
const SOURCE_REVISIONS = "ecs:DescribeServiceRevisions";

/**
 * Lists the service's deployments created since `since` (every page: ECS documents no order),
 * describes them and their revisions in batches of 20, and returns them oldest first.
 */
export async function readServiceDeployments(
  ecs: ECSClient,
  ids: Pick<StackIdentifiers, "clusterName" | "serviceName" | "containerName">,
  since: Date,
  progress: HistoryProgress,
): Promise<ServiceDeploymentRecord[]> {
  const briefs: ServiceDeploymentBrief[] = [];
  let nextToken: string | undefined;
  do {
    const response = await awsCall(SOURCE_LIST, () =>
      ecs.send(
        new ListServiceDeploymentsCommand({
          cluster: ids.clusterName,
          service: ids.serviceName,
          createdAt: { after: since },
          maxResults: 100,
          ...(nextToken ? { nextToken } : {}),
        }),
      ),
    );
    const page = response.serviceDeployments ?? [];
    briefs.push(...page);
    progress.page(SOURCE_LIST, page.length);
    nextToken = response.nextToken;
  } while (nextToken);

  const arns = [...new Set(briefs.map((b) => b.serviceDeploymentArn).filter((a): a is string => !!a))];
  const described: ServiceDeployment[] = [];
  for (let i = 0; i < arns.length; i += 20) {
    const batch = await describeDeployments(ecs, arns.slice(i, i + 20));
    described.push(...batch);
    progress.page(SOURCE_DESCRIBE, batch.length);
  }

  const revisionArns = [
    ...new Set(described.flatMap((d) => [d.targetServiceRevision?.arn, ...(d.sourceServiceRevisions ?? []).map((s) => s.arn)]).filter((a): a is string => !!a)),
  ];
  const revisions = new Map<string, ServiceRevision>();
  for (let i = 0; i < revisionArns.length; i += 20) {
    const batch = await describeRevisions(ecs, revisionArns.slice(i, i + 20));
    for (const r of batch) if (r.serviceRevisionArn) revisions.set(r.serviceRevisionArn, r);
    progress.page(SOURCE_REVISIONS, batch.length);
  }

  const byArn = new Map(described.map((d) => [d.serviceDeploymentArn, d]));
  // A deployment listed on two pages (the list moved while it was read) counts once.
  const unique = new Map(briefs.map((b) => [b.serviceDeploymentArn, b]));
  const records = [...unique.values()].map((brief) => toRecord(brief, byArn.get(brief.serviceDeploymentArn), revisions, ids.containerName));
  return records.sort((a, b) => time(a) - time(b));
}

function time(r: ServiceDeploymentRecord): number {
  return (r.createdAt ?? r.startedAt)?.getTime() ?? 0;
}

function toRecord(brief: ServiceDeploymentBrief, d: ServiceDeployment | undefined, revisions: Map<string, ServiceRevision>, containerName: string): ServiceDeploymentRecord {
  const target = revisions.get(d?.targetServiceRevision?.arn ?? brief.targetServiceRevisionArn ?? "");
  // A deployment replacing two revisions (one left over from an earlier rollout) names both: the
  // one with the most running tasks is what served.
  const sourceSummary = [...(d?.sourceServiceRevisions ?? [])].sort((a, b) => (b.runningTaskCount ?? 0) - (a.runningTaskCount ?? 0))[0];
  const source = revisions.get(sourceSummary?.arn ?? "");
  const reasons = [d?.rollback?.reason, d?.statusReason ?? brief.statusReason].filter((r): r is string => !!r);
  return {
    arn: brief.serviceDeploymentArn ?? d?.serviceDeploymentArn ?? "?",
    status: d?.status ?? brief.status ?? "UNKNOWN",
    createdAt: d?.createdAt ?? brief.createdAt,
    startedAt: d?.startedAt ?? brief.startedAt,
    endedAt: d?.finishedAt ?? brief.finishedAt ?? d?.stoppedAt,
    targetTaskDefinition: target?.taskDefinition,
    sourceTaskDefinition: source?.taskDefinition,
    targetImageDigest: appImageOf(target, containerName).imageDigest,
    sourceImageDigest: appImageOf(source, containerName).imageDigest,
    rollbackStartedAt: d?.rollback?.startedAt,
    reason: reasons.length ? [...new Set(reasons)].join("; ") : undefined,
  };
}
