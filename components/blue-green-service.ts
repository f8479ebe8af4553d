import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { appLogGroupName } from "../infra/naming";
import { LIFECYCLE_STAGES } from "../lambdas/deploy-hook/handler";
import { ecsTasksSourceArn, permissionsBoundary, serviceTrust } from "./service-trust";

/** A container definition as ECS takes it (JSON); sidecars use the same shape. */
export type ContainerDefinition = Record<string, unknown>;

export interface BlueGreenServiceArgs {
  /** Cluster and service name, e.g. "friday-prod". */
  readonly serviceName: string;
  readonly vpcId: pulumi.Input<string>;
  /** Private subnets the tasks run in (no public IPs). */
  readonly privateSubnetIds: pulumi.Input<string>[];
  /** The ALB's security group: the only source of traffic to the tasks. */
  readonly loadBalancerSecurityGroupId: pulumi.Input<string>;
  /** The image the task-definition template starts with (the pipeline swaps it on every deploy). */
  readonly image: pulumi.Input<string>;
  /** ARN of the ECR repository the execution role may pull from. */
  readonly repositoryArn: pulumi.Input<string>;
  /** Name and port of the app's container (parity-locked). */
  readonly containerName: string;
  readonly containerPort: number;
  /** Fargate CPU units and memory (MiB). */
  readonly cpu: number;
  readonly memory: number;
  /** CPU architecture of the tasks (parity-locked). @default "ARM64" */
  readonly cpuArchitecture?: string;
  /** Plain environment of the app container (never secrets). */
  readonly environment?: Record<string, pulumi.Input<string>>;
  /** Secrets injected by ECS: env name → Secrets Manager `valueFrom` (e.g. `arn:…:password::`). */
  readonly secrets?: Record<string, pulumi.Input<string>>;
  /**
   * ARNs of the secrets the execution role may read (the `valueFrom`s without the JSON key suffix).
   * An RDS-managed secret (`…:secret:rds!db-…`) is granted by the database it belongs to instead (see
   * `databaseIdentifiers`), so a secret RDS makes later for a swapped-in instance stays readable.
   */
  readonly secretArns: pulumi.Input<string>[];
  /**
   * DB instance identifiers (wildcards allowed) whose RDS-managed master secrets the execution role
   * may read, matched on the `aws:rds:primaryDBInstanceArn` tag RDS puts on those secrets. The staging
   * refresh swaps in an instance restored as `<serviceName>-refresh-<run>-new` and renamed to
   * `<serviceName>-db`, with a secret of its own whose ARN is unknown at deploy time.
   * @default [`${serviceName}-db`, `${serviceName}-refresh-*-new`]
   */
  readonly databaseIdentifiers?: string[];
  /** Extra containers in the task (e.g. the AppConfig agent). */
  readonly sidecars?: pulumi.Input<ContainerDefinition>[];
  /** Task counts: initial, and the auto-scaling range. */
  readonly desiredCount: number;
  readonly minCount: number;
  readonly maxCount: number;
  /** Target average CPU (percent) for auto scaling. */
  readonly cpuTargetPercent: number;
  /** CloudWatch Logs retention (days). */
  readonly logRetentionDays: number;
  /** Blue/green wiring from the load balancer. */
  readonly blueTargetGroupArn: pulumi.Input<string>;
  readonly greenTargetGroupArn: pulumi.Input<string>;
  readonly productionListenerRuleArn: pulumi.Input<string>;
  readonly testListenerRuleArn: pulumi.Input<string>;
  /** Listeners ECS may modify during a deployment (production and test). */
  readonly listenerArns: pulumi.Input<string>[];
  /** ECS native deployment strategy (parity-locked). @default "BLUE_GREEN" */
  readonly deploymentStrategy?: "BLUE_GREEN" | "LINEAR" | "CANARY";
  /** Minutes both revisions keep running after traffic shifts (instant rollback window). */
  readonly bakeTimeMinutes: number;
  /** Alarms whose ALARM state makes ECS roll the deployment back. */
  readonly rollbackAlarmNames: string[];
  /** The lifecycle hook: Lambda ARN, the role ECS assumes to invoke it, and the stages it runs at. */
  readonly hook: { functionArn: pulumi.Input<string>; invokeRoleArn: pulumi.Input<string>; lifecycleStages: string[] };
  /** Tags for every resource. */
  readonly tags?: Record<string, string>;
}

/**
 * The execution role's secret grants. RDS-managed master secrets are granted by owner: any
 * `rds!db-*` secret in their account and region whose `aws:rds:primaryDBInstanceArn` tag names one of
 * `databaseIdentifiers` (RDS names the secret randomly and makes a new one for each instance). Other
 * secrets are granted by exact ARN.
 */
export function taskSecretStatements(secretArns: string[], databaseIdentifiers: string[]): Array<Record<string, unknown>> {
  const managed = secretArns.filter((arn) => arn.includes(":secret:rds!"));
  const others = secretArns.filter((arn) => !managed.includes(arn));
  const statements: Array<Record<string, unknown>> = [];
  const scopes = [...new Set(managed.map((arn) => arn.split(":").slice(0, 5).join(":")))]; // arn:<partition>:secretsmanager:<region>:<account>
  if (scopes.length) {
    const owners = scopes.flatMap((scope) => {
      const [, partition, , region, account] = scope.split(":");
      return databaseIdentifiers.map((id) => `arn:${partition}:rds:${region}:${account}:db:${id}`);
    });
    statements.push({
      Sid: "TaskSecrets",
      Effect: "Allow",
      Action: "secretsmanager:GetSecretValue",
      Resource: scopes.map((scope) => `${scope}:secret:rds!db-*`),
      Condition: { StringLike: { "aws:ResourceTag/aws:rds:primaryDBInstanceArn": owners } },
    });
  }
  if (others.length) statements.push({ Sid: "TaskOtherSecrets", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: others });
  return statements;
}

const FARGATE_CPU = [256, 512, 1024, 2048, 4096, 8192, 16384];

export function validateBlueGreenServiceArgs(name: string, args: BlueGreenServiceArgs): void {
  if (!FARGATE_CPU.includes(args.cpu)) {
    throw new Error(`BlueGreenService "${name}": cpu must be one of ${FARGATE_CPU.join(", ")} (got ${args.cpu}).`);
  }
  if (!(args.minCount >= 1 && args.minCount <= args.desiredCount && args.desiredCount <= args.maxCount)) {
    throw new Error(`BlueGreenService "${name}": counts must satisfy 1 <= minCount <= desiredCount <= maxCount (got ${args.minCount}/${args.desiredCount}/${args.maxCount}).`);
  }
  if (args.rollbackAlarmNames.length === 0) {
    throw new Error(`BlueGreenService "${name}": rollbackAlarmNames is empty: deployments must roll back on alarms.`);
  }
  const unknownStages = args.hook.lifecycleStages.filter((stage) => !(LIFECYCLE_STAGES as readonly string[]).includes(stage));
  if (args.hook.lifecycleStages.length === 0 || unknownStages.length) {
    throw new Error(
      `BlueGreenService "${name}": hook.lifecycleStages must name stages ECS defines (${LIFECYCLE_STAGES.join(", ")}) ` +
        `(got ${JSON.stringify(args.hook.lifecycleStages)}).`,
    );
  }
  if (args.bakeTimeMinutes < 0 || args.bakeTimeMinutes > 1440) {
    throw new Error(`BlueGreenService "${name}": bakeTimeMinutes must be 0..1440 (got ${args.bakeTimeMinutes}).`);
  }
  for (const key of Object.keys(args.environment ?? {})) {
    if (/PASSWORD|SECRET|TOKEN/i.test(key)) {
      throw new Error(`BlueGreenService "${name}": environment.${key} looks like a secret: pass it in secrets (from Secrets Manager), never as a plain value.`);
    }
  }
}

/**
 * ECS on Fargate with native blue/green: the cluster, the task-definition template, the service
 * (deployment controller ECS, BLUE_GREEN strategy, bake time, circuit breaker and alarms with
 * rollback, the lifecycle hook), the infrastructure role ECS uses to flip the listener rules, and
 * CPU auto scaling. The pipeline owns which revision runs: the service ignores drift on its task
 * definition, load balancers and desired count.
 */
export class BlueGreenService extends pulumi.ComponentResource {
  public readonly cluster: aws.ecs.Cluster;
  public readonly service: aws.ecs.Service;
  /** The template the stack publishes; deploys start from its latest revision. */
  public readonly taskDefinition: aws.ecs.TaskDefinition;
  public readonly securityGroup: aws.ec2.SecurityGroup;
  public readonly taskRole: aws.iam.Role;
  public readonly executionRole: aws.iam.Role;
  public readonly infrastructureRole: aws.iam.Role;
  public readonly logGroup: aws.cloudwatch.LogGroup;

  constructor(name: string, args: BlueGreenServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("friday:service:BlueGreenService", name, {}, opts);
    validateBlueGreenServiceArgs(name, args);
    const tags = args.tags ?? {};

    this.cluster = new aws.ecs.Cluster(`${name}-cluster`, {
      name: args.serviceName,
      settings: [{ name: "containerInsights", value: "enabled" }],
      tags,
    }, { parent: this });
    this.logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, {
      name: appLogGroupName(args.serviceName),
      retentionInDays: args.logRetentionDays,
      tags,
    }, { parent: this });
    this.securityGroup = new aws.ec2.SecurityGroup(`${name}-sg`, {
      vpcId: args.vpcId,
      description: `${args.serviceName} tasks: traffic from the ALB only`,
      ingress: [{ protocol: "tcp", fromPort: args.containerPort, toPort: args.containerPort, securityGroups: [args.loadBalancerSecurityGroupId], description: "From the ALB" }],
      egress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"], description: "Database, AWS APIs, AppConfig" }],
      tags: { ...tags, Name: `${args.serviceName}-tasks` },
    }, { parent: this });

    this.executionRole = this.createExecutionRole(name, args, tags);
    this.taskRole = new aws.iam.Role(`${name}-task-role`, {
      description: `${args.serviceName} app: grants are attached by what the app uses (e.g. feature flags)`,
      assumeRolePolicy: serviceTrust(this, "ecs-tasks.amazonaws.com", ecsTasksSourceArn),
      permissionsBoundary: permissionsBoundary(this),
      tags,
    }, { parent: this });
    this.infrastructureRole = this.createInfrastructureRole(name, args, tags);
    this.taskDefinition = this.createTaskDefinition(name, args, tags);
    this.service = this.createService(name, args, tags);
    this.createAutoScaling(name, args);
    this.registerOutputs({ clusterName: this.cluster.name, serviceName: this.service.name, taskDefinitionArn: this.taskDefinition.arn });
  }

  private createExecutionRole(name: string, args: BlueGreenServiceArgs, tags: Record<string, string>): aws.iam.Role {
    const role = new aws.iam.Role(`${name}-execution-role`, {
      description: `${args.serviceName}: ECS pulls the image, writes logs and reads the task's secrets`,
      assumeRolePolicy: serviceTrust(this, "ecs-tasks.amazonaws.com", ecsTasksSourceArn),
      permissionsBoundary: permissionsBoundary(this),
      tags,
    }, { parent: this });
    new aws.iam.RolePolicy(`${name}-execution-policy`, {
      role: role.id,
      policy: pulumi.all([args.repositoryArn, this.logGroup.arn, pulumi.output(args.secretArns)]).apply(([repositoryArn, logGroupArn, secretArns]) => JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          // GetAuthorizationToken is account-wide by AWS's design: it cannot be scoped to a repository.
          { Sid: "EcrToken", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
          { Sid: "EcrPull", Effect: "Allow", Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"], Resource: repositoryArn },
          { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logGroupArn}:*` },
          ...taskSecretStatements(secretArns, args.databaseIdentifiers ?? [`${args.serviceName}-db`, `${args.serviceName}-refresh-*-new`]),
        ],
      })),
    }, { parent: this });
    return role;
  }

  private createInfrastructureRole(name: string, args: BlueGreenServiceArgs, tags: Record<string, string>): aws.iam.Role {
    const role = new aws.iam.Role(`${name}-infrastructure-role`, {
      description: `${args.serviceName}: ECS shifts blue/green traffic on the ALB`,
      permissionsBoundary: permissionsBoundary(this),
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Sid: "AllowAccessToECSForInfrastructureManagement", Effect: "Allow", Principal: { Service: "ecs.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
      tags,
    }, { parent: this });
    // AmazonECSInfrastructureRolePolicyForLoadBalancers, narrowed to this service's listeners, rules and target groups.
    new aws.iam.RolePolicy(`${name}-infrastructure-policy`, {
      role: role.id,
      policy: pulumi
        .all([args.blueTargetGroupArn, args.greenTargetGroupArn, args.productionListenerRuleArn, args.testListenerRuleArn, pulumi.output(args.listenerArns)])
        .apply(([blue, green, productionRule, testRule, listeners]) => JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Sid: "ELBReadOperations", Effect: "Allow", Action: ["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"], Resource: "*" },
            { Sid: "TargetGroupOperations", Effect: "Allow", Action: ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"], Resource: [blue, green] },
            { Sid: "ModifyListeners", Effect: "Allow", Action: "elasticloadbalancing:ModifyListener", Resource: listeners },
            { Sid: "ModifyRules", Effect: "Allow", Action: "elasticloadbalancing:ModifyRule", Resource: [productionRule, testRule] },
          ],
        })),
    }, { parent: this });
    return role;
  }

  private createTaskDefinition(name: string, args: BlueGreenServiceArgs, tags: Record<string, string>): aws.ecs.TaskDefinition {
    const region = aws.getRegionOutput({}, { parent: this }).region;
    const app = pulumi.all([args.image, this.logGroup.name, region, pulumi.output(args.environment ?? {}), pulumi.output(args.secrets ?? {})])
      .apply(([image, logGroup, regionName, environment, secrets]) => ({
        name: args.containerName,
        image,
        essential: true,
        portMappings: [{ containerPort: args.containerPort, protocol: "tcp", name: "http" }],
        environment: Object.entries(environment).map(([key, value]) => ({ name: key, value })),
        secrets: Object.entries(secrets).map(([key, valueFrom]) => ({ name: key, valueFrom })),
        logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": logGroup, "awslogs-region": regionName, "awslogs-stream-prefix": "app" } },
        stopTimeout: 30,
      }));
    return new aws.ecs.TaskDefinition(`${name}-task`, {
      family: `${args.serviceName}-app`,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: String(args.cpu),
      memory: String(args.memory),
      runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: args.cpuArchitecture ?? "ARM64" },
      executionRoleArn: this.executionRole.arn,
      taskRoleArn: this.taskRole.arn,
      containerDefinitions: pulumi.all([app, pulumi.output(args.sidecars ?? [])]).apply(([appContainer, sidecars]) =>
        JSON.stringify([
          // The app starts after its sidecars (e.g. the AppConfig agent it reads flags from).
          { ...appContainer, dependsOn: sidecars.map((sidecar) => ({ containerName: sidecar.name, condition: "START" })) },
          ...sidecars,
        ])),
      tags,
      // Older revisions stay registered: the running service and rollbacks may still point at them.
      skipDestroy: true,
    }, { parent: this });
  }

  private createService(name: string, args: BlueGreenServiceArgs, tags: Record<string, string>): aws.ecs.Service {
    return new aws.ecs.Service(`${name}-service`, {
      name: args.serviceName,
      cluster: this.cluster.arn,
      taskDefinition: this.taskDefinition.arn,
      desiredCount: args.desiredCount,
      launchType: "FARGATE",
      platformVersion: "LATEST",
      deploymentController: { type: "ECS" },
      deploymentConfiguration: {
        strategy: args.deploymentStrategy ?? "BLUE_GREEN",
        bakeTimeInMinutes: String(args.bakeTimeMinutes),
        lifecycleHooks: [{
          hookTargetArn: args.hook.functionArn,
          roleArn: args.hook.invokeRoleArn,
          lifecycleStages: args.hook.lifecycleStages,
        }],
      },
      deploymentCircuitBreaker: { enable: true, rollback: true },
      alarms: { alarmNames: args.rollbackAlarmNames, enable: true, rollback: true },
      deploymentMinimumHealthyPercent: 100,
      deploymentMaximumPercent: 200,
      healthCheckGracePeriodSeconds: 30,
      networkConfiguration: { subnets: args.privateSubnetIds, securityGroups: [this.securityGroup.id], assignPublicIp: false },
      loadBalancers: [{
        containerName: args.containerName,
        containerPort: args.containerPort,
        targetGroupArn: args.blueTargetGroupArn,
        advancedConfiguration: {
          alternateTargetGroupArn: args.greenTargetGroupArn,
          productionListenerRule: args.productionListenerRuleArn,
          testListenerRule: args.testListenerRuleArn,
          roleArn: this.infrastructureRole.arn,
        },
      }],
      propagateTags: "SERVICE",
      enableEcsManagedTags: true,
      waitForSteadyState: false,
      tags,
    }, {
      parent: this,
      // The pipeline owns the running revision; ECS owns which target group is live; auto scaling owns the count.
      ignoreChanges: ["taskDefinition", "loadBalancers", "desiredCount"],
    });
  }

  private createAutoScaling(name: string, args: BlueGreenServiceArgs): void {
    const target = new aws.appautoscaling.Target(`${name}-scaling-target`, {
      serviceNamespace: "ecs",
      scalableDimension: "ecs:service:DesiredCount",
      resourceId: pulumi.interpolate`service/${this.cluster.name}/${this.service.name}`,
      minCapacity: args.minCount,
      maxCapacity: args.maxCount,
    }, { parent: this });
    new aws.appautoscaling.Policy(`${name}-cpu-scaling`, {
      policyType: "TargetTrackingScaling",
      serviceNamespace: target.serviceNamespace,
      scalableDimension: target.scalableDimension,
      resourceId: target.resourceId,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: args.cpuTargetPercent,
        predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" },
        scaleInCooldown: 300,
        scaleOutCooldown: 60,
      },
    }, { parent: this });
  }
}

