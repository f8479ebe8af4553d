import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { FlagsFile, loadFlagsFile } from "../infra/flags";
import { appConfigNames, toAppConfigDocument } from "../infra/flags-appconfig";
import { stackName } from "../infra/naming";
import { parameterName, STACK_PARAMETERS, type StackParameterKey } from "../infra/stack-parameters";
import { permissionsBoundary, serviceTrust } from "./service-trust";

/** The AppConfig Agent image (AWS's public ECR; 2.x follows agent fixes within major version 2). */
export const APPCONFIG_AGENT_IMAGE = "public.ecr.aws/aws-appconfig/aws-appconfig-agent:2.x";
export const APPCONFIG_AGENT_PORT = 2772;
export const APPCONFIG_AGENT_CONTAINER = "appconfig-agent";

export interface FeatureFlagsArgs {
  /** Stack name ("staging" or "prod"): the application is friday-<stack>, the environment <stack>. */
  readonly stack: string;
  /** ARNs of the CloudWatch alarms whose ALARM state rolls a flag deployment back (1 to 5: AppConfig's limit). */
  readonly rollbackAlarmArns: pulumi.Input<string>[];
  /** Name of the app's ECS task role: it gets read access to this environment's flags profile, nothing else. */
  readonly taskRoleName: pulumi.Input<string>;
  /** The declared flags. @default flags.yaml at the repository root, validated */
  readonly flags?: FlagsFile;
  /** Gradual strategy: minutes over which a normal change reaches every agent. @default 10 */
  readonly gradualDurationMinutes?: number;
  /** Gradual strategy: percentage of agents added at each step (linear). @default 20 */
  readonly gradualGrowthFactor?: number;
  /** Gradual strategy: minutes the alarms are still watched after the change reached every agent. @default 10 */
  readonly bakeTimeMinutes?: number;
  /** Tags for every resource. */
  readonly tags?: Record<string, string>;
}

/** Throws one message naming the component, the field, the bad value and the fix. */
export function validateFeatureFlagsArgs(name: string, args: FeatureFlagsArgs): void {
  const fail = (message: string) => {
    throw new Error(`FeatureFlags "${name}": ${message}`);
  };
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(args.stack)) fail(`stack must be a lowercase name like "prod" (got "${args.stack}").`);
  const alarms = args.rollbackAlarmArns?.length ?? 0;
  if (alarms < 1 || alarms > 5) {
    fail(`rollbackAlarmArns must hold 1 to 5 alarm ARNs, AppConfig's limit for environment monitors (got ${alarms}): pass the service's rollback alarms.`);
  }
  const ranges: Array<[keyof FeatureFlagsArgs, number, number]> = [
    ["gradualDurationMinutes", 0, 1440],
    ["gradualGrowthFactor", 1, 100],
    ["bakeTimeMinutes", 0, 1440],
  ];
  for (const [field, min, max] of ranges) {
    const value = args[field];
    if (value !== undefined && (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)) {
      fail(`${field} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)}).`);
    }
  }
}

/**
 * Feature flags on AWS AppConfig for one stack: the application and environment (monitored by the
 * rollback alarms, so an alarm during a flag deployment or its bake rolls the change back), the
 * `AWS.AppConfig.FeatureFlags` profile created from flags.yaml with every flag at its declared
 * default, the gradual and immediate deployment strategies `friday flags` uses, read access for the
 * task role, and the SSM parameters the CLI finds them by.
 *
 * Pulumi creates the first configuration version; after that `friday flags …` owns the flags'
 * state (new versions and deployments), so later `pulumi up`s ignore drift on both.
 */
export class FeatureFlags extends pulumi.ComponentResource {
  public readonly application: aws.appconfig.Application;
  public readonly environment: aws.appconfig.Environment;
  public readonly profile: aws.appconfig.ConfigurationProfile;
  public readonly gradualStrategy: aws.appconfig.DeploymentStrategy;
  public readonly immediateStrategy: aws.appconfig.DeploymentStrategy;
  public readonly monitorRole: aws.iam.Role;
  /** The ARN the task role may read: …:application/<id>/environment/<id>/configuration/<id>. */
  public readonly profileReadArn: pulumi.Output<string>;
  public readonly parameters: aws.ssm.Parameter[];
  /** The ids it publishes under /friday/<stack>/, by STACK_PARAMETERS key (for the stack's outputs). */
  public readonly identifiers: Record<
    "appConfigApplicationId" | "appConfigEnvironmentId" | "appConfigProfileId" | "appConfigGradualStrategyId" | "appConfigImmediateStrategyId",
    pulumi.Output<string>
  >;

  constructor(name: string, args: FeatureFlagsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("friday:flags:FeatureFlags", name, {}, opts);
    validateFeatureFlagsArgs(name, args);
    const flags = args.flags ?? loadFlagsFile();
    const names = appConfigNames(args.stack);
    const tags = args.tags;

    this.application = new aws.appconfig.Application(`${name}-app`, { name: names.application, description: `friday ${args.stack}: feature flags`, tags }, { parent: this });
    this.monitorRole = this.createMonitorRole(name, args);
    this.environment = new aws.appconfig.Environment(
      `${name}-env`,
      {
        applicationId: this.application.id,
        name: names.environment,
        description: `friday ${args.stack}: flag changes roll back when a rollback alarm fires`,
        monitors: args.rollbackAlarmArns.map((alarmArn) => ({ alarmArn, alarmRoleArn: this.monitorRole.arn })),
        tags,
      },
      { parent: this },
    );
    this.profile = new aws.appconfig.ConfigurationProfile(
      `${name}-profile`,
      { applicationId: this.application.id, name: names.profile, locationUri: "hosted", type: "AWS.AppConfig.FeatureFlags", description: "Declared in flags.yaml", tags },
      { parent: this },
    );
    this.gradualStrategy = new aws.appconfig.DeploymentStrategy(
      `${name}-gradual`,
      {
        name: `${stackName(args.stack)}-gradual`,
        description: "Normal flag changes: linear, then a bake watched by the rollback alarms",
        deploymentDurationInMinutes: args.gradualDurationMinutes ?? 10,
        growthType: "LINEAR",
        growthFactor: args.gradualGrowthFactor ?? 20,
        finalBakeTimeInMinutes: args.bakeTimeMinutes ?? 10,
        replicateTo: "NONE",
        tags,
      },
      { parent: this },
    );
    // A kill must not wait nor be rolled back by the very alarm that prompted it: no steps, no bake.
    this.immediateStrategy = new aws.appconfig.DeploymentStrategy(
      `${name}-immediate`,
      {
        name: `${stackName(args.stack)}-immediate`,
        description: "Kill switches: every agent at once, no bake",
        deploymentDurationInMinutes: 0,
        growthType: "LINEAR",
        growthFactor: 100,
        finalBakeTimeInMinutes: 0,
        replicateTo: "NONE",
        tags,
      },
      { parent: this },
    );
    this.createInitialDeployment(name, flags);

    this.profileReadArn = pulumi.interpolate`${this.environment.arn}/configuration/${this.profile.configurationProfileId}`;
    new aws.iam.RolePolicy(
      `${name}-task-read`,
      {
        role: args.taskRoleName,
        policy: this.profileReadArn.apply((arn) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Sid: "ReadOwnFlags", Effect: "Allow", Action: ["appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration"], Resource: arn }],
          }),
        ),
      },
      { parent: this },
    );
    this.identifiers = {
      appConfigApplicationId: this.application.id,
      appConfigEnvironmentId: this.environment.environmentId,
      appConfigProfileId: this.profile.configurationProfileId,
      appConfigGradualStrategyId: this.gradualStrategy.id,
      appConfigImmediateStrategyId: this.immediateStrategy.id,
    };
    this.parameters = this.publishParameters(name, args.stack, tags);

    this.registerOutputs({ ...this.identifiers, profileReadArn: this.profileReadArn });
  }

  /** The role AppConfig assumes to read the alarms' state: DescribeAlarms on exactly those alarms. */
  private createMonitorRole(name: string, args: FeatureFlagsArgs): aws.iam.Role {
    const role = new aws.iam.Role(
      `${name}-monitor-role`,
      {
        description: `friday ${args.stack}: lets AppConfig read the rollback alarms during flag deployments`,
        assumeRolePolicy: serviceTrust(this, "appconfig.amazonaws.com"),
        permissionsBoundary: permissionsBoundary(this),
        tags: args.tags,
      },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-monitor-read-alarms`,
      {
        role: role.name,
        policy: pulumi.all(args.rollbackAlarmArns).apply((arns) =>
          JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["cloudwatch:DescribeAlarms"], Resource: arns }] }),
        ),
      },
      { parent: this },
    );
    return role;
  }

  /** Every flag at its declared default (dark). Later versions belong to `friday flags`: drift ignored. */
  private createInitialDeployment(name: string, flags: FlagsFile): void {
    const initial = new aws.appconfig.HostedConfigurationVersion(
      `${name}-initial`,
      {
        applicationId: this.application.id,
        configurationProfileId: this.profile.configurationProfileId,
        contentType: "application/json",
        content: JSON.stringify(toAppConfigDocument(flags)),
        description: "flags.yaml at their declared defaults (created by pulumi up)",
      },
      { parent: this, ignoreChanges: ["content", "description"] },
    );
    new aws.appconfig.Deployment(
      `${name}-initial-deployment`,
      {
        applicationId: this.application.id,
        environmentId: this.environment.environmentId,
        configurationProfileId: this.profile.configurationProfileId,
        configurationVersion: initial.versionNumber.apply((v) => String(v)),
        deploymentStrategyId: this.immediateStrategy.id,
        description: "Initial flags (pulumi up)",
      },
      { parent: this, ignoreChanges: ["configurationVersion", "deploymentStrategyId", "description"] },
    );
  }

  private publishParameters(name: string, stack: string, tags?: Record<string, string>): aws.ssm.Parameter[] {
    const values: Partial<Record<StackParameterKey, pulumi.Input<string>>> = this.identifiers;
    return (Object.keys(values) as StackParameterKey[]).map(
      (key) =>
        new aws.ssm.Parameter(
          `${name}-${STACK_PARAMETERS[key]}`,
          { name: parameterName(stack, key), type: "String", value: values[key]!, description: `friday ${stack}: ${key}`, tags },
          { parent: this },
        ),
    );
  }
}

/** Options of {@link appConfigAgentSidecar}. */
export interface AppConfigAgentSidecarOptions {
  /** CloudWatch Logs group for the agent's logs (awslogs driver); without it, no log configuration. */
  readonly logGroupName?: pulumi.Input<string>;
  /** Region of the log group (required with logGroupName). */
  readonly region?: pulumi.Input<string>;
  /** Seconds between the agent's polls of AppConfig: how fast a flag change reaches the app. @default 15 */
  readonly pollIntervalSeconds?: number;
  /** Agent log level (trace, debug, info, warn, error). @default "info" */
  readonly logLevel?: string;
  /** Image, to pin a specific agent version. @default APPCONFIG_AGENT_IMAGE */
  readonly image?: string;
  /** Memory reserved for the agent (MiB), out of the task's. @default 64 */
  readonly memoryReservation?: number;
}

/**
 * The ECS container definition of the AppConfig Agent sidecar: it prefetches this stack's flags and
 * serves them on localhost:2772 to the app container (awsvpc: the task shares one network namespace).
 * `essential: false`: if the agent dies the app keeps serving, with the provider's fallbacks.
 */
export function appConfigAgentSidecar(stack: string, options: AppConfigAgentSidecarOptions = {}): pulumi.Output<Record<string, unknown>> {
  if (options.logGroupName !== undefined && options.region === undefined) {
    throw new Error(`appConfigAgentSidecar("${stack}"): region is required with logGroupName (the awslogs driver needs both).`);
  }
  const names = appConfigNames(stack);
  return pulumi.output({
    name: APPCONFIG_AGENT_CONTAINER,
    image: options.image ?? APPCONFIG_AGENT_IMAGE,
    essential: false,
    memoryReservation: options.memoryReservation ?? 64,
    portMappings: [{ containerPort: APPCONFIG_AGENT_PORT, protocol: "tcp" }],
    environment: [
      { name: "PREFETCH_LIST", value: `/applications/${names.application}/environments/${names.environment}/configurations/${names.profile}` },
      { name: "POLL_INTERVAL", value: String(options.pollIntervalSeconds ?? 15) },
      { name: "LOG_LEVEL", value: options.logLevel ?? "info" },
    ],
    ...(options.logGroupName !== undefined
      ? {
          logConfiguration: {
            logDriver: "awslogs",
            options: { "awslogs-group": options.logGroupName, "awslogs-region": options.region!, "awslogs-stream-prefix": APPCONFIG_AGENT_CONTAINER },
          },
        }
      : {}),
  }) as unknown as pulumi.Output<Record<string, unknown>>;
}
