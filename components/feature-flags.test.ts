import { FAKE_ACCOUNT, installMocks, promiseOf, settle, type RecordedResource } from "../scripts/lib/pulumi-mocks";
import { parseFlagsFile } from "../infra/flags";

const ACCOUNT = FAKE_ACCOUNT;
const REGION = "eu-west-1";

/** AppConfig's identifiers as the mocks answer them (ids the assertions below name). */
function fakeState(type: string, name: string): Record<string, any> | undefined {
  switch (type) {
    case "aws:appconfig/application:Application":
      return { id: "app1234", arn: `arn:aws:appconfig:${REGION}:${ACCOUNT}:application/app1234` };
    case "aws:appconfig/environment:Environment":
      return { id: "env5678:app1234", environmentId: "env5678", arn: `arn:aws:appconfig:${REGION}:${ACCOUNT}:application/app1234/environment/env5678` };
    case "aws:appconfig/configurationProfile:ConfigurationProfile":
      return { id: "prof9012:app1234", configurationProfileId: "prof9012" };
    case "aws:appconfig/hostedConfigurationVersion:HostedConfigurationVersion":
      return { id: "app1234/prof9012/1", versionNumber: 1 };
    case "aws:appconfig/deploymentStrategy:DeploymentStrategy":
      return { id: name.endsWith("gradual") ? "strat-gradual" : "strat-immediate" };
    case "aws:iam/role:Role":
      return { id: name, name, arn: `arn:aws:iam::${ACCOUNT}:role/${name}` };
    default:
      return undefined;
  }
}

let recorded: RecordedResource[] = [];
beforeAll(async () => {
  recorded = await installMocks({ stack: "staging", region: REGION, state: fakeState });
});

const flags = parseFlagsFile({
  flags: {
    "new-checkout": { description: "New checkout", owner: "payments", default: false, expires: "2027-03-31" },
    recommendations: { description: "Recs", owner: "discovery", default: true, expires: "2027-11-30" },
  },
});
const alarmArns = ["5xx", "p99", "unhealthy"].map((a) => `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:friday-staging-${a}`);


async function build() {
  recorded.length = 0;
  const { FeatureFlags } = await import("./feature-flags");
  const component = new FeatureFlags("flags", { stack: "staging", rollbackAlarmArns: alarmArns, taskRoleName: "friday-staging-task", flags, tags: { app: "friday" } });
  await promiseOf(component.profileReadArn);
  await settle();
  const byName = (name: string) => {
    const found = recorded.find((r) => r.name === name);
    if (!found) throw new Error(`no resource ${name}: ${recorded.map((r) => r.name).join(", ")}`);
    return found;
  };
  return { component, byName };
}

test("application friday-<stack>, environment <stack> monitored by every rollback alarm through a role AppConfig assumes", async () => {
  const { byName } = await build();
  expect(byName("flags-app").inputs).toMatchObject({ name: "friday-staging" });
  expect(byName("flags-env").inputs).toMatchObject({
    name: "staging",
    applicationId: "app1234",
    monitors: alarmArns.map((alarmArn) => ({ alarmArn, alarmRoleArn: `arn:aws:iam::${ACCOUNT}:role/flags-monitor-role` })),
  });
  expect(JSON.parse(byName("flags-monitor-role").inputs.assumeRolePolicy).Statement).toEqual([
    { Effect: "Allow", Principal: { Service: "appconfig.amazonaws.com" }, Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT } } },
  ]);
  const alarmPolicy = JSON.parse(byName("flags-monitor-read-alarms").inputs.policy);
  expect(alarmPolicy.Statement).toEqual([{ Effect: "Allow", Action: ["cloudwatch:DescribeAlarms"], Resource: alarmArns }]);
  expect(byName("flags-monitor-read-alarms").inputs.role).toBe("flags-monitor-role");
});

test("a FeatureFlags profile named flags with the flags file at its defaults, deployed once; later versions belong to the CLI", async () => {
  const { byName } = await build();
  expect(byName("flags-profile").inputs).toMatchObject({ name: "flags", type: "AWS.AppConfig.FeatureFlags", locationUri: "hosted", applicationId: "app1234" });
  const initial = byName("flags-initial");
  expect(initial.inputs).toMatchObject({ applicationId: "app1234", configurationProfileId: "prof9012", contentType: "application/json" });
  expect(JSON.parse(initial.inputs.content).values).toEqual({ "new-checkout": { enabled: false }, recommendations: { enabled: true } });
  expect(initial.options.ignoreChanges).toEqual(expect.arrayContaining(["content"]));
  const deployment = byName("flags-initial-deployment");
  expect(deployment.inputs).toMatchObject({ environmentId: "env5678", configurationProfileId: "prof9012", configurationVersion: "1", deploymentStrategyId: "strat-immediate" });
  expect(deployment.options.ignoreChanges).toEqual(expect.arrayContaining(["configurationVersion", "deploymentStrategyId"]));
});

test("a gradual strategy with an alarm-watched bake and an immediate one without", async () => {
  const { byName } = await build();
  expect(byName("flags-gradual").inputs).toMatchObject({ name: "friday-staging-gradual", growthType: "LINEAR", growthFactor: 20, deploymentDurationInMinutes: 10, finalBakeTimeInMinutes: 10, replicateTo: "NONE" });
  expect(byName("flags-immediate").inputs).toMatchObject({ name: "friday-staging-immediate", growthFactor: 100, deploymentDurationInMinutes: 0, finalBakeTimeInMinutes: 0 });
});

test("the task role may only start sessions on and read its own environment's flags profile", async () => {
  const { byName } = await build();
  const read = byName("flags-task-read");
  expect(read.inputs.role).toBe("friday-staging-task");
  expect(JSON.parse(read.inputs.policy).Statement).toEqual([
    {
      Sid: "ReadOwnFlags",
      Effect: "Allow",
      Action: ["appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration"],
      Resource: `arn:aws:appconfig:${REGION}:${ACCOUNT}:application/app1234/environment/env5678/configuration/prof9012`,
    },
  ]);
  const policies = recorded.filter((r) => r.type.startsWith("aws:iam/rolePolicy")).map((r) => JSON.stringify(r.inputs.policy));
  expect(policies.join()).not.toMatch(/"Resource\\?":\s*\\?"\*|appconfig:\*/);
});

test("publishes the ids friday flags needs as SSM parameters under /friday/<stack>/", async () => {
  const { byName } = await build();
  const parameter = (key: string) => byName(`flags-${key}`).inputs;
  expect(parameter("appconfig-application-id")).toMatchObject({ name: "/friday/staging/appconfig-application-id", type: "String", value: "app1234" });
  expect(parameter("appconfig-environment-id")).toMatchObject({ name: "/friday/staging/appconfig-environment-id", value: "env5678" });
  expect(parameter("appconfig-profile-id")).toMatchObject({ name: "/friday/staging/appconfig-profile-id", value: "prof9012" });
  expect(parameter("appconfig-gradual-strategy-id")).toMatchObject({ value: "strat-gradual" });
  expect(parameter("appconfig-immediate-strategy-id")).toMatchObject({ value: "strat-immediate" });
});

test("exposes the published ids by STACK_PARAMETERS key, for the stack's outputs", async () => {
  const { component } = await build();
  const ids = Object.fromEntries(await Promise.all(Object.entries(component.identifiers).map(async ([k, v]) => [k, await promiseOf(v)])));
  expect(ids).toEqual({
    appConfigApplicationId: "app1234",
    appConfigEnvironmentId: "env5678",
    appConfigProfileId: "prof9012",
    appConfigGradualStrategyId: "strat-gradual",
    appConfigImmediateStrategyId: "strat-immediate",
  });
});

test("children are named after the component and typed friday:flags:FeatureFlags", async () => {
  await build();
  expect(recorded.find((r) => r.type === "friday:flags:FeatureFlags")?.name).toBe("flags");
  expect(recorded.filter((r) => r.type !== "friday:flags:FeatureFlags").every((r) => r.name.startsWith("flags-"))).toBe(true);
});

test("bad args fail before anything is created, naming the field and the fix", async () => {
  const { validateFeatureFlagsArgs } = await import("./feature-flags");
  const base = { stack: "staging", rollbackAlarmArns: alarmArns, taskRoleName: "r" };
  expect(() => validateFeatureFlagsArgs("flags", { ...base, rollbackAlarmArns: [] })).toThrow(
    'FeatureFlags "flags": rollbackAlarmArns must hold 1 to 5 alarm ARNs, AppConfig\'s limit for environment monitors (got 0): pass the service\'s rollback alarms.',
  );
  expect(() => validateFeatureFlagsArgs("flags", { ...base, rollbackAlarmArns: Array(6).fill(alarmArns[0]) })).toThrow(/got 6/);
  expect(() => validateFeatureFlagsArgs("flags", { ...base, stack: "Prod" })).toThrow('FeatureFlags "flags": stack must be a lowercase name like "prod" (got "Prod").');
  expect(() => validateFeatureFlagsArgs("flags", { ...base, gradualGrowthFactor: 0 })).toThrow("gradualGrowthFactor must be a whole number from 1 to 100 (got 0).");
});

test("the agent sidecar prefetches this stack's flags, listens on 2772, is not essential, logs where told", async () => {
  const { appConfigAgentSidecar } = await import("./feature-flags");
  const sidecar = await promiseOf(appConfigAgentSidecar("prod", { logGroupName: "/friday/prod/app", region: "eu-west-1" }));
  expect(sidecar).toEqual({
    name: "appconfig-agent",
    image: "public.ecr.aws/aws-appconfig/aws-appconfig-agent:2.x",
    essential: false,
    memoryReservation: 64,
    portMappings: [{ containerPort: 2772, protocol: "tcp" }],
    environment: [
      { name: "PREFETCH_LIST", value: "/applications/friday-prod/environments/prod/configurations/flags" },
      { name: "POLL_INTERVAL", value: "15" },
      { name: "LOG_LEVEL", value: "info" },
    ],
    logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/friday/prod/app", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "appconfig-agent" } },
  });
  expect(await promiseOf(appConfigAgentSidecar("staging"))).not.toHaveProperty("logConfiguration");
  expect(() => appConfigAgentSidecar("prod", { logGroupName: "/x" })).toThrow('appConfigAgentSidecar("prod"): region is required with logGroupName');
});

test.each([
  ["gradualDurationMinutes", -1, 0, 1440],
  ["gradualDurationMinutes", 1441, 0, 1440],
  ["gradualGrowthFactor", 101, 1, 100],
  ["gradualGrowthFactor", 2.5, 1, 100],
  ["bakeTimeMinutes", -1, 0, 1440],
  ["bakeTimeMinutes", 1441, 0, 1440],
])("validateFeatureFlagsArgs refuses %s %p", async (field, value, min, max) => {
  const { validateFeatureFlagsArgs } = await import("./feature-flags");
  const base = { stack: "staging", rollbackAlarmArns: alarmArns, taskRoleName: "r" };
  expect(() => validateFeatureFlagsArgs("flags", { ...base, [field]: value })).toThrow(
    `FeatureFlags "flags": ${field} must be a whole number from ${min} to ${max} (got ${value}).`,
  );
});
