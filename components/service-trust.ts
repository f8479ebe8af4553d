import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { permissionsBoundaryArn } from "../infra/naming";

/** Where a trust policy is: the account, region and partition the role lives in. */
export interface TrustScope {
  readonly account: string;
  readonly region: string;
  readonly partition: string;
}

/**
 * A trust policy letting one AWS service assume a role, with the confused-deputy conditions AWS
 * recommends ("The confused deputy problem", IAM user guide): aws:SourceAccount always, and
 * aws:SourceArn where the service's guide documents the ARN it sets (ECS tasks, CodeBuild,
 * CodePipeline, EventBridge Scheduler). A pure function, so tests read it without Pulumi.
 */
export function serviceTrustPolicy(service: string, scope: TrustScope, sourceArn?: string): Record<string, unknown> {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: service },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: { "aws:SourceAccount": scope.account },
          ...(sourceArn ? { ArnLike: { "aws:SourceArn": sourceArn } } : {}),
        },
      },
    ],
  };
}

/**
 * `serviceTrustPolicy` as a role's assumeRolePolicy input; `sourceArn` builds the ARN (pattern) of
 * what may pass the role, from the role's account, region and partition.
 */
export function serviceTrust(parent: pulumi.Resource, service: string, sourceArn?: (scope: TrustScope) => string): pulumi.Output<string> {
  return pulumi
    .all([aws.getCallerIdentityOutput({}, { parent }).accountId, aws.getRegionOutput({}, { parent }).region, aws.getPartitionOutput({}, { parent }).partition])
    .apply(([account, region, partition]) => {
      const scope = { account, region, partition };
      return JSON.stringify(serviceTrustPolicy(service, scope, sourceArn?.(scope)));
    });
}

/** ECS tasks: the ECS developer guide's task-role trust policy (any ECS resource of the account and region). */
export const ecsTasksSourceArn = (s: TrustScope) => `arn:${s.partition}:ecs:${s.region}:${s.account}:*`;

/**
 * The permissions boundary of the stack that makes the role (`friday-<stack>-boundary`, created by
 * `friday bootstrap`): every role friday creates carries it (components/permissions-boundary.ts).
 */
export function permissionsBoundary(parent: pulumi.Resource): pulumi.Output<string> {
  return pulumi
    .all([aws.getCallerIdentityOutput({}, { parent }).accountId, aws.getPartitionOutput({}, { parent }).partition])
    .apply(([account, partition]) => permissionsBoundaryArn(partition, account, pulumi.getStack()));
}
