import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DEPLOY_HOOK_HANDLER, DEPLOY_HOOK_RUNTIME } from "../lambdas/deploy-hook/bundle";
import { deployHookEnvironment, deployHookTimeoutSeconds, HOOK_STAGES } from "../lambdas/deploy-hook/handler";
import { permissionsBoundary, serviceTrust } from "./service-trust";

export interface DeployHookArgs {
  /** The bundled handler (lambdas/deploy-hook), with `index.handler` as its entry. */
  readonly code: pulumi.Input<pulumi.asset.Archive>;
  readonly vpcId: pulumi.Input<string>;
  /** Private subnets: the hook reaches the ALB's test listener through the NAT. */
  readonly privateSubnetIds: pulumi.Input<string>[];
  /** Base URL of the ALB test listener, e.g. http://alb-dns:8443. */
  readonly testListenerUrl: pulumi.Input<string>;
  /** Port of the test listener (the hook's only egress besides HTTPS to AWS APIs). */
  readonly testListenerPort: number;
  /** Names of the rollback alarms the hook watches after production traffic shifts. */
  readonly rollbackAlarmNames: string[];
  /** Their ARNs (cloudwatch:DescribeAlarms is scoped to them). */
  readonly rollbackAlarmArns: pulumi.Input<string>[];
  /** Minutes to watch the alarms after production traffic shifts (answering IN_PROGRESS meanwhile). */
  readonly alarmWatchMinutes: number;
  /** Seconds the smoke test waits for green. */
  readonly smokeTestTimeoutSeconds: number;
  /** CloudWatch Logs retention (days). */
  readonly logRetentionDays: number;
  /** Tags for every resource. */
  readonly tags?: Record<string, string>;
}

export function validateDeployHookArgs(name: string, args: DeployHookArgs): void {
  if (args.rollbackAlarmNames.length === 0) {
    throw new Error(`DeployHook "${name}": rollbackAlarmNames is empty: the hook must watch the rollback alarms.`);
  }
  if (args.smokeTestTimeoutSeconds < 1 || args.smokeTestTimeoutSeconds > 60) {
    throw new Error(`DeployHook "${name}": smokeTestTimeoutSeconds must be 1..60 (got ${args.smokeTestTimeoutSeconds}).`);
  }
}

/**
 * The ECS blue/green lifecycle hook: a Lambda in the VPC that smoke-tests green through the test
 * listener (POST_TEST_TRAFFIC_SHIFT) and watches the rollback alarms after production traffic
 * shifts (POST_PRODUCTION_TRAFFIC_SHIFT). FAILED makes ECS roll back.
 */
export class DeployHook extends pulumi.ComponentResource {
  public readonly function: aws.lambda.Function;
  /** The role ECS assumes to invoke the hook. */
  public readonly invokeRole: aws.iam.Role;
  public readonly securityGroup: aws.ec2.SecurityGroup;
  /** Smoke test after test traffic reaches green; alarm watch after production traffic does. */
  public readonly lifecycleStages: string[] = [...HOOK_STAGES];

  constructor(name: string, args: DeployHookArgs, opts?: pulumi.ComponentResourceOptions) {
    super("friday:service:DeployHook", name, {}, opts);
    validateDeployHookArgs(name, args);
    const tags = args.tags ?? {};
    const settings = (testListenerUrl: string) => deployHookEnvironment({
      testListenerUrl,
      rollbackAlarmNames: args.rollbackAlarmNames,
      smokeTimeoutSeconds: args.smokeTestTimeoutSeconds,
      alarmWatchMinutes: args.alarmWatchMinutes,
    });
    // Validates the hook's settings now, before anything is created (the URL is only known later).
    const timeoutSeconds = deployHookTimeoutSeconds(settings("http://test-listener.invalid:8443"));
    const functionName = `${name}`;
    const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, {
      name: `/aws/lambda/${functionName}`,
      retentionInDays: args.logRetentionDays,
      tags,
    }, { parent: this });

    this.securityGroup = new aws.ec2.SecurityGroup(`${name}-sg`, {
      vpcId: args.vpcId,
      description: "Deploy hook: test listener and AWS APIs only",
      egress: [
        { protocol: "tcp", fromPort: args.testListenerPort, toPort: args.testListenerPort, cidrBlocks: ["0.0.0.0/0"], description: "ALB test listener (via NAT)" },
        { protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"], description: "CloudWatch API" },
      ],
      tags: { ...tags, Name: `${name}-hook` },
    }, { parent: this });

    const role = new aws.iam.Role(`${name}-role`, {
      assumeRolePolicy: serviceTrust(this, "lambda.amazonaws.com"),
      permissionsBoundary: permissionsBoundary(this),
      tags,
    }, { parent: this });
    const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
    const region = aws.getRegionOutput({}, { parent: this }).region;
    const partition = aws.getPartitionOutput({}, { parent: this }).partition;
    new aws.iam.RolePolicy(`${name}-policy`, {
      role: role.id,
      policy: pulumi
        .all([logGroup.arn, pulumi.output(args.rollbackAlarmArns), account, region, partition, args.vpcId, pulumi.output(args.privateSubnetIds), this.securityGroup.id])
        .apply(([logGroupArn, alarmArns, accountId, regionName, part, vpcId, subnetIds, securityGroupId]) =>
          JSON.stringify(deployHookPolicy({ logGroupArn, alarmArns, ec2Arn: (resource) => `arn:${part}:ec2:${regionName}:${accountId}:${resource}`, vpcId, subnetIds, securityGroupId })),
        ),
    }, { parent: this });

    this.function = new aws.lambda.Function(`${name}-fn`, {
      name: functionName,
      description: "ECS blue/green lifecycle hook: smoke-tests green, watches rollback alarms",
      runtime: DEPLOY_HOOK_RUNTIME,
      architectures: ["arm64"],
      handler: DEPLOY_HOOK_HANDLER,
      code: args.code,
      role: role.arn,
      timeout: timeoutSeconds,
      memorySize: 256,
      vpcConfig: { subnetIds: args.privateSubnetIds, securityGroupIds: [this.securityGroup.id] },
      loggingConfig: { logFormat: "JSON", logGroup: logGroup.name },
      environment: { variables: pulumi.output(args.testListenerUrl).apply(settings) },
      tags,
    }, { parent: this, dependsOn: [logGroup] });

    this.invokeRole = new aws.iam.Role(`${name}-invoke-role`, {
      description: "Lets ECS invoke the blue/green lifecycle hook",
      permissionsBoundary: permissionsBoundary(this),
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ecs.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
      tags,
    }, { parent: this });
    new aws.iam.RolePolicy(`${name}-invoke-policy`, {
      role: this.invokeRole.id,
      policy: this.function.arn.apply((arn) => JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "lambda:InvokeFunction", Resource: arn }],
      })),
    }, { parent: this });
    this.registerOutputs({ functionArn: this.function.arn, invokeRoleArn: this.invokeRole.arn });
  }
}

/** Inputs of the hook function's policy, resolved. */
export interface DeployHookPolicyInputs {
  readonly logGroupArn: string;
  readonly alarmArns: string[];
  /** `arn:<partition>:ec2:<region>:<account>:<resource>`. */
  readonly ec2Arn: (resource: string) => string;
  readonly vpcId: string;
  readonly subnetIds: string[];
  /** The hook's own security group: the only one its network interfaces are created in. */
  readonly securityGroupId: string;
}

/**
 * The hook function's policy. Lambda creates and manages the function's network interfaces with
 * these permissions (Lambda developer guide, "Giving Lambda functions access to resources in a VPC");
 * the EC2 authorization reference gives every one of them but DescribeNetworkInterfaces a resource
 * type: CreateNetworkInterface is scoped to the stack's private subnets and the hook's security
 * group, the others to interfaces in the stack's VPC and subnets (ec2:Vpc, ec2:Subnet). The guide
 * warns that a DeleteNetworkInterface grant narrower than every interface ID can keep the function
 * out of the VPC, so the resource stays `network-interface/*` and the conditions do the scoping;
 * IfExists lets the permission check Lambda makes on no particular interface through.
 */
export function deployHookPolicy(p: DeployHookPolicyInputs): { Version: string; Statement: Array<Record<string, unknown>> } {
  const subnets = p.subnetIds.map((id) => p.ec2Arn(`subnet/${id}`));
  const interfaces = p.ec2Arn("network-interface/*");
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${p.logGroupArn}:*` },
      { Sid: "WatchRollbackAlarms", Effect: "Allow", Action: ["cloudwatch:DescribeAlarms"], Resource: p.alarmArns },
      // DescribeNetworkInterfaces has no resource type: "*" is required.
      { Sid: "DescribeNetworkInterfaces", Effect: "Allow", Action: ["ec2:DescribeNetworkInterfaces"], Resource: "*" },
      { Sid: "CreateNetworkInterfaces", Effect: "Allow", Action: ["ec2:CreateNetworkInterface"], Resource: [interfaces, ...subnets, p.ec2Arn(`security-group/${p.securityGroupId}`)] },
      {
        Sid: "ManageOwnNetworkInterfaces",
        Effect: "Allow",
        Action: ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
        Resource: [interfaces],
        Condition: { ArnEqualsIfExists: { "ec2:Vpc": p.ec2Arn(`vpc/${p.vpcId}`), "ec2:Subnet": subnets } },
      },
    ],
  };
}
