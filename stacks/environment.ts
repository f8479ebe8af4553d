import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../infra/config";
import { PARITY } from "../infra/parity";
import { appConfigNames } from "../infra/flags-appconfig";
import { appLogGroupName, databaseIdentifier, stackName } from "../infra/naming";
import type { StackParameterKey } from "../infra/stack-parameters";
import { Alarms } from "../components/alarms";
import { ContainerImage } from "../components/container-image";
import { StagingRefresh } from "../components/staging-refresh";
import { BlueGreenService } from "../components/blue-green-service";
import { Database } from "../components/database";
import { DeployHook } from "../components/deploy-hook";
import { appConfigAgentSidecar, FeatureFlags } from "../components/feature-flags";
import { LoadBalancer } from "../components/load-balancer";
import { Network } from "../components/network";
import { StackParameters } from "../components/stack-parameters";
import { bundleDeployHook } from "../lambdas/deploy-hook/bundle";

/** The identifiers an environment publishes (stack outputs and SSM parameters), by STACK_PARAMETERS key. */
export type EnvironmentOutputs = Record<StackParameterKey, pulumi.Output<string>>;

/** One environment, as built: its parts (for composing more on top) and its published identifiers. */
export interface Environment {
  readonly config: StackConfig;
  readonly network: Network;
  readonly image: ContainerImage;
  readonly loadBalancer: LoadBalancer;
  readonly database: Database;
  readonly alarms: Alarms;
  readonly deployHook: DeployHook;
  readonly service: BlueGreenService;
  readonly flags: FeatureFlags;
  readonly outputs: EnvironmentOutputs;
}

/** What the program reads before building an environment. */
export interface EnvironmentOptions {
  /**
   * Engine version to ask RDS for: PARITY's minimum, or the newer version the instance already runs
   * (infra/engine-version.ts). @default PARITY.database.engineVersion
   */
  readonly engineVersion?: string;
}

/** The repository root: the app's Docker build context (app/Dockerfile copies app/ and packages/). */
const REPO_ROOT = join(__dirname, "..");
/** Docker platform of the images: the tasks' parity-locked CPU architecture. */
const IMAGE_PLATFORM = PARITY.service.cpuArchitecture === "ARM64" ? "linux/arm64" : "linux/amd64";

/**
 * The one environment both stacks run: staging and prod differ only in the knobs of their stack
 * files. Parity-locked values come from PARITY. No side effects at import.
 */
export function createEnvironment(config: StackConfig, options: EnvironmentOptions = {}): Environment {
  const prefix = stackName(config.stack);
  const tags = { "friday:stack": config.stack, "friday:managed-by": "pulumi" };

  const network = new Network(`${prefix}-network`, {
    cidrBlock: PARITY.vpcCidr,
    azCount: PARITY.azCount,
    natGateways: config.network.natGateways,
    interfaceEndpoints: config.network.interfaceEndpoints,
    tags,
  });
  const image = new ContainerImage(`${prefix}-image`, {
    repositoryName: `${prefix}-app`,
    contextDir: REPO_ROOT,
    dockerfile: "app/Dockerfile",
    sourceDirs: ["app", "packages"],
    imageUri: config.imageUri,
    platform: IMAGE_PLATFORM,
    keepImages: config.pipeline?.imageRetentionCount,
    tags,
  });
  const loadBalancer = new LoadBalancer(`${prefix}-lb`, {
    vpcId: network.vpcId,
    publicSubnetIds: network.publicSubnetIds,
    containerPort: PARITY.service.containerPort,
    healthCheckPath: PARITY.service.healthCheckPath,
    testListenerPort: PARITY.service.testListenerPort,
    testListenerSourceIps: network.natPublicIps,
    certificateArn: config.https.certificateArn,
    domainName: config.https.domainName,
    hostedZoneId: config.https.hostedZoneId,
    tags,
  });
  const database = new Database(`${prefix}-db`, {
    identifier: databaseIdentifier(config.stack),
    vpcId: network.vpcId,
    privateSubnetIds: network.privateSubnetIds,
    clientSecurityGroupIds: [],
    engineVersion: options.engineVersion ?? PARITY.database.engineVersion,
    parameterGroupFamily: PARITY.database.parameterGroupFamily,
    parameters: PARITY.database.parameters,
    port: PARITY.database.port,
    databaseName: PARITY.database.databaseName,
    masterUsername: PARITY.database.masterUsername,
    ...config.database,
    tags,
  });
  const alarms = new Alarms(`${prefix}-alarms`, {
    namePrefix: prefix,
    loadBalancerArnSuffix: loadBalancer.alb.arnSuffix,
    targetGroupArnSuffixes: [loadBalancer.blueTargetGroup.arnSuffix, loadBalancer.greenTargetGroup.arnSuffix],
    dbInstanceIdentifier: database.instance.identifier,
    thresholds: config.alarms,
    notificationEmail: config.alarms.notificationEmail,
    tags,
  });
  const deployHook = new DeployHook(`${prefix}-deploy-hook`, {
    code: deployHookArchive(),
    vpcId: network.vpcId,
    privateSubnetIds: network.privateSubnetIds,
    testListenerUrl: loadBalancer.testListenerUrl,
    testListenerPort: PARITY.service.testListenerPort,
    rollbackAlarmNames: alarms.alarmNames,
    rollbackAlarmArns: alarms.alarmArns,
    alarmWatchMinutes: config.deploy.alarmWatchMinutes,
    smokeTestTimeoutSeconds: config.deploy.smokeTestTimeoutSeconds,
    logRetentionDays: config.service.logRetentionDays,
    tags,
  });
  const flagNames = appConfigNames(config.stack);
  const service = new BlueGreenService(`${prefix}-service`, {
    serviceName: prefix,
    vpcId: network.vpcId,
    privateSubnetIds: network.privateSubnetIds,
    loadBalancerSecurityGroupId: loadBalancer.securityGroup.id,
    image: image.imageUri,
    repositoryArn: image.repository.arn,
    containerName: PARITY.service.containerName,
    containerPort: PARITY.service.containerPort,
    cpuArchitecture: PARITY.service.cpuArchitecture,
    cpu: config.service.cpu,
    memory: config.service.memory,
    environment: {
      PORT: String(PARITY.service.containerPort),
      APP_STACK: config.stack,
      PGHOST: database.instance.address,
      PGPORT: String(PARITY.database.port),
      PGDATABASE: PARITY.database.databaseName,
      // The image ships the RDS CA bundle, so the app verifies the database's certificate and name.
      PGSSLMODE: "verify-full",
      // Flags come from the AppConfig Agent sidecar on localhost.
      APPCONFIG_APPLICATION: flagNames.application,
      APPCONFIG_ENVIRONMENT: flagNames.environment,
      APPCONFIG_PROFILE: flagNames.profile,
    },
    // Credentials come from the RDS-managed secret through ECS, never as plain values.
    secrets: {
      PGUSER: pulumi.interpolate`${database.secretArn}:username::`,
      PGPASSWORD: pulumi.interpolate`${database.secretArn}:password::`,
    },
    secretArns: [database.secretArn],
    sidecars: [appConfigAgentSidecar(config.stack, { logGroupName: appLogGroupName(prefix), region: config.region })],
    desiredCount: config.service.desiredCount,
    minCount: config.service.minCount,
    maxCount: config.service.maxCount,
    cpuTargetPercent: config.service.cpuTargetPercent,
    logRetentionDays: config.service.logRetentionDays,
    blueTargetGroupArn: loadBalancer.blueTargetGroup.arn,
    greenTargetGroupArn: loadBalancer.greenTargetGroup.arn,
    productionListenerRuleArn: loadBalancer.productionListenerRule.arn,
    testListenerRuleArn: loadBalancer.testListenerRule.arn,
    listenerArns: loadBalancer.listenerArns,
    bakeTimeMinutes: config.deploy.bakeTimeMinutes,
    deploymentStrategy: PARITY.service.deploymentStrategy,
    rollbackAlarmNames: alarms.alarmNames,
    hook: { functionArn: deployHook.function.arn, invokeRoleArn: deployHook.invokeRole.arn, lifecycleStages: deployHook.lifecycleStages },
    tags,
  }, { dependsOn: [alarms] });
  database.allowClient("service", service.securityGroup.id);
  const flags = new FeatureFlags(`${prefix}-flags`, {
    stack: config.stack,
    rollbackAlarmArns: alarms.alarmArns,
    taskRoleName: service.taskRole.name,
    tags,
  });
  if (config.stack === "staging") {
    // Staging alone: the scheduled refresh from a scrubbed snapshot of prod, run by the friday CLI image.
    const opsImage = new ContainerImage(`${prefix}-ops-image`, {
      repositoryName: `${prefix}-ops`,
      contextDir: REPO_ROOT,
      dockerfile: "scripts/Dockerfile",
      sourceDirs: ["package-lock.json", "scripts", "infra", "stacks", "components", "lambdas", "packages", "app/scrub-rules.yaml"],
      imageUri: config.opsImageUri,
      platform: IMAGE_PLATFORM,
      tags,
    });
    new StagingRefresh(`${prefix}-refresh`, {
      stack: config.stack,
      settings: config.stagingRefresh,
      image: opsImage.imageUri,
      imageRepositoryArn: opsImage.repository.arn,
      vpcId: network.vpcId,
      subnetIds: network.privateSubnetIds,
      clusterArn: service.cluster.arn,
      serviceArn: service.service.id,
      appTaskDefinitionFamily: service.taskDefinition.family,
      taskRoleArn: service.taskRole.arn,
      taskExecutionRoleArn: service.executionRole.arn,
      databaseSecurityGroupId: database.securityGroup.id,
      databaseSubnetGroupName: database.subnetGroup.name,
      databaseParameterGroupName: database.parameterGroup.name,
      notificationsTopicArn: alarms.topic.arn,
      notificationsTopicKeyArn: alarms.topicKey.arn,
      logRetentionDays: config.service.logRetentionDays,
      tags,
    });
  }

  const outputs: EnvironmentOutputs = {
    region: pulumi.output(config.region),
    clusterName: service.cluster.name,
    clusterArn: service.cluster.arn,
    serviceName: service.service.name,
    serviceArn: service.service.id,
    taskDefinitionFamily: service.taskDefinition.family,
    taskDefinitionTemplateArn: service.taskDefinition.arn,
    containerName: pulumi.output(PARITY.service.containerName),
    ecrRepositoryUrl: image.repository.repositoryUrl,
    ecrRepositoryArn: image.repository.arn,
    loadBalancerDnsName: loadBalancer.alb.dnsName,
    serviceUrl: loadBalancer.serviceUrl,
    productionListenerRuleArn: loadBalancer.productionListenerRule.arn,
    testListenerRuleArn: loadBalancer.testListenerRule.arn,
    blueTargetGroupArn: loadBalancer.blueTargetGroup.arn,
    greenTargetGroupArn: loadBalancer.greenTargetGroup.arn,
    rollbackAlarmNames: pulumi.output(alarms.alarmNames.join(",")),
    notificationsTopicArn: alarms.topic.arn,
    notificationsTopicKeyArn: alarms.topicKey.arn,
    dbInstanceIdentifier: database.instance.identifier,
    dbInstanceArn: database.instance.arn,
    dbParameterGroupName: database.parameterGroup.name,
    dbSubnetGroupName: database.subnetGroup.name,
    dbSecurityGroupId: database.securityGroup.id,
    dbSecretArn: database.secretArn,
    // What the instance runs (RDS may have upgraded it): prod's staging-first guard compares against it.
    dbEngineVersion: database.instance.engineVersionActual,
    vpcId: network.vpcId,
    privateSubnetIds: pulumi.all(network.privateSubnetIds).apply((ids) => ids.join(",")),
    serviceSecurityGroupId: service.securityGroup.id,
    taskRoleArn: service.taskRole.arn,
    taskExecutionRoleArn: service.executionRole.arn,
    ecsInfrastructureRoleArn: service.infrastructureRole.arn,
    logGroupName: service.logGroup.name,
    appConfigApplicationId: flags.application.id,
    appConfigEnvironmentId: flags.environment.environmentId,
    appConfigProfileId: flags.profile.configurationProfileId,
    appConfigGradualStrategyId: flags.gradualStrategy.id,
    appConfigImmediateStrategyId: flags.immediateStrategy.id,
  };
  // FeatureFlags publishes its own identifiers; the rest are published here.
  const { appConfigApplicationId, appConfigEnvironmentId, appConfigProfileId, appConfigGradualStrategyId, appConfigImmediateStrategyId, ...published } = outputs;
  new StackParameters(`${prefix}-parameters`, { stack: config.stack, values: published, tags });
  return { config, network, image, loadBalancer, database, alarms, deployHook, service, flags, outputs };
}

/** The lifecycle hook's handler, bundled with esbuild at program time into a Lambda archive. */
function deployHookArchive(): pulumi.asset.Archive {
  const bundle = bundleDeployHook(mkdtempSync(join(tmpdir(), "friday-deploy-hook-")));
  return new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.FileAsset(bundle.entryFile) });
}
