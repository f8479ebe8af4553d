import type { PipelineInfraArgs, PipelineStackRefs } from "../../components/pipeline";
import { FAKE_ACCOUNT } from "../../scripts/lib/pulumi-mocks";

/**
 * Fake identifiers for tests of the delivery pipeline. The account is the one the mock harness's
 * getCallerIdentity answers with, so ARNs the component builds and ARNs built here agree.
 */
export const ACCOUNT = FAKE_ACCOUNT;
export const REGION = "us-east-1";

/** Fake outputs of one stack: every identifier carries the stack's name. */
export function fakeStack(stack: "staging" | "prod"): PipelineStackRefs {
  const a = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;
  return {
    region: REGION,
    clusterArn: a("ecs", `cluster/friday-${stack}`),
    clusterName: `friday-${stack}`,
    serviceArn: a("ecs", `service/friday-${stack}/friday-${stack}-app`),
    serviceName: `friday-${stack}-app`,
    taskDefinitionFamily: `friday-${stack}-app`,
    rollbackAlarmNames: `friday-${stack}-alb-5xx-rate,friday-${stack}-alb-p99-latency,friday-${stack}-unhealthy-targets`,
    privateSubnetIds: `subnet-${stack}a,subnet-${stack}b`,
    serviceSecurityGroupId: `sg-${stack}service`,
    vpcId: `vpc-${stack}`,
    dbSecretArn: a("secretsmanager", `secret:rds!db-${stack}-AbCdEf`),
    dbInstanceIdentifier: `friday-${stack}-db`,
    taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/friday-${stack}-task`,
    taskExecutionRoleArn: `arn:aws:iam::${ACCOUNT}:role/friday-${stack}-execution`,
    notificationsTopicArn: a("sns", `friday-${stack}-notifications`),
    notificationsTopicKeyArn: a("kms", `key/friday-${stack}-notifications`),
    ecrRepositoryUrl: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/friday-${stack}-app`,
    ecrRepositoryArn: a("ecr", `repository/friday-${stack}-app`),
  };
}


/** The pipeline's Pulumi settings as a stack file would give them (an S3 backend with a KMS secrets provider). */
export function fakeInfra(overrides: Partial<PipelineInfraArgs> = {}): PipelineInfraArgs {
  return {
    backendUrl: "s3://acme-friday-state",
    secretsProvider: `awskms://alias/friday-pulumi?region=${REGION}`,
    project: "friday",
    stackNames: { staging: "organization/friday/staging", prod: "organization/friday/prod" },
    paths: ["infra/**", "components/**", "Pulumi.*.yaml"],
    pulumiVersion: "3.248.0",
    ...overrides,
  };
}
