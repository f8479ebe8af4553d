import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StagingRefreshSettings } from "../infra/config";
import { PARITY } from "../infra/parity";
import { databaseIdentifier, parameterPrefix, refreshPath, refreshResourcePrefix, refreshTaskFamily, stackName, stackResourcePrefix } from "../infra/naming";
import { REFRESH_ROLE_TAG, REFRESH_SCRUB_TAG, refreshLockParameterName, refreshParameterName } from "../infra/refresh-parameters";
import { parameterName } from "../infra/stack-parameters";
import { ecsTasksSourceArn, permissionsBoundary, serviceTrust } from "./service-trust";

export interface StagingRefreshArgs {
  /** The stack whose database the job replaces; only "staging". */
  readonly stack: string;
  /** The stack whose database is copied (read only: snapshots). @default "prod" */
  readonly sourceStack?: string;
  /** The source database's instance identifier. @default "friday-<sourceStack>-db" */
  readonly sourceDatabaseIdentifier?: string;
  /** The refreshed database's instance identifier. @default "friday-<stack>-db" */
  readonly databaseIdentifier?: string;
  /** Image holding the friday CLI; the task runs `<entryPoint> staging refresh --stack <stack>`. */
  readonly image: pulumi.Input<string>;
  /** ECR repository the image comes from: the only one the job may pull from. */
  readonly imageRepositoryArn: pulumi.Input<string>;
  /** Entry point that runs the friday CLI in the image. @default the image's own */
  readonly entryPoint?: string[];
  /** The VPC the job and the isolated instance live in. */
  readonly vpcId: pulumi.Input<string>;
  /** Private subnets the job's task runs in. */
  readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** ECS cluster the scheduled task runs on (`friday-<stack>`). */
  readonly clusterArn: pulumi.Input<string>;
  /** The stack's app service: after the swap the job rolls it onto the new database secret and reads its health. */
  readonly serviceArn: pulumi.Input<string>;
  /** The app's task-definition family: the job registers the revision that rolls the service onto the new secret there, and nowhere else. @default "friday-<stack>-app" */
  readonly appTaskDefinitionFamily?: pulumi.Input<string>;
  /** The app's task role: the revision the job registers runs as it (iam:PassRole on exactly this role). */
  readonly taskRoleArn: pulumi.Input<string>;
  /** The app's task execution role (reads the database secret): iam:PassRole on exactly this role. */
  readonly taskExecutionRoleArn: pulumi.Input<string>;
  /** Security group of the refreshed database: the job gets a rule into it (to prewarm). */
  readonly databaseSecurityGroupId: pulumi.Input<string>;
  /** DB subnet group of the refreshed database (restores go there). */
  readonly databaseSubnetGroupName: pulumi.Input<string>;
  /** DB parameter group of the refreshed database (restores use it). */
  readonly databaseParameterGroupName: pulumi.Input<string>;
  /** KMS key of the databases' storage, when a customer-managed key (not aws/rds). @default none */
  readonly databaseKmsKeyArn?: pulumi.Input<string>;
  /** SNS topic told about failed runs (by the job and by the alarm). */
  readonly notificationsTopicArn: pulumi.Input<string>;
  /** The topic's KMS key: publishing to an encrypted topic needs the key. @default none (unencrypted topic) */
  readonly notificationsTopicKeyArn?: pulumi.Input<string>;
  /** The `friday:stagingRefresh` settings: schedule, retention, concurrency, enabled. */
  readonly settings: StagingRefreshSettings;
  /** Fargate CPU units of the job. @default 1024 */
  readonly cpu?: number;
  /** Fargate memory of the job (MiB). @default 2048 */
  readonly memory?: number;
  /** CPU architecture of the image. @default PARITY.service.cpuArchitecture */
  readonly cpuArchitecture?: "ARM64" | "X86_64";
  /** Days the job's logs are kept. @default 30 */
  readonly logRetentionDays?: number;
  /** Tags for every resource. @default {} */
  readonly tags?: Record<string, string>;
}

/** The stacks and database identifiers the refresh works on, with their defaults filled in. */
function databaseNames(args: StagingRefreshArgs): { sourceStack: string; source: string; target: string } {
  const sourceStack = args.sourceStack ?? "prod";
  return { sourceStack, source: args.sourceDatabaseIdentifier ?? databaseIdentifier(sourceStack), target: args.databaseIdentifier ?? databaseIdentifier(args.stack) };
}

/** Throws one error naming the component, the field, the bad value and the fix. */
export function validateStagingRefreshArgs(name: string, args: StagingRefreshArgs): void {
  const fail = (field: string, got: unknown, fix: string) => {
    throw new Error(`StagingRefresh "${name}": ${field} ${fix} (got ${JSON.stringify(got)}).`);
  };
  const { sourceStack, source, target } = databaseNames(args);
  if (args.stack !== "staging") fail("stack", args.stack, 'must be "staging": the refresh only ever replaces staging\'s database');
  if (sourceStack === args.stack) fail("sourceStack", sourceStack, "must differ from stack");
  if (!target.startsWith(stackResourcePrefix(args.stack))) fail("databaseIdentifier", target, `must start with "${stackResourcePrefix(args.stack)}" (the job's IAM is scoped to that prefix)`);
  if (source.startsWith(stackResourcePrefix(args.stack))) fail("sourceDatabaseIdentifier", source, `must not start with "${stackResourcePrefix(args.stack)}": the job may modify and delete everything named so`);
  const cpu = args.cpu ?? 1024;
  const memory = args.memory ?? 2048;
  if (![256, 512, 1024, 2048, 4096].includes(cpu)) fail("cpu", cpu, "must be a Fargate size: 256, 512, 1024, 2048 or 4096");
  if (!Number.isInteger(memory) || memory < cpu * 2 || memory > cpu * 8) fail("memory", memory, `must be between ${cpu * 2} and ${cpu * 8} MiB for cpu ${cpu}`);
  if (!/^cron\((\S+ ){5}\S+\)$/.test(args.settings.schedule)) fail("settings.schedule", args.settings.schedule, 'must be a six-field cron expression like "cron(0 4 ? * SUN *)"');
}

/**
 * The scheduled staging refresh: an ECS task running `friday staging refresh --stack staging` on an
 * EventBridge Scheduler cron, with a least-privilege role (prod: create snapshots, nothing else),
 * an isolated security group for the unscrubbed temporary instance (reachable only from the job),
 * the scrub key in Secrets Manager, and an alarm on failed runs → the notifications topic.
 */
export class StagingRefresh extends pulumi.ComponentResource {
  /** Security group of the job's task. */
  public readonly jobSecurityGroup: aws.ec2.SecurityGroup;
  /** Security group of the temporary, unscrubbed instance: ingress only from the job. */
  public readonly isolatedSecurityGroup: aws.ec2.SecurityGroup;
  /** The scrub HMAC key (its value is created by the job's first run and never leaves AWS). */
  public readonly scrubKeySecret: aws.secretsmanager.Secret;
  public readonly taskRole: aws.iam.Role;
  public readonly executionRole: aws.iam.Role;
  public readonly taskDefinition: aws.ecs.TaskDefinition;
  public readonly schedule: aws.scheduler.Schedule;
  public readonly failureAlarm: aws.cloudwatch.MetricAlarm;
  /** Notifies when the job's task stops without exiting 0 — killed, out of memory, or never started. */
  public readonly taskStoppedRule: aws.cloudwatch.EventRule;
  public readonly logGroup: aws.cloudwatch.LogGroup;

  private readonly names: { prefix: string; source: string; target: string; sourceStack: string; family: string };

  constructor(name: string, args: StagingRefreshArgs, opts?: pulumi.ComponentResourceOptions) {
    super("friday:data:StagingRefresh", name, {}, opts);
    validateStagingRefreshArgs(name, args);
    this.names = { ...databaseNames(args), prefix: refreshTaskFamily(args.stack), family: refreshTaskFamily(args.stack) };
    const tags = { ...(args.tags ?? {}), "friday:stack": args.stack, "friday:component": "staging-refresh" };

    this.logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, { name: refreshPath(args.stack), retentionInDays: args.logRetentionDays ?? 30, tags }, { parent: this });
    this.scrubKeySecret = this.createScrubKeySecret(name, args, tags);
    [this.jobSecurityGroup, this.isolatedSecurityGroup] = this.createSecurityGroups(name, args, tags);
    this.executionRole = this.createExecutionRole(name, args, tags);
    this.taskRole = this.createTaskRole(name, args, tags);
    this.taskDefinition = this.createTaskDefinition(name, args, tags);
    this.schedule = this.createSchedule(name, args);
    this.publishParameters(name, args, tags);
    this.failureAlarm = this.createFailureAlarm(name, args, tags);
    this.taskStoppedRule = this.notifyAbnormalStops(name, args, tags);

    this.registerOutputs({
      taskDefinitionArn: this.taskDefinition.arn,
      scheduleArn: this.schedule.arn,
      jobSecurityGroupId: this.jobSecurityGroup.id,
      isolatedSecurityGroupId: this.isolatedSecurityGroup.id,
      scrubKeySecretArn: this.scrubKeySecret.arn,
      failureAlarmArn: this.failureAlarm.arn,
      taskStoppedRuleArn: this.taskStoppedRule.arn,
    });
  }

  /** The secret exists without a value: the job's first run puts a random key in it (no key in state or config). */
  private createScrubKeySecret(name: string, args: StagingRefreshArgs, tags: Record<string, string>): aws.secretsmanager.Secret {
    return new aws.secretsmanager.Secret(
      `${name}-scrub-key`,
      {
        name: `friday/${args.stack}/staging-refresh/scrub-key`,
        description: "HMAC key of the staging scrub (deterministic pseudonyms). Created by the refresh job's first run; never in the repo or config.",
        recoveryWindowInDays: 30,
        tags,
      },
      { parent: this },
    );
  }

  private createSecurityGroups(name: string, args: StagingRefreshArgs, tags: Record<string, string>): [aws.ec2.SecurityGroup, aws.ec2.SecurityGroup] {
    const port = PARITY.database.port;
    const job = new aws.ec2.SecurityGroup(
      `${name}-job-sg`,
      { vpcId: args.vpcId, description: `friday ${args.stack} staging refresh job: no ingress; egress to AWS APIs and the databases it works on`, tags: { ...tags, Name: `${this.names.prefix}-job` } },
      { parent: this },
    );
    const isolated = new aws.ec2.SecurityGroup(
      `${name}-isolated-sg`,
      { vpcId: args.vpcId, description: `friday ${args.stack} staging refresh: the unscrubbed temporary instance, reachable only from the refresh job`, tags: { ...tags, Name: `${this.names.prefix}-isolated` } },
      { parent: this },
    );
    new aws.vpc.SecurityGroupIngressRule(`${name}-isolated-from-job`, { securityGroupId: isolated.id, referencedSecurityGroupId: job.id, ipProtocol: "tcp", fromPort: port, toPort: port, description: "PostgreSQL from the refresh job only", tags }, { parent: this });
    new aws.vpc.SecurityGroupEgressRule(`${name}-job-to-isolated`, { securityGroupId: job.id, referencedSecurityGroupId: isolated.id, ipProtocol: "tcp", fromPort: port, toPort: port, description: "PostgreSQL to the isolated instance", tags }, { parent: this });
    new aws.vpc.SecurityGroupEgressRule(`${name}-job-to-database`, { securityGroupId: job.id, referencedSecurityGroupId: args.databaseSecurityGroupId, ipProtocol: "tcp", fromPort: port, toPort: port, description: "PostgreSQL to the staging database (prewarm)", tags }, { parent: this });
    new aws.vpc.SecurityGroupEgressRule(`${name}-job-to-aws`, { securityGroupId: job.id, cidrIpv4: "0.0.0.0/0", ipProtocol: "tcp", fromPort: 443, toPort: 443, description: "HTTPS to AWS APIs (RDS, SSM, Secrets Manager, SNS, ECS, ELB, ECR, logs)", tags }, { parent: this });
    new aws.vpc.SecurityGroupIngressRule(`${name}-database-from-job`, { securityGroupId: args.databaseSecurityGroupId, referencedSecurityGroupId: job.id, ipProtocol: "tcp", fromPort: port, toPort: port, description: "PostgreSQL from the staging refresh job (prewarm)", tags }, { parent: this });
    return [job, isolated];
  }

  private createExecutionRole(name: string, args: StagingRefreshArgs, tags: Record<string, string>): aws.iam.Role {
    const role = new aws.iam.Role(`${name}-execution-role`, { assumeRolePolicy: serviceTrust(this, "ecs-tasks.amazonaws.com", ecsTasksSourceArn), permissionsBoundary: permissionsBoundary(this), description: "ECS pulls the staging refresh image and writes its logs", tags }, { parent: this });
    new aws.iam.RolePolicy(
      `${name}-execution-policy`,
      {
        role: role.id,
        policy: pulumi.all([args.imageRepositoryArn, this.logGroup.arn]).apply(([repositoryArn, logGroupArn]) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              // GetAuthorizationToken has no resource-level permissions.
              { Sid: "EcrLogin", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
              { Sid: "PullImage", Effect: "Allow", Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"], Resource: repositoryArn },
              { Sid: "WriteLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logGroupArn}:*` },
            ],
          }),
        ),
      },
      { parent: this },
    );
    return role;
  }

  /**
   * The job's role. Prod: CreateDBSnapshot into a snapshot named with the refresh prefix — nothing
   * else (and an explicit deny on every change to prod's instance). Everything it restores, modifies,
   * renames or deletes is named `friday-<stack>-…`. Secrets: reads the scrub key only (an explicit
   * deny on reading any other secret); lets RDS create the replacement's managed secret. After the
   * swap: writes staging's db-secret-arn parameter and rolls staging's service onto the new secret.
   */
  private createTaskRole(name: string, args: StagingRefreshArgs, tags: Record<string, string>): aws.iam.Role {
    const role = new aws.iam.Role(`${name}-task-role`, { assumeRolePolicy: serviceTrust(this, "ecs-tasks.amazonaws.com", ecsTasksSourceArn), permissionsBoundary: permissionsBoundary(this), description: `friday ${args.stack} staging refresh job: snapshot ${this.names.source} (read), restore/scrub/swap ${stackResourcePrefix(args.stack)}*`, tags }, { parent: this });
    const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
    const region = aws.getRegionOutput({}, { parent: this }).region;
    const partition = aws.getPartitionOutput({}, { parent: this }).partition;
    new aws.iam.RolePolicy(
      `${name}-task-policy`,
      {
        role: role.id,
        policy: pulumi
          .all([account, region, partition, args.databaseSubnetGroupName, args.databaseParameterGroupName, this.scrubKeySecret.arn, args.taskRoleArn, args.taskExecutionRoleArn, args.notificationsTopicArn, args.serviceArn, args.clusterArn, args.databaseKmsKeyArn ?? "", args.notificationsTopicKeyArn ?? "", args.appTaskDefinitionFamily ?? `${stackName(args.stack)}-app`])
          .apply(([accountId, regionName, part, subnetGroup, parameterGroup, keySecretArn, appTaskRoleArn, appExecutionRoleArn, topicArn, serviceArn, clusterArn, kmsKeyArn, topicKeyArn, appTaskFamily]) =>
            JSON.stringify(
              stagingRefreshPolicy({
                rdsArn: (kind: string, id: string) => `arn:${part}:rds:${regionName}:${accountId}:${kind}:${id}`,
                ssmParameterArn: (path: string) => `arn:${part}:ssm:${regionName}:${accountId}:parameter${path}`,
                stack: args.stack,
                sourceStack: this.names.sourceStack,
                sourceIdentifier: this.names.source,
                appTaskFamily,
                subnetGroup,
                parameterGroup,
                keySecretArn,
                appTaskRoleArn,
                appExecutionRoleArn,
                topicArn,
                serviceArn,
                clusterArn,
                kmsKeyArn: kmsKeyArn || undefined,
                topicKeyArn: topicKeyArn || undefined,
                region: regionName,
                account: accountId,
                partition: part,
              }),
            ),
          ),
      },
      { parent: this },
    );
    return role;
  }

  private createTaskDefinition(name: string, args: StagingRefreshArgs, tags: Record<string, string>): aws.ecs.TaskDefinition {
    const region = aws.getRegionOutput({}, { parent: this }).region;
    return new aws.ecs.TaskDefinition(
      `${name}-task`,
      {
        family: this.names.family,
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: String(args.cpu ?? 1024),
        memory: String(args.memory ?? 2048),
        runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: args.cpuArchitecture ?? PARITY.service.cpuArchitecture },
        executionRoleArn: this.executionRole.arn,
        taskRoleArn: this.taskRole.arn,
        containerDefinitions: pulumi.all([args.image, this.logGroup.name, region]).apply(([image, logGroup, regionName]) =>
          JSON.stringify([
            {
              name: "staging-refresh",
              image,
              essential: true,
              ...(args.entryPoint ? { entryPoint: args.entryPoint } : {}),
              command: ["staging", "refresh", "--stack", args.stack, "--region", regionName],
              environment: [{ name: "NODE_ENV", value: "production" }],
              logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": logGroup, "awslogs-region": regionName, "awslogs-stream-prefix": "refresh" } },
            },
          ]),
        ),
        tags,
      },
      { parent: this },
    );
  }

  private createSchedule(name: string, args: StagingRefreshArgs): aws.scheduler.Schedule {
    const role = new aws.iam.Role(
      `${name}-scheduler-role`,
      {
        // EventBridge Scheduler's guide: the schedule group its schedules run in (the default group).
        assumeRolePolicy: serviceTrust(this, "scheduler.amazonaws.com", (t) => `arn:${t.partition}:scheduler:${t.region}:${t.account}:schedule-group/default`),
        permissionsBoundary: permissionsBoundary(this),
        description: "EventBridge Scheduler starts the staging refresh task",
        tags: args.tags,
      },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-scheduler-policy`,
      {
        role: role.id,
        policy: pulumi.all([this.taskDefinition.arnWithoutRevision, args.clusterArn, this.taskRole.arn, this.executionRole.arn]).apply(([taskDefinition, clusterArn, taskRoleArn, executionRoleArn]) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              { Sid: "RunRefreshTask", Effect: "Allow", Action: ["ecs:RunTask"], Resource: [`${taskDefinition}:*`], Condition: { ArnEquals: { "ecs:cluster": clusterArn } } },
              { Sid: "PassRefreshRoles", Effect: "Allow", Action: ["iam:PassRole"], Resource: [taskRoleArn, executionRoleArn], Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } } },
            ],
          }),
        ),
      },
      { parent: this },
    );
    return new aws.scheduler.Schedule(
      `${name}-schedule`,
      {
        name: this.names.prefix,
        description: `friday: refresh ${this.names.target} from a scrubbed snapshot of ${this.names.source}`,
        scheduleExpression: args.settings.schedule,
        scheduleExpressionTimezone: args.settings.timezone,
        state: args.settings.enabled ? "ENABLED" : "DISABLED",
        flexibleTimeWindow: { mode: "OFF" },
        target: {
          arn: args.clusterArn,
          roleArn: role.arn,
          // A failed run cleans up and alarms; the next scheduled (or a manual) run resumes.
          retryPolicy: { maximumRetryAttempts: 0 },
          ecsParameters: {
            taskDefinitionArn: this.taskDefinition.arn,
            launchType: "FARGATE",
            taskCount: 1,
            networkConfiguration: { subnets: args.subnetIds, securityGroups: [this.jobSecurityGroup.id], assignPublicIp: false },
          },
        },
      },
      { parent: this },
    );
  }

  /** What the job reads at start (besides the stacks' own parameters). */
  private publishParameters(name: string, args: StagingRefreshArgs, tags: Record<string, string>): void {
    const values: Array<[string, Parameters<typeof refreshParameterName>[1], pulumi.Input<string>]> = [
      ["isolated-sg", "isolatedSecurityGroupId", this.isolatedSecurityGroup.id],
      ["scrub-key", "scrubKeySecretArn", this.scrubKeySecret.arn],
      ["retention", "retentionHours", String(args.settings.retentionHours)],
      ["concurrency", "scrubConcurrency", String(args.settings.scrubConcurrency)],
    ];
    for (const [suffix, key, value] of values) {
      new aws.ssm.Parameter(`${name}-param-${suffix}`, { name: refreshParameterName(args.stack, key), type: "String", value, tags }, { parent: this });
    }
  }

  /** The job prints "STAGING REFRESH FAILED" on every failure; the alarm counts those lines. */
  private createFailureAlarm(name: string, args: StagingRefreshArgs, tags: Record<string, string>): aws.cloudwatch.MetricAlarm {
    const metricName = "StagingRefreshFailures";
    const namespace = `friday/${args.stack}`;
    new aws.cloudwatch.LogMetricFilter(
      `${name}-failures`,
      { logGroupName: this.logGroup.name, name: `${this.names.prefix}-failures`, pattern: '"STAGING REFRESH FAILED"', metricTransformation: { name: metricName, namespace, value: "1", defaultValue: "0", unit: "Count" } },
      { parent: this },
    );
    return new aws.cloudwatch.MetricAlarm(
      `${name}-failed-alarm`,
      {
        name: `${this.names.prefix}-failed`,
        alarmDescription: `The staging refresh failed (staging kept its database; the job cleaned up). Runbook: docs/runbooks/staging-refresh.md`,
        namespace,
        metricName,
        statistic: "Sum",
        period: 300,
        evaluationPeriods: 1,
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        treatMissingData: "notBreaching",
        alarmActions: [args.notificationsTopicArn],
        tags,
      },
      { parent: this },
    );
  }

  /**
   * The alarm above counts the line the job prints when it fails; a task that never starts (image
   * pull, capacity, role) or is killed mid-run (out of memory) prints nothing. ECS reports every
   * stop to EventBridge: a stop that is not a clean exit 0 of the job notifies the topic.
   */
  private notifyAbnormalStops(name: string, args: StagingRefreshArgs, tags: Record<string, string>): aws.cloudwatch.EventRule {
    const rule = new aws.cloudwatch.EventRule(
      `${name}-task-stopped`,
      {
        name: `${this.names.prefix}-task-stopped`,
        description: `friday: the ${this.names.target} refresh task stopped without finishing (killed, out of memory or never started)`,
        eventPattern: pulumi.output(args.clusterArn).apply((clusterArn) => JSON.stringify(abnormalStopPattern(clusterArn, this.names.family))),
        tags,
      },
      { parent: this },
    );
    new aws.cloudwatch.EventTarget(
      `${name}-task-stopped`,
      {
        rule: rule.name,
        arn: args.notificationsTopicArn,
        inputTransformer: {
          inputPaths: { task: "$.detail.taskArn", stopCode: "$.detail.stopCode", reason: "$.detail.stoppedReason" },
          inputTemplate: JSON.stringify(
            `STAGING REFRESH TASK STOPPED: <task> (<stopCode>: <reason>). Staging keeps serving its database unless a swap was under way; rerun \`friday staging refresh --stack ${args.stack}\` to resume or clean up. Runbook: docs/runbooks/staging-refresh.md`,
          ),
        },
      },
      { parent: this },
    );
    return rule;
  }
}

/**
 * ECS "Task State Change" events of the job's family that end it abnormally: it never started, the
 * platform stopped it, or a container exited non-zero (out of memory is exit 137). A clean run exits 0.
 */
export function abnormalStopPattern(clusterArn: string, family: string): object {
  return {
    source: ["aws.ecs"],
    "detail-type": ["ECS Task State Change"],
    detail: {
      clusterArn: [clusterArn],
      group: [`family:${family}`],
      lastStatus: ["STOPPED"],
      $or: [{ stopCode: ["TaskFailedToStart", "SpotInterruption", "TerminationNotice"] }, { containers: { exitCode: [{ "anything-but": 0 }] } }],
    },
  };
}


/** Inputs of the job's policy, resolved. */
export interface StagingRefreshPolicyInputs {
  readonly rdsArn: (kind: "db" | "snapshot" | "subgrp" | "pg" | "og" | string, id: string) => string;
  readonly ssmParameterArn: (path: string) => string;
  readonly stack: string;
  readonly sourceStack: string;
  readonly sourceIdentifier: string;
  /** The app's task-definition family: the only one the job registers revisions in. */
  readonly appTaskFamily: string;
  readonly subnetGroup: string;
  readonly parameterGroup: string;
  readonly keySecretArn: string;
  /** The app's task and execution roles: the only roles the job may pass (in the revision it registers). */
  readonly appTaskRoleArn: string;
  readonly appExecutionRoleArn: string;
  readonly topicArn: string;
  readonly serviceArn: string;
  readonly clusterArn: string;
  readonly kmsKeyArn?: string;
  /** KMS key of the notifications topic, when it is encrypted with a customer-managed key. */
  readonly topicKeyArn?: string;
  readonly region: string;
  readonly account: string;
  readonly partition: string;
}

/** The refresh job's IAM policy document (a pure function, so tests read it directly too). */
export function stagingRefreshPolicy(p: StagingRefreshPolicyInputs): { Version: string; Statement: Array<Record<string, unknown>> } {
  const own = stackResourcePrefix(p.stack); // "friday-staging-"
  const temporaries = refreshResourcePrefix(p.stack); // "friday-staging-refresh-"
  const ownInstances = p.rdsArn("db", `${own}*`);
  const ownSnapshots = p.rdsArn("snapshot", `${temporaries}*`);
  const sourceInstance = p.rdsArn("db", p.sourceIdentifier);
  // What one run makes (names from runResourceNames in scripts/staging/refresh.ts; the run tags each
  // with friday:refresh-role = the value after the name).
  const sourceSnapshots = p.rdsArn("snapshot", `${temporaries}*-source`); // prod's data, unscrubbed: "source-snapshot"
  const isolatedInstances = p.rdsArn("db", `${temporaries}*-isolated`); // restored from it, in the isolated SG: "isolated"
  const scrubbedSnapshots = p.rdsArn("snapshot", `${temporaries}*-scrubbed`); // of the isolated instance once verified: "scrubbed-snapshot"
  const replacements = p.rdsArn("db", `${temporaries}*-new`); // restored from that, swapped in: "replacement"
  const roleTag = `aws:RequestTag/${REFRESH_ROLE_TAG}`;
  /** Denies `actions` on `resources` unless the request tags what it makes with friday:refresh-role=`role`. */
  const onlyAs = (sid: string, actions: string[], resources: string[], role: string) => ({ Sid: sid, Effect: "Deny", Action: actions, Resource: resources, Condition: { StringNotEquals: { [roleTag]: role } } });
  const groups = [p.rdsArn("subgrp", p.subnetGroup), p.rdsArn("pg", p.parameterGroup), p.rdsArn("pg", `default.${PARITY.database.engine}*`), p.rdsArn("og", `default:${PARITY.database.engine}-*`)];
  const statements: Array<Record<string, unknown>> = [
    // Two snapshots per run and no others: prod's instance into "-source", the verified isolated
    // instance into "-scrubbed". The denies below pair them (a request carries one role tag, so
    // prod's data can never be snapshotted under the "-scrubbed" name the replacement restores from).
    { Sid: "SnapshotSourceAndScrubbedCopy", Effect: "Allow", Action: ["rds:CreateDBSnapshot"], Resource: [sourceInstance, sourceSnapshots, isolatedInstances, scrubbedSnapshots] },
    onlyAs("SourceSnapshotOnlyAsSource", ["rds:CreateDBSnapshot"], [sourceInstance, sourceSnapshots], "source-snapshot"),
    onlyAs("IsolatedSnapshotOnlyAsScrubbed", ["rds:CreateDBSnapshot"], [isolatedInstances, scrubbedSnapshots], "scrubbed-snapshot"),
    // The isolated copy holds prod's data until the scrub is verified: no snapshot of it before then.
    { Sid: "NoSnapshotOfUnverifiedCopy", Effect: "Deny", Action: ["rds:CreateDBSnapshot"], Resource: [isolatedInstances], Condition: { StringNotEquals: { [`aws:ResourceTag/${REFRESH_SCRUB_TAG}`]: "verified" } } },
    { Sid: "DescribeDatabases", Effect: "Allow", Action: ["rds:DescribeDBInstances", "rds:DescribeDBSnapshots"], Resource: [p.rdsArn("db", "*"), p.rdsArn("snapshot", "*")] },
    // Restores go only into the run's two instances, and pair up like the snapshots: the unscrubbed
    // "-source" only into the isolated instance, "-scrubbed" only into the replacement (whose secret
    // the app may read). Never into staging's own name.
    // default.postgres<major>: a snapshot of prod on an older major than staging restores without
    // staging's group (another family), so RDS gives it the default one until the upgrade.
    { Sid: "RestoreRunInstances", Effect: "Allow", Action: ["rds:RestoreDBInstanceFromDBSnapshot"], Resource: [isolatedInstances, replacements, sourceSnapshots, scrubbedSnapshots, ...groups] },
    onlyAs("UnscrubbedRestoresOnlyIsolated", ["rds:RestoreDBInstanceFromDBSnapshot"], [sourceSnapshots, isolatedInstances], "isolated"),
    onlyAs("ReplacementOnlyFromScrubbed", ["rds:RestoreDBInstanceFromDBSnapshot"], [scrubbedSnapshots, replacements], "replacement"),
    { Sid: "ModifyOwnDatabases", Effect: "Allow", Action: ["rds:ModifyDBInstance"], Resource: [ownInstances, ...groups] },
    {
      Sid: "TagAndDeleteOwnDatabases",
      Effect: "Allow",
      Action: ["rds:DeleteDBInstance", "rds:DeleteDBSnapshot", "rds:AddTagsToResource", "rds:RemoveTagsFromResource"],
      Resource: [ownInstances, ownSnapshots],
    },
    {
      Sid: "NeverChangeTheSource",
      Effect: "Deny",
      Action: [
        "rds:ModifyDBInstance",
        "rds:DeleteDBInstance",
        "rds:RebootDBInstance",
        "rds:StopDBInstance",
        "rds:StartDBInstance",
        "rds:AddTagsToResource",
        "rds:RemoveTagsFromResource",
        "rds:PromoteReadReplica",
        "rds:CreateDBInstanceReadReplica",
        "rds:RestoreDBInstanceToPointInTime",
        "rds:StartExportTask",
        "rds:ModifyDBSnapshotAttribute",
        "rds:CopyDBSnapshot",
      ],
      Resource: [sourceInstance],
    },
    // Sharing, copying and exporting take snapshot ARNs: the copies of prod's unscrubbed data (the
    // run's snapshots and its isolated instance) can never leave, whatever a later statement allows.
    {
      Sid: "UnscrubbedCopiesNeverLeave",
      Effect: "Deny",
      Action: ["rds:CopyDBSnapshot", "rds:ModifyDBSnapshotAttribute", "rds:StartExportTask", "rds:CreateDBInstanceReadReplica"],
      Resource: [p.rdsArn("snapshot", `${refreshResourcePrefix(p.stack)}*-source`), p.rdsArn("db", `${refreshResourcePrefix(p.stack)}*-isolated`)],
    },
    { Sid: "ReadStackParameters", Effect: "Allow", Action: ["ssm:GetParameters"], Resource: [p.ssmParameterArn(`${parameterPrefix(p.stack)}/*`), p.ssmParameterArn(parameterName(p.sourceStack, "dbInstanceIdentifier"))] },
    { Sid: "ScrubKey", Effect: "Allow", Action: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret"], Resource: [p.keySecretArn] },
    // The job reads no database password: it prewarms over a temporary one and RDS manages the rest.
    { Sid: "NoOtherSecrets", Effect: "Deny", Action: ["secretsmanager:GetSecretValue"], NotResource: [p.keySecretArn] },
    // ModifyDBInstance ManageMasterUserPassword: RDS creates the replacement's secret with the caller's
    // permissions (RDS user guide, "Permissions required for Secrets Manager integration"), through a
    // forward access session: only through an AWS service (aws:ViaAWSService — RDS is not among the
    // few services that set aws:CalledVia), only RDS-named secrets, and only secrets of this stack's
    // instances: an existing rds!db secret carries its owner in aws:rds:primaryDBInstanceArn, so
    // prod's can be neither rotated nor tagged. The tag is absent (IfExists) only while RDS creates
    // the secret; CreateSecret on an existing name fails (ResourceExistsException).
    {
      Sid: "RdsCreatesManagedSecrets",
      Effect: "Allow",
      Action: ["secretsmanager:CreateSecret", "secretsmanager:TagResource", "secretsmanager:RotateSecret"],
      Resource: [`arn:${p.partition}:secretsmanager:${p.region}:${p.account}:secret:rds!db-*`],
      Condition: { Bool: { "aws:ViaAWSService": "true" }, StringLikeIfExists: { "aws:ResourceTag/aws:rds:primaryDBInstanceArn": [ownInstances] } },
    },
    { Sid: "PointAppAtNewDatabaseSecret", Effect: "Allow", Action: ["ssm:PutParameter"], Resource: [p.ssmParameterArn(parameterName(p.stack, "dbSecretArn"))] },
    // One run at a time, the job's and one by hand: the lock parameter (created only if absent).
    { Sid: "RunLock", Effect: "Allow", Action: ["ssm:PutParameter", "ssm:DeleteParameter"], Resource: [p.ssmParameterArn(refreshLockParameterName(p.stack))] },
    { Sid: "NotifyFailures", Effect: "Allow", Action: ["sns:Publish"], Resource: [p.topicArn] },
    { Sid: "ReadServiceHealth", Effect: "Allow", Action: ["ecs:DescribeServices"], Resource: [p.serviceArn] },
    // Rolling staging's service onto the new secret (the deploy command's code path).
    { Sid: "RollService", Effect: "Allow", Action: ["ecs:UpdateService", "ecs:ListServiceDeployments"], Resource: [p.serviceArn] },
    { Sid: "FollowServiceDeployments", Effect: "Allow", Action: ["ecs:DescribeServiceDeployments"], Resource: [`${p.serviceArn.replace(":service/", ":service-deployment/")}/*`] },
    // What a revision may run as is bounded by PassAppRoles, what it may replace by UpdateService on one service.
    // A revision of the app's own family only (RegisterTaskDefinition takes the task-definition
    // resource type); DescribeTaskDefinition takes none, so "*".
    { Sid: "RegisterAppRevision", Effect: "Allow", Action: ["ecs:RegisterTaskDefinition", "ecs:TagResource"], Resource: [`arn:${p.partition}:ecs:${p.region}:${p.account}:task-definition/${p.appTaskFamily}:*`] },
    { Sid: "ReadAppRevisions", Effect: "Allow", Action: ["ecs:DescribeTaskDefinition"], Resource: "*" },
    { Sid: "PassAppRoles", Effect: "Allow", Action: ["iam:PassRole"], Resource: [p.appTaskRoleArn, p.appExecutionRoleArn], Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } } },
    // One run at a time: the job lists its own running tasks (ListTasks is scoped by cluster condition only).
    { Sid: "ListOwnRuns", Effect: "Allow", Action: ["ecs:ListTasks"], Resource: "*", Condition: { ArnEquals: { "ecs:cluster": p.clusterArn } } },
    // DescribeTargetHealth has no resource-level permissions.
    { Sid: "ReadTargetHealth", Effect: "Allow", Action: ["elasticloadbalancing:DescribeTargetHealth"], Resource: "*" },
  ];
  if (p.kmsKeyArn) {
    statements.push({
      Sid: "UseDatabaseKeyThroughRds",
      Effect: "Allow",
      Action: ["kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"],
      Resource: [p.kmsKeyArn],
      Condition: { StringEquals: { "kms:ViaService": `rds.${p.region}.amazonaws.com` } },
    });
  }
  if (p.topicKeyArn) {
    statements.push({
      Sid: "PublishToEncryptedTopic",
      Effect: "Allow",
      Action: ["kms:GenerateDataKey", "kms:Decrypt"],
      Resource: [p.topicKeyArn],
      Condition: { StringEquals: { "kms:ViaService": `sns.${p.region}.amazonaws.com` } },
    });
  }
  return { Version: "2012-10-17", Statement: statements };
}
