import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { ECSClient, ServiceDeployment, ServiceRevision, TaskDefinition } from "@aws-sdk/client-ecs";
import { GetParametersCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { parameterName } from "../../infra/stack-parameters";
import { DeployClients } from "./aws";
import { Clock } from "./follow";

/** Shared fixtures for the deploy command tests (aws-sdk-client-mock clients, a fake clock). */

/**
 * Mocks every ECS, SSM and CloudWatch client (aws-sdk-client-mock replaces send() for all instances,
 * including those the CLI constructs itself) and resets them before each test of the calling file.
 * Call it at the top of a test file, before the file's own beforeEach that arranges answers.
 */
export function mockDeployClients() {
  const mocks = { ecs: mockClient(ECSClient), ssm: mockClient(SSMClient), cloudwatch: mockClient(CloudWatchClient) };
  beforeEach(() => {
    mocks.ecs.reset();
    mocks.ssm.reset();
    mocks.cloudwatch.reset();
  });
  return mocks;
}

/** Clients to hand the functions under test (their send() is what mockDeployClients() replaces). */
export function deployClients(): DeployClients {
  return { ecs: new ECSClient({ region: REGION }), ssm: new SSMClient({ region: REGION }), cloudwatch: new CloudWatchClient({ region: REGION }) };
}

export const ACCOUNT = "123456789012";
export const REGION = "us-east-1";
export const REPO = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/friday-app`;
export const DIGEST_A = `sha256:${"a".repeat(64)}`;
export const DIGEST_B = `sha256:${"b".repeat(64)}`;
export const IMAGE_A = `${REPO}@${DIGEST_A}`;
export const IMAGE_B = `${REPO}@${DIGEST_B}`;

export function ids(stack = "staging") {
  return {
    stack,
    clusterName: `friday-${stack}`,
    serviceName: `friday-${stack}-app`,
    serviceArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/friday-${stack}/friday-${stack}-app`,
    taskDefinitionFamily: `friday-${stack}-app`,
    taskDefinitionTemplateArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/friday-${stack}-app:7`,
    containerName: "app",
    rollbackAlarmNames: [`friday-${stack}-5xx`, `friday-${stack}-latency`],
  };
}

export function taskDefinitionArn(stack: string, revision: number): string {
  return `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/friday-${stack}-app:${revision}`;
}

export function serviceDeploymentArn(stack: string, id: string): string {
  return `arn:aws:ecs:${REGION}:${ACCOUNT}:service-deployment/friday-${stack}/friday-${stack}-app/${id}`;
}

export function serviceRevisionArn(stack: string, id: string): string {
  return `arn:aws:ecs:${REGION}:${ACCOUNT}:service-revision/friday-${stack}/friday-${stack}-app/${id}`;
}

/** A service revision of `stack` whose app container (task definition revision `td`) ECS resolved to `digest`. */
export function serviceRevision(stack: string, id: string, td: number, digest: string): ServiceRevision {
  return {
    serviceRevisionArn: serviceRevisionArn(stack, id),
    taskDefinition: taskDefinitionArn(stack, td),
    containerImages: [{ containerName: "app", image: `${REPO}:build-${td}`, imageDigest: digest }],
  };
}

/** The GetParameters answer a stack that was brought up gives. */
export function stackParametersResponse(stack = "staging") {
  const i = ids(stack);
  const values: Record<string, string> = {
    clusterName: i.clusterName,
    serviceName: i.serviceName,
    serviceArn: i.serviceArn,
    taskDefinitionFamily: i.taskDefinitionFamily,
    taskDefinitionTemplateArn: i.taskDefinitionTemplateArn,
    containerName: i.containerName,
    rollbackAlarmNames: i.rollbackAlarmNames.join(","),
  };
  return {
    Parameters: Object.entries(values).map(([key, Value]) => ({ Name: parameterName(stack, key as never), Value, Type: "String" as const })),
    InvalidParameters: [],
  };
}

export { GetParametersCommand };

/** A template the stack published: app + a sidecar, secrets, roles, volumes. */
export function templateTaskDefinition(stack = "staging"): TaskDefinition {
  return {
    taskDefinitionArn: ids(stack).taskDefinitionTemplateArn,
    family: `friday-${stack}-app`,
    revision: 7,
    status: "ACTIVE",
    taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/friday-${stack}-task`,
    executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/friday-${stack}-exec`,
    networkMode: "awsvpc",
    cpu: "512",
    memory: "1024",
    requiresCompatibilities: ["FARGATE"],
    compatibilities: ["EC2", "FARGATE"],
    runtimePlatform: { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" },
    volumes: [{ name: "tmp" }],
    ephemeralStorage: { sizeInGiB: 30 },
    requiresAttributes: [{ name: "com.amazonaws.ecs.capability.logging-driver.awslogs" }],
    registeredAt: new Date("2026-11-20T10:00:00Z"),
    registeredBy: `arn:aws:sts::${ACCOUNT}:assumed-role/pulumi/x`,
    containerDefinitions: [
      {
        name: "app",
        image: `${REPO}:bootstrap`,
        essential: true,
        portMappings: [{ containerPort: 8080, protocol: "tcp" }],
        environment: [{ name: "NODE_ENV", value: "production" }],
        secrets: [{ name: "DATABASE_URL", valueFrom: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:db-AbCdEf` }],
        mountPoints: [{ sourceVolume: "tmp", containerPath: "/tmp" }],
      },
      { name: "otel", image: "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0", essential: false },
    ],
  };
}

/** A fake clock: sleep() advances time instantly and records how long was asked for. */
export function fakeClock(start = Date.parse("2026-11-26T08:00:00Z")): Clock & { sleeps: number[]; time: number } {
  const clock = {
    time: start,
    sleeps: [] as number[],
    now: () => clock.time,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.time += ms;
    },
  };
  return clock;
}

/** A service deployment as DescribeServiceDeployments returns it. */
export function deployment(stack: string, id: string, overrides: Partial<ServiceDeployment> = {}): ServiceDeployment {
  return {
    serviceDeploymentArn: serviceDeploymentArn(stack, id),
    serviceArn: ids(stack).serviceArn,
    createdAt: new Date("2026-11-26T08:00:00Z"),
    startedAt: new Date("2026-11-26T08:00:00Z"),
    status: "IN_PROGRESS",
    targetServiceRevision: { arn: serviceRevisionArn(stack, `${id}-target`), requestedTaskCount: 2, runningTaskCount: 0 },
    sourceServiceRevisions: [{ arn: serviceRevisionArn(stack, `${id}-source`), requestedTaskCount: 2, runningTaskCount: 2 }],
    ...overrides,
  };
}

/** A logger that keeps its lines. */
export function lines(): ((line: string) => void) & { all: string[] } {
  const all: string[] = [];
  const log = (line: string) => {
    all.push(line);
  };
  return Object.assign(log, { all });
}

/** An AWS SDK-shaped error. */
export function awsError(name: string, message: string, httpStatusCode = 400): Error {
  return Object.assign(new Error(message), { name, $fault: "client", $metadata: { httpStatusCode } });
}
