import type { PipelineStackRefs } from "../../components/pipeline";

/** Fake identifiers for tests of the delivery pipeline. */
export const ACCOUNT = "123456789012";
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
    ecrRepositoryUrl: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/friday-${stack}-app`,
    ecrRepositoryArn: a("ecr", `repository/friday-${stack}-app`),
  };
}

