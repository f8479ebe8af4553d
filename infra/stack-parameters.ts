import { parameterPrefix } from "./naming";

/**
 * The identifiers a stack publishes for scripts and the pipeline, as stack outputs and as SSM
 * parameters under /friday/<stack>/<name>, so operator commands need AWS credentials only (no
 * Pulumi CLI). One list, used by the program that writes them and the scripts that read them.
 */
export const STACK_PARAMETERS = {
  /** AWS region of the stack. */
  region: "region",
  clusterName: "cluster-name",
  clusterArn: "cluster-arn",
  serviceName: "service-name",
  serviceArn: "service-arn",
  /** Task-definition family the deploy step registers revisions in. */
  taskDefinitionFamily: "task-definition-family",
  /** The template revision the stack last published: the next deploy starts from it. */
  taskDefinitionTemplateArn: "task-definition-template-arn",
  containerName: "container-name",
  ecrRepositoryUrl: "ecr-repository-url",
  ecrRepositoryArn: "ecr-repository-arn",
  loadBalancerDnsName: "load-balancer-dns-name",
  /** Base URL of the service (https://domain or http://alb-dns). */
  serviceUrl: "service-url",
  productionListenerRuleArn: "production-listener-rule-arn",
  testListenerRuleArn: "test-listener-rule-arn",
  blueTargetGroupArn: "blue-target-group-arn",
  greenTargetGroupArn: "green-target-group-arn",
  /** Comma-separated names of the alarms blue/green deploys roll back on. */
  rollbackAlarmNames: "rollback-alarm-names",
  notificationsTopicArn: "notifications-topic-arn",
  /** The topic's customer-managed KMS key: whoever publishes to the topic needs it. */
  notificationsTopicKeyArn: "notifications-topic-key-arn",
  dbInstanceIdentifier: "db-instance-identifier",
  dbInstanceArn: "db-instance-arn",
  dbParameterGroupName: "db-parameter-group-name",
  dbSubnetGroupName: "db-subnet-group-name",
  dbSecurityGroupId: "db-security-group-id",
  /** ARN of the RDS-managed master secret in Secrets Manager. */
  dbSecretArn: "db-secret-arn",
  dbEngineVersion: "db-engine-version",
  vpcId: "vpc-id",
  /** Comma-separated private subnet ids. */
  privateSubnetIds: "private-subnet-ids",
  serviceSecurityGroupId: "service-security-group-id",
  /** Role the app's tasks run as. */
  taskRoleArn: "task-role-arn",
  /** Role ECS uses to pull the image and read the task's secrets. */
  taskExecutionRoleArn: "task-execution-role-arn",
  ecsInfrastructureRoleArn: "ecs-infrastructure-role-arn",
  logGroupName: "log-group-name",
  /** AppConfig application, environment and feature-flag profile `friday flags` deploys to. */
  appConfigApplicationId: "appconfig-application-id",
  appConfigEnvironmentId: "appconfig-environment-id",
  appConfigProfileId: "appconfig-profile-id",
  /** Deployment strategy for normal flag changes (gradual, alarm-monitored bake). */
  appConfigGradualStrategyId: "appconfig-gradual-strategy-id",
  /** Deployment strategy for kill switches (all at once, no bake). */
  appConfigImmediateStrategyId: "appconfig-immediate-strategy-id",
} as const;

export type StackParameterKey = keyof typeof STACK_PARAMETERS;

/** The SSM parameter name of one identifier, e.g. `/friday/prod/cluster-name`. */
export function parameterName(stack: string, key: StackParameterKey): string {
  return `${parameterPrefix(stack)}/${STACK_PARAMETERS[key]}`;
}
