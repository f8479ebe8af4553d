import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient, Service, ServiceRevision, Tag, TaskDefinition } from "@aws-sdk/client-ecs";
import { awsCall, DeployError, explainAwsError } from "./aws";
import { describeRevisions } from "./follow";
import { StackIdentifiers } from "./stack";
import { APPLY_STACK_HINT } from "../lib/apply-stack";

/** The ECS service behind a stack; fails with the fix when the stack's service is gone. */
export async function describeService(ecs: ECSClient, ids: StackIdentifiers): Promise<Service> {
  const response = await awsCall("ecs:DescribeServices", () =>
    ecs.send(new DescribeServicesCommand({ cluster: ids.clusterName, services: [ids.serviceName] })),
  );
  const service = response.services?.find((s) => s.serviceName === ids.serviceName || s.serviceArn === ids.serviceArn);
  if (!service || service.status === "INACTIVE") {
    throw new DeployError(
      `Service ${ids.serviceName} is not in cluster ${ids.clusterName} (stack "${ids.stack}"): ` +
        `to recreate it, ${APPLY_STACK_HINT}.`,
    );
  }
  return service;
}

/** What the service runs now: its current service revision, task definition and app image. */
export interface RunningRevision {
  serviceRevisionArn?: string;
  taskDefinitionArn?: string;
  /** The app container's image as written in the task definition. */
  image?: string;
  /** The digest ECS resolved the app image to (sha256:...). */
  imageDigest?: string;
  /** Image pinned by digest: repository@sha256:... */
  imageByDigest?: string;
  runningTaskCount?: number;
  requestedTaskCount?: number;
}

/** The image reference without its tag or digest: repo/name:tag@sha256:x → repo/name. */
export function imageRepository(image: string): string {
  const withoutDigest = image.split("@")[0];
  const lastSlash = withoutDigest.lastIndexOf("/");
  const lastColon = withoutDigest.lastIndexOf(":");
  return lastColon > lastSlash ? withoutDigest.slice(0, lastColon) : withoutDigest;
}

/** The app container's image in a service revision: as written, the digest ECS resolved, and pinned by that digest. */
export function appImageOf(
  revision: ServiceRevision | undefined,
  containerName: string,
): { image?: string; imageDigest?: string; imageByDigest?: string } {
  const container = revision?.containerImages?.find((c) => c.containerName === containerName);
  const image = container?.image;
  const imageDigest = container?.imageDigest;
  return { image, imageDigest, imageByDigest: image && imageDigest ? `${imageRepository(image)}@${imageDigest}` : image };
}

/**
 * The revision serving now. While a deployment is in flight the service has two current revisions;
 * the one with the most running tasks is reported (the caller decides whether that matters).
 */
export async function runningRevision(ecs: ECSClient, ids: StackIdentifiers, service?: Service): Promise<RunningRevision> {
  const svc = service ?? (await describeService(ecs, ids));
  const current = [...(svc.currentServiceRevisions ?? [])].sort((a, b) => (b.runningTaskCount ?? 0) - (a.runningTaskCount ?? 0))[0];
  if (!current?.arn) return { taskDefinitionArn: svc.taskDefinition };
  const [revision] = await describeRevisions(ecs, [current.arn]);
  return {
    serviceRevisionArn: current.arn,
    taskDefinitionArn: revision?.taskDefinition ?? svc.taskDefinition,
    ...appImageOf(revision, ids.containerName),
    runningTaskCount: current.runningTaskCount,
    requestedTaskCount: current.requestedTaskCount,
  };
}

/** DescribeTaskDefinition with its tags; a missing one fails with what to do. */
export async function describeTaskDefinition(
  ecs: ECSClient,
  taskDefinition: string,
  fix: string,
): Promise<{ taskDefinition: TaskDefinition; tags: Tag[] }> {
  let response;
  try {
    response = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition, include: ["TAGS"] }));
  } catch (error) {
    const e = error as { name?: string; message?: string };
    if (e.name === "ClientException" && /unable to describe task definition|does not exist/i.test(e.message ?? "")) {
      throw new DeployError(`Task definition ${taskDefinition} does not exist: ${fix}`, error);
    }
    throw explainAwsError(error, "ecs:DescribeTaskDefinition");
  }
  if (!response.taskDefinition) throw new DeployError(`Task definition ${taskDefinition} does not exist: ${fix}`);
  return { taskDefinition: response.taskDefinition, tags: response.tags ?? [] };
}
