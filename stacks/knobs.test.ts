import { parseStackConfig, settingPaths, type StackConfig } from "../infra/config";
import { globToRegex } from "../components/pull-request-checks";
import { appLogGroupName, refreshPath, refreshTaskFamily, stackName } from "../infra/naming";
import { refreshParameterName } from "../infra/refresh-parameters";
import { alarmName, type RollbackAlarmKey } from "../components/alarms";
import { PARITY } from "../infra/parity";
import { readStackConfigFile, runOffline, type OfflineRun, type RecordedResource } from "../scripts/lib/offline-program";

/**
 * Every per-stack knob (each leaf of the zod schema in infra/config.ts) reaches the resource it
 * governs, in that resource's unit, in both stacks' real files and in probe files that set every
 * knob to a value no default and no stack file uses — so a component that hard-codes a value, or
 * reads a neighbouring knob, fails here even where the stack files happen to hold the default.
 */

type Stack = "staging" | "prod";
interface Run extends OfflineRun {
  readonly label: string;
  readonly config: StackConfig;
}

const HASH = "ab".repeat(32);
const json = (value: unknown) => JSON.stringify(value);

/** Staging with every knob it reads moved off its default (and off both stack files). */
const STAGING_PROBE: Record<string, string> = {
  "aws:region": "us-east-1",
  "aws:defaultTags": json({ tags: { "friday:stack": "staging" } }),
  "friday:network": json({ natGateways: 2, interfaceEndpoints: false }),
  "friday:database": json({ instanceClass: "db.r7g.xlarge", multiAz: true, allocatedStorageGb: 37, maxAllocatedStorageGb: 213, backupRetentionDays: 9, deletionProtection: true, finalSnapshot: true, performanceInsightsRetentionDays: 62 }),
  "friday:service": json({ cpu: 1024, memory: 3072, desiredCount: 3, minCount: 3, maxCount: 7, cpuTargetPercent: 45, logRetentionDays: 60 }),
  "friday:deploy": json({ bakeTimeMinutes: 17, alarmWatchMinutes: 13, smokeTestTimeoutSeconds: 23 }),
  "friday:https": json({ certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/probe-1234" }),
  "friday:alarms": json({ http5xxRatePercent: 3.5, p99LatencyMs: 1234, unhealthyTargets: 4, dbCpuPercent: 71, dbFreeStorageGb: 9, evaluationPeriods: 6, notificationEmail: "ops@example.com" }),
  "friday:imageUri": `123456789012.dkr.ecr.us-east-1.amazonaws.com/probe-app@sha256:${HASH}`,
  "friday:opsImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/probe-ops:v9",
  "friday:stagingRefresh": json({ enabled: false, schedule: "cron(30 2 ? * MON *)", timezone: "Europe/Berlin", retentionHours: 11, scrubConcurrency: 5 }),
};

/** Prod likewise, with the pipeline's knobs and a domain of its own. */
const PROD_PROBE: Record<string, string> = {
  "aws:region": "us-east-1",
  "aws:defaultTags": json({ tags: { "friday:stack": "prod" } }),
  "friday:stagingStack": "probe-org/friday/staging-probe",
  "friday:network": json({ natGateways: 2, interfaceEndpoints: false }),
  "friday:database": json({ instanceClass: "db.r7g.2xlarge", multiAz: false, allocatedStorageGb: 41, maxAllocatedStorageGb: 417, backupRetentionDays: 21, deletionProtection: true, finalSnapshot: false, performanceInsightsRetentionDays: 93 }),
  "friday:service": json({ cpu: 2048, memory: 6144, desiredCount: 4, minCount: 3, maxCount: 9, cpuTargetPercent: 55, logRetentionDays: 180 }),
  "friday:deploy": json({ bakeTimeMinutes: 19, alarmWatchMinutes: 7, smokeTestTimeoutSeconds: 31 }),
  "friday:https": json({ domainName: "api.probe.example.com", hostedZoneId: "Z0PROBE123" }),
  "friday:alarms": json({ http5xxRatePercent: 1.25, p99LatencyMs: 987, unhealthyTargets: 3, dbCpuPercent: 66, dbFreeStorageGb: 12, evaluationPeriods: 4 }),
  "friday:pipeline": json({
    repository: "probe-org/probe-app", branch: "release", connectionArn: "arn:aws:codeconnections:us-east-1:123456789012:connection/probe-1",
    filePaths: ["app/**", "db/**"], testCommand: "make test", lintCommand: "make lint", dockerContext: "app", dockerfile: "app/Dockerfile.prod",
    migrationsDir: "db/migrations", manualApproval: false, deployTimeoutMinutes: 42, imageRetentionCount: 12,
    infra: { backendUrl: "https://api.pulumi.com", accessTokenSecretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:probe-token-AbCdEf", paths: ["infra/**", "db/**"] },
    pullRequests: { enabled: true, forkApproval: false },
  }),
};

/** Prod's file with a connection the stack creates on another git host (connectionArn above wins over providerType), without pull-request checks. */
function prodWithProvider(): Record<string, string> {
  const raw = readStackConfigFile("prod");
  return { ...raw, "friday:pipeline": json({ ...JSON.parse(raw["friday:pipeline"]), providerType: "GitLab", pullRequests: { enabled: false } }) };
}

const runs: Run[] = [];

beforeAll(async () => {
  const start = async (label: string, stack: Stack, rawConfig: Record<string, string>, stagingOutputs?: Record<string, unknown>): Promise<Run> => {
    const run = await runOffline(stack, { rawConfig, stagingOutputs });
    return { ...run, label, config: parseStackConfig(stack, rawConfig) };
  };
  const staging = await start("staging", "staging", readStackConfigFile("staging"));
  runs.push(
    staging,
    await start("prod", "prod", readStackConfigFile("prod"), staging.outputs),
    await start("staging probe", "staging", STAGING_PROBE),
    await start("prod probe", "prod", PROD_PROBE, staging.outputs),
    await start("prod on GitLab", "prod", prodWithProvider(), staging.outputs),
  );
}, 600_000); // five offline runs: generous, for a loaded 2-core machine (a limit, not a timing assertion)

const ofType = (run: OfflineRun, type: string) => run.resources.filter((r) => r.type === type);
function one(run: OfflineRun, type: string, predicate: (r: RecordedResource) => boolean = () => true): RecordedResource {
  const found = ofType(run, type).filter(predicate);
  expect(found.map((r) => r.name)).toHaveLength(1);
  return found[0];
}
const named = (name: string) => (r: RecordedResource) => r.name === name;
const withName = (name: string) => (r: RecordedResource) => r.inputs.name === name;
const db = (run: Run) => one(run, "aws:rds/instance:Instance");
const taskDefinition = (run: Run) => one(run, "aws:ecs/taskDefinition:TaskDefinition", named(`${stackName(run.stack)}-service-task`));
const containers = (resource: RecordedResource) => JSON.parse(resource.inputs.containerDefinitions) as Array<{ name: string; image: string }>;
const service = (run: Run) => one(run, "aws:ecs/service:Service");
const hook = (run: Run) => one(run, "aws:lambda/function:Function");
const alarm = (run: Run, key: RollbackAlarmKey) => one(run, "aws:cloudwatch/metricAlarm:MetricAlarm", withName(alarmName(stackName(run.stack), key)));
const rollbackAlarms = (run: Run) => PARITY.alarmSet.map((key) => alarm(run, key));
const pipeline = (run: Run) => one(run, "aws:codepipeline/pipeline:Pipeline");
const stage = (run: Run, name: string) => (pipeline(run).inputs.stages as Array<{ name: string; actions: any[]; onSuccess?: any }>).find((s) => s.name === name)!;
const project = (run: Run, suffix: string) => one(run, "aws:codebuild/project:Project", named(`friday-${suffix}-project`));
const variable = (resource: RecordedResource, name: string) =>
  (resource.inputs.environment.environmentVariables as Array<{ name: string; value: string }>).find((v) => v.name === name)?.value;
const refreshParameter = (run: Run, key: Parameters<typeof refreshParameterName>[1]) =>
  one(run, "aws:ssm/parameter:Parameter", withName(refreshParameterName(run.stack, key))).inputs.value;
const schedule = (run: Run) => one(run, "aws:scheduler/schedule:Schedule");
const logGroups = (run: Run) => {
  const names = [appLogGroupName(stackName(run.stack)), `/aws/lambda/${stackName(run.stack)}-deploy-hook`, ...(run.stack === "staging" ? [refreshPath(run.stack)] : [])];
  return names.map((name) => one(run, "aws:cloudwatch/logGroup:LogGroup", withName(name)));
};

interface Knob {
  /** Where the knob has an effect (the other stack ignores it by design). */
  readonly stacks?: Stack[];
  /** Asserts that `value` (the validated setting, defaults filled in) reached its resource. */
  check(run: Run, value: any): void;
}

const both = (check: Knob["check"]): Knob => ({ check });
const only = (stack: Stack, check: Knob["check"]): Knob => ({ stacks: [stack], check });

/** One entry per leaf of the config schema. */
const KNOBS: Record<string, Knob> = {
  "network.natGateways": both((run, v) => expect(ofType(run, "aws:ec2/natGateway:NatGateway")).toHaveLength(v)),
  "network.interfaceEndpoints": both((run, v) =>
    expect(ofType(run, "aws:ec2/vpcEndpoint:VpcEndpoint").filter((e) => e.inputs.vpcEndpointType === "Interface").length > 0).toBe(v)),

  "database.instanceClass": both((run, v) => expect(db(run).inputs.instanceClass).toBe(v)),
  "database.multiAz": both((run, v) => expect(db(run).inputs.multiAz).toBe(v)),
  // RDS counts storage in GiB, as the setting does.
  "database.allocatedStorageGb": both((run, v) => expect(db(run).inputs.allocatedStorage).toBe(v)),
  "database.maxAllocatedStorageGb": both((run, v) => expect(db(run).inputs.maxAllocatedStorage).toBe(v)),
  "database.backupRetentionDays": both((run, v) => expect(db(run).inputs.backupRetentionPeriod).toBe(v)),
  "database.deletionProtection": both((run, v) => expect(db(run).inputs.deletionProtection).toBe(v)),
  "database.finalSnapshot": both((run, v) => {
    expect(db(run).inputs.skipFinalSnapshot).toBe(!v);
    expect(db(run).inputs.finalSnapshotIdentifier !== undefined).toBe(v);
  }),
  "database.performanceInsightsRetentionDays": both((run, v) => expect(db(run).inputs.performanceInsightsRetentionPeriod).toBe(v)),

  // ECS takes task size as strings.
  "service.cpu": both((run, v) => expect(taskDefinition(run).inputs.cpu).toBe(String(v))),
  "service.memory": both((run, v) => expect(taskDefinition(run).inputs.memory).toBe(String(v))),
  "service.desiredCount": both((run, v) => expect(service(run).inputs.desiredCount).toBe(v)),
  "service.minCount": both((run, v) => expect(one(run, "aws:appautoscaling/target:Target").inputs.minCapacity).toBe(v)),
  "service.maxCount": both((run, v) => expect(one(run, "aws:appautoscaling/target:Target").inputs.maxCapacity).toBe(v)),
  "service.cpuTargetPercent": both((run, v) =>
    expect(one(run, "aws:appautoscaling/policy:Policy").inputs.targetTrackingScalingPolicyConfiguration.targetValue).toBe(v)),
  "service.logRetentionDays": both((run, v) => {
    for (const group of logGroups(run)) expect([group.inputs.name, group.inputs.retentionInDays]).toEqual([group.inputs.name, v]);
  }),

  "deploy.bakeTimeMinutes": both((run, v) => expect(service(run).inputs.deploymentConfiguration.bakeTimeInMinutes).toBe(String(v))),
  "deploy.alarmWatchMinutes": both((run, v) => {
    expect(hook(run).inputs.environment.variables.ALARM_WATCH_MINUTES).toBe(String(v));
    if (run.stack === "prod") {
      // The pipeline's prod stage watches the same window (CodePipeline's WaitTime is minutes, at least 1).
      const rules = stage(run, "Prod").onSuccess.condition.rules as Array<{ configuration: { WaitTime: string } }>;
      expect(rules.length).toBe(PARITY.alarmSet.length);
      for (const rule of rules) expect(rule.configuration.WaitTime).toBe(String(Math.max(1, v)));
    }
  }),
  "deploy.smokeTestTimeoutSeconds": both((run, v) => {
    expect(hook(run).inputs.environment.variables.SMOKE_TIMEOUT_SECONDS).toBe(String(v));
    // The function outlives the smoke test by a minute (Lambda's timeout is in seconds).
    expect(hook(run).inputs.timeout).toBe(v + 60);
  }),

  "https.certificateArn": both((run, v) => {
    const https = ofType(run, "aws:lb/listener:Listener").filter((l) => l.inputs.protocol === "HTTPS");
    if (v !== undefined) expect(https.map((l) => l.inputs.certificateArn)).toEqual([v]);
    else if (run.config.https.domainName === undefined) expect(https).toEqual([]);
  }),
  "https.domainName": both((run, v) => {
    const certificates = ofType(run, "aws:acm/certificate:Certificate");
    if (v === undefined) return expect(certificates).toEqual([]);
    expect(certificates.map((c) => c.inputs.domainName)).toEqual([v]);
    expect(one(run, "aws:route53/record:Record", (r) => r.name.endsWith("-alias")).inputs.name).toBe(v);
    expect(run.outputs.serviceUrl).toBe(`https://${v}`);
  }),
  "https.hostedZoneId": both((run, v) => {
    const records = ofType(run, "aws:route53/record:Record");
    if (v === undefined) return expect(records).toEqual([]);
    expect(records.length).toBeGreaterThan(0);
    for (const record of records) expect(record.inputs.zoneId).toBe(v);
  }),

  "alarms.http5xxRatePercent": both((run, v) => expect(alarm(run, "alb-5xx-rate").inputs.threshold).toBe(v)),
  // CloudWatch's TargetResponseTime is in seconds.
  "alarms.p99LatencyMs": both((run, v) => expect(alarm(run, "alb-p99-latency").inputs.threshold).toBeCloseTo(v / 1000, 9)),
  "alarms.unhealthyTargets": both((run, v) => expect(alarm(run, "unhealthy-targets").inputs.threshold).toBe(v)),
  "alarms.dbCpuPercent": both((run, v) => expect(alarm(run, "db-cpu").inputs.threshold).toBe(v)),
  // RDS FreeStorageSpace is in bytes.
  "alarms.dbFreeStorageGb": both((run, v) => expect(alarm(run, "db-free-storage").inputs.threshold).toBe(v * 1024 ** 3)),
  "alarms.evaluationPeriods": both((run, v) => {
    for (const a of rollbackAlarms(run)) expect([a.inputs.name, a.inputs.evaluationPeriods, a.inputs.datapointsToAlarm]).toEqual([a.inputs.name, v, v]);
  }),
  "alarms.notificationEmail": both((run, v) => {
    const subscriptions = ofType(run, "aws:sns/topicSubscription:TopicSubscription");
    expect(subscriptions.map((s) => [s.inputs.protocol, s.inputs.endpoint])).toEqual(v === undefined ? [] : [["email", v]]);
  }),

  "imageUri": both((run, v) => {
    const app = containers(taskDefinition(run)).find((c) => c.name === PARITY.service.containerName)!;
    if (v !== undefined) expect(app.image).toBe(v);
    else expect(app.image).toContain(`/${stackName(run.stack)}-app@sha256:`);
  }),
  "opsImageUri": only("staging", (run, v) => {
    const [job] = containers(one(run, "aws:ecs/taskDefinition:TaskDefinition", (r) => r.inputs.family === refreshTaskFamily(run.stack)));
    if (v !== undefined) expect(job.image).toBe(v);
    else expect(job.image).toContain(`/${stackName(run.stack)}-ops@sha256:`);
  }),
  "stagingStack": only("prod", (run, v) => expect(one(run, "pulumi:pulumi:StackReference").inputs.name).toBe(v)),

  "pipeline.repository": only("prod", (run, v) => expect(stage(run, "Source").actions[0].configuration.FullRepositoryId).toBe(v)),
  "pipeline.branch": only("prod", (run, v) => {
    expect(stage(run, "Source").actions[0].configuration.BranchName).toBe(v);
    expect(pipeline(run).inputs.triggers[0].gitConfiguration.pushes[0].branches.includes).toEqual([v]);
  }),
  "pipeline.connectionArn": only("prod", (run, v) => {
    const created = ofType(run, "aws:codeconnections/connection:Connection");
    expect(created).toHaveLength(v === undefined ? 1 : 0);
    expect(stage(run, "Source").actions[0].configuration.ConnectionArn).toBe(v ?? created[0].state.arn);
  }),
  "pipeline.providerType": only("prod", (run, v) => {
    const created = ofType(run, "aws:codeconnections/connection:Connection");
    expect(created.map((c) => c.inputs.providerType)).toEqual(run.config.pipeline!.connectionArn ? [] : [v]);
  }),
  "pipeline.filePaths": only("prod", (run, v) => expect(pipeline(run).inputs.triggers[0].gitConfiguration.pushes[0].filePaths?.includes).toEqual(v)),
  "pipeline.testCommand": only("prod", (run, v) => expect(variable(project(run, "test"), "TEST_COMMAND")).toBe(v)),
  "pipeline.lintCommand": only("prod", (run, v) => expect(variable(project(run, "test"), "LINT_COMMAND")).toBe(v)),
  "pipeline.dockerContext": only("prod", (run, v) => expect(variable(project(run, "build"), "DOCKER_CONTEXT")).toBe(v)),
  "pipeline.dockerfile": only("prod", (run, v) => expect(variable(project(run, "build"), "DOCKERFILE")).toBe(v)),
  "pipeline.migrationsDir": only("prod", (run, v) => {
    for (const step of ["staging-migrate", "prod-migrate"]) expect(variable(project(run, step), "MIGRATIONS_DIR")).toBe(v);
  }),
  "pipeline.manualApproval": only("prod", (run, v) =>
    expect(stage(run, "Gate").actions.some((a: { category: string; provider: string }) => a.category === "Approval" && a.provider === "Manual")).toBe(v)),
  "pipeline.deployTimeoutMinutes": only("prod", (run, v) => {
    for (const step of ["staging-deploy", "prod-deploy"]) {
      expect(variable(project(run, step), "DEPLOY_TIMEOUT_MINUTES")).toBe(String(v));
      // CodeBuild's own limit (minutes) leaves the step a quarter hour to report a timeout itself.
      expect(project(run, step).inputs.buildTimeout).toBe(v + 15);
    }
  }),
  "pipeline.imageRetentionCount": only("prod", (run, v) => {
    const policy = JSON.parse(one(run, "aws:ecr/lifecyclePolicy:LifecyclePolicy", (r) => r.inputs.repository === `${stackName(run.stack)}-app`).inputs.policy);
    expect(policy.rules.find((r: { selection: { countType: string } }) => r.selection.countType === "imageCountMoreThan").selection.countNumber).toBe(v);
  }),

  "pipeline.infra.backendUrl": only("prod", (run, v) => {
    for (const step of ["staging-infra", "prod-infra"]) expect(variable(project(run, step), "PULUMI_BACKEND_URL")).toBe(v);
  }),
  "pipeline.infra.secretsProvider": only("prod", (run, v) => {
    for (const step of ["staging-infra", "prod-infra"]) expect(variable(project(run, step), "PULUMI_SECRETS_PROVIDER")).toBe(v);
  }),
  "pipeline.infra.accessTokenSecretArn": only("prod", (run, v) => {
    const token = (project(run, "prod-infra").inputs.environment.environmentVariables as Array<{ name: string; value: string; type: string }>).find((x) => x.name === "PULUMI_ACCESS_TOKEN");
    expect(token && { value: token.value, type: token.type }).toEqual(v === undefined ? undefined : { value: v, type: "SECRETS_MANAGER" });
  }),
  "pipeline.infra.paths": only("prod", (run, v) => {
    const previews = ofType(run, "aws:codebuild/webhook:Webhook").filter((w) => w.name.includes("preview"));
    for (const w of previews) expect(w.inputs.filterGroups[0].filters.find((f: { type: string }) => f.type === "FILE_PATH").pattern).toBe(v.map(globToRegex).join("|"));
  }),
  "pipeline.pullRequests.enabled": only("prod", (run, v) => expect(ofType(run, "aws:codebuild/webhook:Webhook")).toHaveLength(v ? 3 : 0)),
  "pipeline.pullRequests.forkApproval": only("prod", (run, v) => {
    for (const w of ofType(run, "aws:codebuild/webhook:Webhook")) expect(w.inputs.pullRequestBuildPolicy?.requiresCommentApproval).toBe(v ? "FORK_PULL_REQUESTS" : undefined);
  }),

  "stagingRefresh.enabled": only("staging", (run, v) => expect(schedule(run).inputs.state).toBe(v ? "ENABLED" : "DISABLED")),
  "stagingRefresh.schedule": only("staging", (run, v) => expect(schedule(run).inputs.scheduleExpression).toBe(v)),
  "stagingRefresh.timezone": only("staging", (run, v) => expect(schedule(run).inputs.scheduleExpressionTimezone).toBe(v)),
  "stagingRefresh.retentionHours": only("staging", (run, v) => expect(refreshParameter(run, "retentionHours")).toBe(String(v))),
  "stagingRefresh.scrubConcurrency": only("staging", (run, v) => expect(refreshParameter(run, "scrubConcurrency")).toBe(String(v))),
};

function valueAt(root: unknown, path: string): any {
  return path.split(".").reduce<any>((v, k) => (v && typeof v === "object" ? v[k] : undefined), root);
}

describe("per-stack knobs", () => {
  it("has a check for every setting in the config schema, and for nothing else", () => {
    expect(Object.keys(KNOBS).sort()).toEqual(settingPaths().sort());
  });

  it("sets every knob, in some run, to a value other than its default (so no check passes on a hard-coded default)", () => {
    const defaults = parseStackConfig("staging", { "aws:region": "us-east-1", "aws:defaultTags": json({ tags: { "friday:stack": "staging" } }), "friday:database": json({ instanceClass: "db.t4g.micro" }) });
    const untested = settingPaths().filter((path) =>
      !runs.some((run) => (KNOBS[path].stacks ?? [run.stack]).includes(run.stack as Stack) && valueAt(run.config, path) !== undefined && json(valueAt(run.config, path)) !== json(valueAt(defaults, path))));
    expect(untested).toEqual([]);
  });

  it("probes with values neither stack file uses", () => {
    const files = (["staging", "prod"] as const).map((s) => parseStackConfig(s, readStackConfigFile(s)));
    const probes = runs.filter((r) => r.label.includes("probe"));
    const clashes = settingPaths().flatMap((path) => probes
      .filter((p) => (KNOBS[path].stacks ?? [p.stack]).includes(p.stack as Stack))
      .filter((p) => valueAt(p.config, path) !== undefined && typeof valueAt(p.config, path) !== "boolean" && files.some((f) => json(valueAt(f, path)) === json(valueAt(p.config, path))))
      .map((p) => `${p.label}: ${path}`));
    // natGateways has too few valid values to avoid both files (1..2 with two AZs); the prod probe
    // names a connection, so "prod on GitLab" probes providerType instead.
    expect(clashes.sort()).toEqual(["prod probe: network.natGateways", "prod probe: pipeline.providerType", "staging probe: network.natGateways"]);
  });

  describe.each(["staging", "prod", "staging probe", "prod probe", "prod on GitLab"])("%s", (label) => {
    const paths = settingPaths();
    it.each(paths)("%s reaches its resource", (path) => {
      const run = runs.find((r) => r.label === label)!;
      const knob = KNOBS[path];
      expect(knob).toBeDefined();
      if (knob.stacks && !knob.stacks.includes(run.stack as Stack)) return;
      knob.check(run, valueAt(run.config, path));
    });
  });
});
