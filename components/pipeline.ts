import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { CliBundle } from "../infra/cli-bundle";
import { SETTING_DEFAULTS } from "../infra/config";
import { infraDeployPolicies, infraPreviewPolicies, InfraScope, STAGING_STEPS_TAGS, stateBackendOf } from "./infra-delivery-policies";
import type { StackName } from "../infra/naming";
import { PipelineArtifacts } from "./pipeline-artifacts";
import { PullRequestChecks, validatePullRequestHost } from "./pull-request-checks";
import { CpuArchitecture, BUILD_ENVIRONMENTS, PipelineBuildProject, ProjectVariable } from "./pipeline-build-project";
import { permissionsBoundary, serviceTrust } from "./service-trust";
import {
  baseStatements,
  buildStatements,
  deployStatements,
  document,
  migrateStatements,
  observeStatements,
  parameterStatements,
  pipelineStatements,
  PipelineScope,
  PolicyDocument,
  splitList,
  stackArns,
  StackScope,
  Statement,
  vpcStatements,
} from "./pipeline-policies";

/** The outputs of one environment stack the pipeline acts on (keys of STACK_PARAMETERS). */
export interface PipelineStackRefs {
  /** AWS region of the stack. */
  readonly region: pulumi.Input<string>;
  readonly clusterArn: pulumi.Input<string>;
  readonly clusterName: pulumi.Input<string>;
  readonly serviceArn: pulumi.Input<string>;
  readonly serviceName: pulumi.Input<string>;
  /** Family the deploy step registers revisions in. */
  readonly taskDefinitionFamily: pulumi.Input<string>;
  /** Comma-separated names of the alarms deploys roll back on. */
  readonly rollbackAlarmNames: pulumi.Input<string>;
  /** Comma-separated private subnet ids (migrations and smoke tests run there). */
  readonly privateSubnetIds: pulumi.Input<string>;
  /** The service's security group: the one the database admits. */
  readonly serviceSecurityGroupId: pulumi.Input<string>;
  readonly vpcId: pulumi.Input<string>;
  /** ARN of the RDS-managed master secret. */
  readonly dbSecretArn: pulumi.Input<string>;
  readonly dbInstanceIdentifier: pulumi.Input<string>;
  readonly taskRoleArn: pulumi.Input<string>;
  readonly taskExecutionRoleArn: pulumi.Input<string>;
  readonly notificationsTopicArn: pulumi.Input<string>;
  /** The topic's KMS key: the pipeline role publishes the approval request through it. */
  readonly notificationsTopicKeyArn: pulumi.Input<string>;
  readonly ecrRepositoryUrl: pulumi.Input<string>;
  readonly ecrRepositoryArn: pulumi.Input<string>;
}

export interface PipelineArgs {
  /** The app repository, "owner/name". */
  readonly repository: string;
  /** Pushes to this branch start a run. @default "main" */
  readonly branch?: string;
  /** An existing CodeConnections connection; without it one is created (approve it once in the console). */
  readonly connectionArn?: pulumi.Input<string>;
  /** Git host of the created connection. @default "GitHub" */
  readonly providerType?: string;
  /** Only pushes touching these path globs start a run. @default any path */
  readonly filePaths?: string[];
  /** The app's tests. @default "npm test" */
  readonly testCommand?: string;
  /** The migration lint. @default "npx friday migrate lint --dir app/migrations" */
  readonly lintCommand?: string;
  /** Docker build context, relative to the repository root. @default "." */
  readonly dockerContext?: string;
  /** The Dockerfile, relative to the repository root. @default "app/Dockerfile" */
  readonly dockerfile?: string;
  /** Migrations directory, relative to the repository root. @default "app/migrations" */
  readonly migrationsDir?: string;
  /** Ask a person before prod (after the automatic gate). @default true */
  readonly manualApproval?: boolean;
  /** Minutes a deploy step may take. @default 60 */
  readonly deployTimeoutMinutes?: number;
  /** Minutes the prod stage watches prod's rollback alarms after the deploy succeeded. @default the config schema's deploy.alarmWatchMinutes (at least 1) */
  readonly alarmWatchMinutes?: number;
  /** Database name the migrations connect to. */
  readonly databaseName: string;
  /** CPU architecture of the app image (the build host matches it). @default "ARM64" */
  readonly architecture?: CpuArchitecture;
  /** The prod stack's outputs: the image registry, the prod deploy, the approval topic. */
  readonly prod: PipelineStackRefs;
  /** The staging stack's outputs. */
  readonly staging: PipelineStackRefs;
  /** The bundled friday CLI the steps run (scripts/pipeline/bundle.ts). */
  readonly cliBundle: CliBundle | Promise<CliBundle>;
  /** Days a run's artifacts are kept. @default 90 */
  readonly artifactRetentionDays?: number;
  /** How the pipeline runs Pulumi for both stacks (the infrastructure ships through it too). */
  readonly infra: PipelineInfraArgs;
  /** Checks on every pull request and branch push. @default enabled, fork pull requests wait for approval */
  readonly pullRequests?: { readonly enabled?: boolean; readonly forkApproval?: boolean };
}

/** The Pulumi side of the pipeline: state backend, stacks, and what counts as an infra change. */
export interface PipelineInfraArgs {
  /** "s3://<bucket>[/prefix]" or "https://api.pulumi.com". */
  readonly backendUrl: string;
  /** "awskms://alias/<name>?region=<region>" (required with an S3 backend). */
  readonly secretsProvider?: string;
  /** (Pulumi Cloud) The Secrets Manager secret holding PULUMI_ACCESS_TOKEN. */
  readonly accessTokenSecretArn?: string;
  /** The Pulumi project's name (Pulumi.yaml). */
  readonly project: string;
  /** Fully qualified stack names, e.g. "organization/friday/staging". */
  readonly stackNames: Readonly<Record<StackName, string>>;
  /** Path globs that are the Pulumi program (pull requests touching one get previews). */
  readonly paths: string[];
  /** The Pulumi CLI version the steps install (the SDK's own, so CLI and program agree). */
  readonly pulumiVersion: string;
}

/** Stage and action names, in order: tests read them from here. */
export const STAGES = {
  Source: ["Source"],
  Test: ["UnitTestsAndMigrationLint"],
  Build: ["BuildImage"],
  StagingInfra: ["PulumiUp"],
  Staging: ["ExpandMigrations", "Deploy", "SmokeTests"],
  Gate: ["AutomaticChecks", "ManualApproval"],
  ProdInfra: ["PulumiUp"],
  Prod: ["ExpandMigrations", "Deploy"],
} as const;

/** The commit statuses pull requests get, one CodeBuild project each. */
export const PULL_REQUEST_CHECKS = { tests: "friday/tests", previewStaging: "friday/preview-staging", previewProd: "friday/preview-prod" } as const;

/** CodePipeline's own variable: the run's id (the prod infra step restarts the run when it changed the pipeline). */
export const EXECUTION_ID_VARIABLE = "#{codepipeline.PipelineExecutionId}";

/** CodePipeline allows at most this many rules in one stage condition. */
export const MAX_CONDITION_RULES = 5;

/** The variable namespaces the image digest and commit flow through. */
export const NAMESPACES = { source: "SourceVariables", build: "BuildVariables" } as const;
export const IMAGE_URI_VARIABLE = `#{${NAMESPACES.build}.IMAGE_URI}`;
export const COMMIT_ID_VARIABLE = `#{${NAMESPACES.source}.CommitId}`;

/** The config schema's defaults (one source: infra/config.ts); CodePipeline waits at least a minute. */
const { branch, providerType, testCommand, lintCommand, dockerContext, dockerfile, migrationsDir, manualApproval, deployTimeoutMinutes } = SETTING_DEFAULTS.pipeline;
const DEFAULTS = {
  branch, providerType: providerType as string, testCommand, lintCommand, dockerContext, dockerfile, migrationsDir, manualApproval, deployTimeoutMinutes,
  alarmWatchMinutes: Math.max(1, SETTING_DEFAULTS.deploy.alarmWatchMinutes),
  architecture: "ARM64" as CpuArchitecture,
};

/** The args with every default filled in. */
type Settings = PipelineArgs & typeof DEFAULTS;

/** Synchronous checks; throws one error naming the component, the field, the value and the fix. */
export function validatePipelineArgs(name: string, args: PipelineArgs): void {
  const fail = (field: string, got: unknown, fix: string): never => {
    throw new Error(`Pipeline "${name}": ${field} ${fix} (got ${JSON.stringify(got)}).`);
  };
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/.test(name)) fail("name", name, "must be 1-40 letters, digits, '-' or '_' (it prefixes every project)");
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(args.repository ?? "")) fail("repository", args.repository, 'must be "owner/name", e.g. "acme/app"');
  const branch = args.branch ?? DEFAULTS.branch;
  if (!branch || /[\s~^:?*[\\]/.test(branch)) fail("branch", branch, "must be a git branch name");
  if (typeof args.connectionArn === "string" && !/^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection\/[\w-]+$/.test(args.connectionArn)) {
    fail("connectionArn", args.connectionArn, "must be a CodeConnections connection ARN");
  }
  if (args.filePaths !== undefined && (args.filePaths.length < 1 || args.filePaths.length > 8 || args.filePaths.some((p) => !p))) {
    fail("filePaths", args.filePaths, "must hold 1 to 8 non-empty path globs (CodePipeline's limit), or be left out");
  }
  for (const field of ["testCommand", "lintCommand"] as const) {
    const value = args[field];
    if (value !== undefined && !value.trim()) fail(field, value, "must be a command; leave it out for the default");
  }
  const timeout = args.deployTimeoutMinutes ?? DEFAULTS.deployTimeoutMinutes;
  if (!Number.isInteger(timeout) || timeout < 5 || timeout > 480) fail("deployTimeoutMinutes", timeout, "must be a whole number from 5 to 480");
  const watch = args.alarmWatchMinutes ?? DEFAULTS.alarmWatchMinutes;
  if (!Number.isInteger(watch) || watch < 1 || watch > 1440) fail("alarmWatchMinutes", watch, "must be a whole number from 1 to 1440");
  if (!args.databaseName) fail("databaseName", args.databaseName, "must name the app's database");
  const architecture = args.architecture ?? DEFAULTS.architecture;
  if (!(architecture in BUILD_ENVIRONMENTS)) fail("architecture", architecture, `must be one of ${Object.keys(BUILD_ENVIRONMENTS).join(", ")}`);
  // Only prod's alarms become stage-condition rules.
  const prodAlarms = args.prod?.rollbackAlarmNames;
  if (typeof prodAlarms === "string" && splitList(prodAlarms).length > MAX_CONDITION_RULES) {
    fail("prod.rollbackAlarmNames", prodAlarms, `must name at most ${MAX_CONDITION_RULES} alarms (a stage condition holds ${MAX_CONDITION_RULES} rules); use a composite alarm`);
  }
  if (!args.prod || !args.staging) fail(args.prod ? "staging" : "prod", undefined, "must carry that stack's outputs");
  if (!args.infra) fail("infra", undefined, "must say where Pulumi's state lives (friday:pipeline.infra; `friday bootstrap` creates it)");
  try {
    stateBackendOf(args.infra);
  } catch (error) {
    fail("infra", args.infra.backendUrl, (error as Error).message.replace(/^friday:pipeline\.infra\./, "has a bad "));
  }
  const { staging: stagingStack, prod: prodStack } = args.infra.stackNames ?? {};
  if (!stagingStack || !prodStack || stagingStack === prodStack) {
    fail("infra.stackNames", args.infra.stackNames, 'must name two different stacks, e.g. {staging: "organization/friday/staging", prod: "organization/friday/prod"}');
  }
  if (!/^\d+\.\d+\.\d+$/.test(args.infra.pulumiVersion ?? "")) fail("infra.pulumiVersion", args.infra.pulumiVersion, 'must be a Pulumi CLI version like "3.248.0"');
  if (!args.infra.paths?.length) fail("infra.paths", args.infra.paths, "must list the Pulumi program's path globs");
  // Here, not only in PullRequestChecks: by the time that component is made, most of the pipeline is.
  if (args.pullRequests?.enabled ?? true) validatePullRequestHost(`${name}-pr`, args.providerType ?? DEFAULTS.providerType);
}

/** Resolves a stack's refs into plain strings for the policy functions. */
function scopeOf(stack: "staging" | "prod", refs: PipelineStackRefs): pulumi.Output<StackScope> {
  return pulumi
    .all([
      refs.region, refs.clusterArn, refs.clusterName, refs.serviceArn, refs.serviceName, refs.taskDefinitionFamily,
      refs.rollbackAlarmNames, refs.privateSubnetIds, refs.serviceSecurityGroupId, refs.vpcId, refs.dbSecretArn,
      refs.dbInstanceIdentifier, refs.taskRoleArn, refs.taskExecutionRoleArn, refs.ecrRepositoryArn,
    ])
    .apply(([region, clusterArn, clusterName, serviceArn, serviceName, taskDefinitionFamily, rollbackAlarmNames, privateSubnetIds,
      serviceSecurityGroupId, vpcId, dbSecretArn, dbInstanceIdentifier, taskRoleArn, taskExecutionRoleArn, ecrRepositoryArn]) => ({
      stack, region, clusterArn, clusterName, serviceArn, serviceName, taskDefinitionFamily, rollbackAlarmNames, privateSubnetIds,
      serviceSecurityGroupId, vpcId, dbSecretArn, dbInstanceIdentifier, taskRoleArn, taskExecutionRoleArn, ecrRepositoryArn,
    }));
}

type ProjectKey =
  | "test" | "build" | "stagingInfra" | "stagingMigrate" | "stagingDeploy" | "stagingSmoke" | "gate" | "prodInfra" | "prodMigrate" | "prodDeploy";

/**
 * The delivery pipeline (CodePipeline V2, QUEUED): Source → Test → Build (one image, by digest) →
 * Staging (expand migrations with lock rehearsal, blue/green deploy, smoke tests) → Gate (automatic
 * checks, optional manual approval) → Prod (expand migrations, blue/green deploy of the same digest,
 * rolled back when a prod rollback alarm fires). Each step is a CodeBuild project with its own role;
 * only the prod deploy project's role can change the prod service.
 */
export class Pipeline extends pulumi.ComponentResource {
  public readonly pipeline: aws.codepipeline.Pipeline;
  public readonly artifacts: PipelineArtifacts;
  public readonly projects: Record<ProjectKey, PipelineBuildProject>;
  public readonly pipelineRole: aws.iam.Role;
  public readonly connectionArn: pulumi.Output<string>;
  public readonly pipelineName: pulumi.Output<string>;
  /** Tests and infra previews on pull requests; absent when friday:pipeline.pullRequests.enabled is false. */
  public readonly pullRequestChecks?: PullRequestChecks;

  constructor(name: string, args: PipelineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("friday:delivery:Pipeline", name, {}, opts);
    validatePipelineArgs(name, args);
    const settings = { ...DEFAULTS, ...definedOnly(args) } as Settings;

    const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
    const partition = aws.getPartitionOutput({}, { parent: this }).partition;

    this.artifacts = new PipelineArtifacts(
      `${name}-artifacts`,
      { pipelineName: name, cliBundle: args.cliBundle, artifactRetentionDays: args.artifactRetentionDays },
      { parent: this },
    );
    const scope: pulumi.Output<PipelineScope> = pulumi
      .all([account, partition, args.prod.region, this.artifacts.bucket.arn, this.artifacts.key.arn])
      .apply(([acct, part, region, bucketArn, keyArn]) => ({ account: acct, partition: part, region, artifactsBucketArn: bucketArn, artifactsKeyArn: keyArn }));
    const staging = scopeOf("staging", args.staging);
    const prod = scopeOf("prod", args.prod);

    this.connectionArn = args.connectionArn
      ? pulumi.output(args.connectionArn)
      : new aws.codeconnections.Connection(`${name}-source`, { name: `${name}-source`.slice(0, 32), providerType: settings.providerType }, { parent: this }).arn;

    const infraScope: pulumi.Output<InfraScope> = scope.apply((p) => ({
      account: p.account,
      partition: p.partition,
      region: p.region,
      project: args.infra.project,
      backend: stateBackendOf(args.infra),
    }));
    this.projects = this.createProjects(name, settings, scope, staging, prod, infraScope);
    this.pipelineRole = this.createPipelineRole(name, settings, scope, prod);
    this.pipeline = this.createPipeline(name, settings);
    if (settings.pullRequests?.enabled ?? true) this.pullRequestChecks = this.createPullRequestChecks(name, settings, scope, infraScope);
    this.pipelineName = this.pipeline.name;
    this.createNotifications(name, args.prod.notificationsTopicArn);
    this.createReleasePullGrant(name, args.prod.ecrRepositoryUrl, args.staging.taskExecutionRoleArn);

    this.registerOutputs({
      pipelineName: this.pipeline.name,
      pipelineArn: this.pipeline.arn,
      connectionArn: this.connectionArn,
      artifactsBucket: this.artifacts.bucket.bucket,
    });
  }

  private createProjects(
    name: string,
    args: Settings,
    scope: pulumi.Output<PipelineScope>,
    staging: pulumi.Output<StackScope>,
    prod: pulumi.Output<StackScope>,
    infraScope: pulumi.Output<InfraScope>,
  ): Record<ProjectKey, PipelineBuildProject> {
    const cli: ProjectVariable[] = [
      { name: "FRIDAY_CLI_BUCKET", value: this.artifacts.bucket.bucket },
      { name: "FRIDAY_CLI_KEY", value: this.artifacts.cliKey },
      { name: "FRIDAY_CLI_SHA256", value: this.artifacts.cliSha256 },
    ];
    const common = { architecture: args.architecture, artifactsKeyArn: this.artifacts.key.arn };
    const project = (key: ProjectKey, suffix: string, description: string, rest: Omit<ConstructorParameters<typeof PipelineBuildProject>[1], "projectName" | "description" | "artifactsKeyArn" | "policy">, extra: (p: PipelineScope, stg: StackScope, prd: StackScope) => Statement[], writesArtifacts = false) => {
      const projectName = `${name}-${suffix}`;
      const policy = pulumi.all([scope, staging, prod]).apply(([p, stg, prd]) => document([...baseStatements(p, projectName, { writesArtifacts }), ...extra(p, stg, prd)]));
      return [key, new PipelineBuildProject(`${name}-${suffix}`, { projectName, description, policy, ...common, ...rest }, { parent: this })] as const;
    };
    const inVpc = (refs: PipelineStackRefs) => ({
      vpcId: refs.vpcId,
      subnetIds: pulumi.output(refs.privateSubnetIds).apply(splitList),
      securityGroupId: refs.serviceSecurityGroupId,
    });
    const migrateVariables = (stack: "staging" | "prod", refs: PipelineStackRefs, rehearse: boolean): ProjectVariable[] => [
      ...cli,
      { name: "FRIDAY_STACK", value: stack },
      { name: "FRIDAY_REHEARSE", value: String(rehearse) },
      { name: "MIGRATIONS_DIR", value: args.migrationsDir },
      { name: "DB_INSTANCE_IDENTIFIER", value: refs.dbInstanceIdentifier },
      { name: "PGDATABASE", value: args.databaseName },
      { name: "PGSSLMODE", value: "require" },
      // PGUSER/PGPASSWORD are read at run time from the secret SSM names (migrate.yml): a staging
      // refresh gives the database a new secret, so the ARN known at `pulumi up` would go stale.
    ];
    const deployVariables = (stack: "staging" | "prod"): ProjectVariable[] => [
      ...cli,
      { name: "FRIDAY_STACK", value: stack },
      { name: "DEPLOY_TIMEOUT_MINUTES", value: String(args.deployTimeoutMinutes) },
    ];
    const deployTimeout = args.deployTimeoutMinutes + 15;
    const infraProject = (stack: StackName) => ({
      buildspec: "infra-up" as const,
      computeType: "BUILD_GENERAL1_MEDIUM",
      // `pulumi up` builds the images the stack still builds itself (staging's ops image) with Docker.
      privileged: true,
      timeoutMinutes: 120,
      cacheModes: ["LOCAL_DOCKER_LAYER_CACHE", "LOCAL_SOURCE_CACHE"],
      variables: [...cli, ...this.pulumiVariables(args, stack), { name: "FRIDAY_PIPELINE_NAME", value: name }],
      managedPolicies: policyParts(infraScope, (s) => infraDeployPolicies(s, stack)),
      logGroupTags: stagingStepTags(stack),
    });

    return Object.fromEntries([
      project("test", "test", "unit tests and migration lint", {
        buildspec: "test",
        computeType: "BUILD_GENERAL1_LARGE",
        timeoutMinutes: 60,
        cacheModes: ["LOCAL_CUSTOM_CACHE", "LOCAL_SOURCE_CACHE"],
        variables: [...cli, { name: "TEST_COMMAND", value: args.testCommand }, { name: "LINT_COMMAND", value: args.lintCommand }],
      }, () => []),
      project("build", "build", "builds the image once and pushes it to ECR by commit SHA", {
        buildspec: "build",
        computeType: "BUILD_GENERAL1_LARGE",
        privileged: true,
        timeoutMinutes: 60,
        cacheModes: ["LOCAL_DOCKER_LAYER_CACHE", "LOCAL_SOURCE_CACHE"],
        variables: [
          { name: "ECR_REPOSITORY_URL", value: args.prod.ecrRepositoryUrl },
          { name: "DOCKER_CONTEXT", value: args.dockerContext },
          { name: "DOCKERFILE", value: args.dockerfile },
          { name: "DOCKER_PLATFORM", value: BUILD_ENVIRONMENTS[args.architecture].dockerPlatform },
        ],
      }, (_p, _stg, prd) => buildStatements(prd.ecrRepositoryArn), true),
      project("stagingInfra", "staging-infra", "pulumi up of the staging stack (after its preview)", infraProject("staging"), () => []),
      project("stagingMigrate", "staging-migrate", "expand migrations on staging (lock rehearsal first)", {
        buildspec: "migrate", timeoutMinutes: 60, vpc: inVpc(args.staging), variables: migrateVariables("staging", args.staging, true),
      }, (p, stg) => migrateStatements(p, stg)),
      project("stagingDeploy", "staging-deploy", "blue/green deploy of the built digest to staging", {
        buildspec: "deploy", timeoutMinutes: deployTimeout, variables: deployVariables("staging"),
      }, (p, stg) => deployStatements(p, stg)),
      project("stagingSmoke", "staging-smoke", "smoke tests against staging's service URL", {
        buildspec: "smoke", timeoutMinutes: 15, vpc: inVpc(args.staging), variables: [...cli, { name: "FRIDAY_STACK", value: "staging" }],
      }, (p, stg) => [...vpcStatements(p, stg), ...parameterStatements(p, stg)]),
      project("gate", "gate", "automatic checks before prod: staging deployed and its alarms OK", {
        buildspec: "gate", timeoutMinutes: 15, variables: [...cli, { name: "FRIDAY_STACK", value: "staging" }],
      }, (p, stg) => observeStatements(p, stg)),
      project("prodInfra", "prod-infra", "pulumi up of the prod stack, after staging and the gate; restarts the run if it changed the pipeline", infraProject("prod"),
        (p) => restartStatements(p, name)),
      project("prodMigrate", "prod-migrate", "expand migrations on prod", {
        buildspec: "migrate", timeoutMinutes: 60, vpc: inVpc(args.prod), variables: migrateVariables("prod", args.prod, false),
      }, (p, _stg, prd) => migrateStatements(p, prd)),
      project("prodDeploy", "prod-deploy", "blue/green deploy of the same digest to prod", {
        buildspec: "deploy", timeoutMinutes: deployTimeout, variables: deployVariables("prod"),
      }, (p, _stg, prd) => deployStatements(p, prd)),
    ]) as Record<ProjectKey, PipelineBuildProject>;
  }

  /** What the Pulumi CLI of a step needs to know: backend, secrets provider, stack, version. */
  private pulumiVariables(args: Settings, stack: StackName): ProjectVariable[] {
    const infra = args.infra;
    return [
      { name: "FRIDAY_STACK", value: stack },
      { name: "PULUMI_STACK", value: infra.stackNames[stack] },
      { name: "PULUMI_BACKEND_URL", value: infra.backendUrl },
      { name: "PULUMI_VERSION", value: infra.pulumiVersion },
      { name: "PULUMI_SKIP_UPDATE_CHECK", value: "true" },
      ...(infra.secretsProvider ? [{ name: "PULUMI_SECRETS_PROVIDER", value: infra.secretsProvider }] : []),
      // The token stays in Secrets Manager: CodeBuild resolves it into the build's environment, never into config or logs.
      ...(infra.accessTokenSecretArn ? [{ name: "PULUMI_ACCESS_TOKEN", value: infra.accessTokenSecretArn, type: "SECRETS_MANAGER" as const }] : []),
    ];
  }

  /**
   * Checks on every pull request: the app's tests and migration lint (on branch pushes too), and a
   * `pulumi preview` of each stack when the Pulumi program changed, by roles that cannot change a thing.
   */
  private createPullRequestChecks(name: string, args: Settings, scope: pulumi.Output<PipelineScope>, infraScope: pulumi.Output<InfraScope>): PullRequestChecks {
    const cli: ProjectVariable[] = [
      { name: "FRIDAY_CLI_BUCKET", value: this.artifacts.bucket.bucket },
      { name: "FRIDAY_CLI_KEY", value: this.artifacts.cliKey },
      { name: "FRIDAY_CLI_SHA256", value: this.artifacts.cliSha256 },
    ];
    const common = { architecture: args.architecture, artifactsKeyArn: this.artifacts.key.arn };
    const basePolicy = (projectName: string) => scope.apply((p) => document(baseStatements(p, projectName, { writesArtifacts: false })));
    const preview = (stack: StackName) => {
      const projectName = `${name}-pr-preview-${stack}`;
      return {
        ...common,
        projectName,
        statusContext: stack === "prod" ? PULL_REQUEST_CHECKS.previewProd : PULL_REQUEST_CHECKS.previewStaging,
        description: `pull requests: pulumi preview of the ${stack} stack (read-only role)`,
        buildspec: "infra-preview" as const,
        computeType: "BUILD_GENERAL1_MEDIUM",
        privileged: true,
        timeoutMinutes: 60,
        variables: [...cli, ...this.pulumiVariables(args, stack)],
        policy: basePolicy(projectName),
        managedPolicies: policyParts(infraScope, (s) => infraPreviewPolicies(s, stack)),
        logGroupTags: stagingStepTags(stack),
        filePaths: args.infra.paths,
      };
    };
    const testsName = `${name}-pr-tests`;
    return new PullRequestChecks(
      `${name}-pr`,
      {
        repository: args.repository,
        providerType: args.providerType,
        connectionArn: this.connectionArn,
        baseBranch: args.branch,
        forkApproval: args.pullRequests?.forkApproval ?? true,
        checks: [
          {
            ...common,
            projectName: testsName,
            statusContext: PULL_REQUEST_CHECKS.tests,
            description: "pull requests and branch pushes: unit tests and migration lint",
            buildspec: "test",
            computeType: "BUILD_GENERAL1_LARGE",
            timeoutMinutes: 60,
            cacheModes: ["LOCAL_CUSTOM_CACHE", "LOCAL_SOURCE_CACHE"],
            variables: [...cli, { name: "TEST_COMMAND", value: args.testCommand }, { name: "LINT_COMMAND", value: args.lintCommand }],
            policy: basePolicy(testsName),
            onBranchPushes: true,
          },
          preview("staging"),
          preview("prod"),
        ],
      },
      { parent: this },
    );
  }

  private createPipelineRole(
    name: string,
    args: Settings,
    scope: pulumi.Output<PipelineScope>,
    prod: pulumi.Output<StackScope>,
  ): aws.iam.Role {
    const role = new aws.iam.Role(
      `${name}-role`,
      {
        description: `CodePipeline ${name}: runs the steps; cannot deploy anything itself`,
        permissionsBoundary: permissionsBoundary(this),
        // CodePipeline's guide (cross-service confused deputy prevention): this pipeline only.
        assumeRolePolicy: serviceTrust(this, "codepipeline.amazonaws.com", (t) => `arn:${t.partition}:codepipeline:${t.region}:${t.account}:${name}`),
      },
      { parent: this },
    );
    const projectArns = pulumi.all(Object.values(this.projects).map((p) => p.projectArn));
    const policy = pulumi
      .all([scope, prod, this.connectionArn, projectArns, args.prod.notificationsTopicArn, args.prod.notificationsTopicKeyArn])
      .apply(([p, prd, connectionArn, arns, topicArn, topicKeyArn]) =>
        JSON.stringify(
          document(
            pipelineStatements(p, {
              connectionArn,
              projectArns: arns,
              approvalTopic: args.manualApproval ? { arn: topicArn, keyArn: topicKeyArn } : undefined,
              conditionAlarmArns: stackArns(p, prd).alarms,
            }),
          ),
        ),
      );
    new aws.iam.RolePolicy(`${name}-role-policy`, { role: role.id, policy }, { parent: this });
    return role;
  }

  private createPipeline(name: string, args: Settings): aws.codepipeline.Pipeline {
    const p = this.projects;
    const codeBuild = (
      actionName: string,
      project: PipelineBuildProject,
      runOrder: number,
      variables: Record<string, string>,
      extra: Partial<aws.types.input.codepipeline.PipelineStageAction> = {},
    ): aws.types.input.codepipeline.PipelineStageAction => ({
      name: actionName,
      category: "Build",
      owner: "AWS",
      provider: "CodeBuild",
      version: "1",
      runOrder,
      inputArtifacts: ["SourceArtifact"],
      configuration: {
        ProjectName: project.projectName,
        ...(Object.keys(variables).length
          ? { EnvironmentVariables: JSON.stringify(Object.entries(variables).map(([n, value]) => ({ name: n, value, type: "PLAINTEXT" }))) }
          : {}),
      },
      ...extra,
    });
    const alarmRules = (ruleName: string, waitMinutes?: number) =>
      pulumi.output(args.prod.rollbackAlarmNames).apply((names) => {
        const alarms = splitList(names);
        if (alarms.length > MAX_CONDITION_RULES) {
          throw new Error(`Pipeline "${name}": prod.rollbackAlarmNames names ${alarms.length} alarms; a stage condition holds at most ${MAX_CONDITION_RULES}. Use a composite alarm.`);
        }
        return alarms.map((alarm, i) => ({
          name: `${ruleName}${i + 1}`,
          ruleTypeId: { category: "Rule", owner: "AWS", provider: "CloudWatchAlarm", version: "1" },
          configuration: {
            AlarmName: alarm,
            AlarmStates: "ALARM",
            ...(waitMinutes !== undefined ? { WaitTime: String(waitMinutes) } : {}),
          },
        }));
      });

    const stages: aws.types.input.codepipeline.PipelineStage[] = [
      {
        name: "Source",
        actions: [
          {
            name: STAGES.Source[0],
            category: "Source",
            owner: "AWS",
            provider: "CodeStarSourceConnection",
            version: "1",
            namespace: NAMESPACES.source,
            outputArtifacts: ["SourceArtifact"],
            configuration: {
              ConnectionArn: this.connectionArn,
              FullRepositoryId: args.repository,
              BranchName: args.branch,
              OutputArtifactFormat: "CODE_ZIP",
              DetectChanges: "true",
            },
          },
        ],
      },
      { name: "Test", actions: [codeBuild(STAGES.Test[0], p.test, 1, {})] },
      {
        name: "Build",
        actions: [
          codeBuild(STAGES.Build[0], p.build, 1, { COMMIT_ID: COMMIT_ID_VARIABLE }, { namespace: NAMESPACES.build, outputArtifacts: ["ImageDetail"] }),
        ],
      },
      {
        // The stack first, with the image just built: the deploy below starts from the template it publishes.
        name: "StagingInfra",
        actions: [
          codeBuild(STAGES.StagingInfra[0], p.stagingInfra, 1, { IMAGE_URI: IMAGE_URI_VARIABLE, COMMIT_ID: COMMIT_ID_VARIABLE, PIPELINE_EXECUTION_ID: EXECUTION_ID_VARIABLE }, { inputArtifacts: ["SourceArtifact"] }),
        ],
      },
      {
        name: "Staging",
        actions: [
          codeBuild(STAGES.Staging[0], p.stagingMigrate, 1, { COMMIT_ID: COMMIT_ID_VARIABLE }),
          codeBuild(STAGES.Staging[1], p.stagingDeploy, 2, { IMAGE_URI: IMAGE_URI_VARIABLE }, { inputArtifacts: ["ImageDetail"] }),
          codeBuild(STAGES.Staging[2], p.stagingSmoke, 3, {}, { inputArtifacts: ["ImageDetail"] }),
        ],
      },
      {
        name: "Gate",
        actions: [
          codeBuild(STAGES.Gate[0], p.gate, 1, { IMAGE_URI: IMAGE_URI_VARIABLE }, { inputArtifacts: ["ImageDetail"] }),
          ...(args.manualApproval
            ? [
                {
                  name: STAGES.Gate[1],
                  category: "Approval",
                  owner: "AWS",
                  provider: "Manual",
                  version: "1",
                  runOrder: 2,
                  configuration: {
                    NotificationArn: args.prod.notificationsTopicArn,
                    CustomData: `Release ${COMMIT_ID_VARIABLE} (${IMAGE_URI_VARIABLE}) passed staging and the automatic gate. Approve to deploy it to prod.`,
                  },
                } as aws.types.input.codepipeline.PipelineStageAction,
              ]
            : []),
        ],
      },
      {
        // Prod's infrastructure only after staging's took the same commit and the gate passed. No stage
        // rollback here: a failed `pulumi up` fails the run loudly; going back is a revert through the pipeline.
        name: "ProdInfra",
        beforeEntry: { condition: { result: "FAIL", rules: alarmRules("ProdAlarmClearBeforeInfra") } },
        actions: [
          codeBuild(STAGES.ProdInfra[0], p.prodInfra, 1, { IMAGE_URI: IMAGE_URI_VARIABLE, COMMIT_ID: COMMIT_ID_VARIABLE, PIPELINE_EXECUTION_ID: EXECUTION_ID_VARIABLE }),
        ],
      },
      {
        name: "Prod",
        // Do not start a prod deploy while a prod rollback alarm is firing.
        beforeEntry: { condition: { result: "FAIL", rules: alarmRules("ProdAlarmClearBeforeEntry") } },
        actions: [
          codeBuild(STAGES.Prod[0], p.prodMigrate, 1, { COMMIT_ID: COMMIT_ID_VARIABLE }),
          codeBuild(STAGES.Prod[1], p.prodDeploy, 2, { IMAGE_URI: IMAGE_URI_VARIABLE }, { inputArtifacts: ["ImageDetail"] }),
        ],
        // After the deploy succeeded: a rollback alarm firing within the watch window rolls the stage back.
        onSuccess: { condition: { result: "ROLLBACK", rules: alarmRules("ProdAlarmAfterDeploy", args.alarmWatchMinutes) } },
        // A failed deploy (ECS rolled back, stopped, timed out) rolls the stage back to the last good run.
        onFailure: { result: "ROLLBACK" },
      },
    ];

    return new aws.codepipeline.Pipeline(
      `${name}-pipeline`,
      {
        name,
        pipelineType: "V2",
        executionMode: "QUEUED",
        roleArn: this.pipelineRole.arn,
        artifactStores: [{ type: "S3", location: this.artifacts.bucket.bucket, encryptionKey: { type: "KMS", id: this.artifacts.key.arn } }],
        triggers: [
          {
            providerType: "CodeStarSourceConnection",
            gitConfiguration: {
              sourceActionName: STAGES.Source[0],
              pushes: [
                {
                  branches: { includes: [args.branch] },
                  ...(args.filePaths ? { filePaths: { includes: args.filePaths } } : {}),
                },
              ],
            },
          },
        ],
        stages,
      },
      { parent: this },
    );
  }

  /**
   * Images live in the prod stack's repository only (built once, pushed once); staging runs the same
   * digests, so staging's task execution role may pull — read-only — from it.
   */
  private createReleasePullGrant(name: string, repositoryUrl: pulumi.Input<string>, stagingExecutionRoleArn: pulumi.Input<string>): void {
    new aws.ecr.RepositoryPolicy(
      `${name}-release-pull`,
      {
        repository: pulumi.output(repositoryUrl).apply((url) => url.slice(url.indexOf("/") + 1)),
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "StagingPullsReleases",
              Effect: "Allow",
              Principal: { AWS: stagingExecutionRoleArn },
              Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            },
          ],
        }),
      },
      { parent: this },
    );
  }

  /** Failures, rollbacks and approvals go to the prod notifications topic (EventBridge → SNS). */
  private createNotifications(name: string, topicArn: pulumi.Input<string>): void {
    const pipelineName = this.pipeline.name;
    const rules: Record<string, { description: string; detailType: string; detail: Record<string, unknown>; message: string; paths: Record<string, string> }> = {
      failed: {
        description: "a pipeline run failed",
        detailType: "CodePipeline Pipeline Execution State Change",
        detail: { state: ["FAILED"] },
        message: "friday pipeline <pipeline>: run <execution> FAILED. See the CodePipeline console for the failed stage.",
        paths: { pipeline: "$.detail.pipeline", execution: "$.detail.execution-id" },
      },
      rollback: {
        description: "a stage rollback started (alarm, failed deploy, or by hand)",
        detailType: "CodePipeline Pipeline Execution State Change",
        detail: { state: ["STARTED", "SUCCEEDED", "FAILED"], "execution-trigger": { "trigger-type": ["AutomatedRollback", "ManualRollback"] } },
        message: "friday pipeline <pipeline>: rollback run <execution> is <state>.",
        paths: { pipeline: "$.detail.pipeline", execution: "$.detail.execution-id", state: "$.detail.state" },
      },
      approval: {
        description: "a prod release waits for (or got) manual approval",
        detailType: "CodePipeline Action Execution State Change",
        detail: { type: { category: ["Approval"] }, state: ["STARTED", "SUCCEEDED", "FAILED"] },
        message: "friday pipeline <pipeline>: approval for run <execution> is <state> (STARTED = waiting for you).",
        paths: { pipeline: "$.detail.pipeline", execution: "$.detail.execution-id", state: "$.detail.state" },
      },
    };
    for (const [key, rule] of Object.entries(rules)) {
      const eventRule = new aws.cloudwatch.EventRule(
        `${name}-notify-${key}`,
        {
          description: `friday pipeline ${name}: ${rule.description}`,
          eventPattern: pipelineName.apply((pipeline) =>
            JSON.stringify({ source: ["aws.codepipeline"], "detail-type": [rule.detailType], detail: { pipeline: [pipeline], ...rule.detail } }),
          ),
        },
        { parent: this },
      );
      new aws.cloudwatch.EventTarget(
        `${name}-notify-${key}`,
        {
          rule: eventRule.name,
          arn: topicArn,
          inputTransformer: { inputPaths: rule.paths, inputTemplate: JSON.stringify(rule.message) },
        },
        { parent: this },
      );
    }
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The staging steps' log groups are exempt from staging's deny of prod-tagged resources (STAGING_STEPS_TAG). */
function stagingStepTags(stack: StackName): Record<string, string> | undefined {
  return stack === "staging" ? STAGING_STEPS_TAGS : undefined;
}

/** A fixed number of policy documents out of one Output (a role's attachments must be known while building). */
function policyParts(scope: pulumi.Output<InfraScope>, documents: (s: InfraScope) => PolicyDocument[]): pulumi.Output<PolicyDocument>[] {
  // How many parts there are depends only on the stack, not on resolved values: count them with placeholders.
  const count = documents(PLACEHOLDER_SCOPE).length;
  return Array.from({ length: count }, (_, i) => scope.apply((s) => documents(s)[i]));
}

const PLACEHOLDER_SCOPE: InfraScope = {
  account: "000000000000",
  partition: "aws",
  region: "us-east-1",
  project: "friday",
  backend: { kind: "s3", bucket: "placeholder", prefix: "", keyAlias: "alias/placeholder" },
};

/** The prod infra step may restart the run (same commit) and stop this one when its `pulumi up` changed the pipeline itself. */
function restartStatements(p: PipelineScope, pipelineName: string): Statement[] {
  return [
    {
      Sid: "RestartAfterPipelineChange",
      Effect: "Allow",
      Action: ["codepipeline:GetPipeline", "codepipeline:StartPipelineExecution", "codepipeline:StopPipelineExecution"],
      Resource: [`arn:${p.partition}:codepipeline:${p.region}:${p.account}:${pipelineName}`],
    },
  ];
}
