import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { deployHookEnvironment, deployHookTimeoutSeconds, HOOK_STAGES } from "../lambdas/deploy-hook/handler";

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
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
      tags,
    }, { parent: this });
    new aws.iam.RolePolicy(`${name}-policy`, {
      role: role.id,
      policy: pulumi.all([logGroup.arn, pulumi.output(args.rollbackAlarmArns)]).apply(([logGroupArn, alarmArns]) => JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logGroupArn}:*` },
          { Sid: "WatchRollbackAlarms", Effect: "Allow", Action: ["cloudwatch:DescribeAlarms"], Resource: alarmArns },
          // Lambda's VPC attachment: AWS does not allow these ENI actions to be scoped to resources.
          { Sid: "VpcNetworkInterfaces", Effect: "Allow", Action: ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"], Resource: "*" },
        ],
      })),
    }, { parent: this });

    this.function = new aws.lambda.Function(`${name}-fn`, {
      name: functionName,
      description: "ECS blue/green lifecycle hook: smoke-tests green, watches rollback alarms",
      runtime: aws.lambda.Runtime.NodeJS24dX,
      architectures: ["arm64"],
      handler: "index.handler",
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
