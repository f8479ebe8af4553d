import { readStackConfigFile, runOffline, type OfflineRun } from "../scripts/lib/offline-program";

/** The feature flags as the real program composes them, per stack (real Pulumi.<stack>.yaml, under mocks). */

let staging: OfflineRun;
let prod: OfflineRun;

beforeAll(async () => {
  staging = await runOffline("staging");
  prod = await runOffline("prod", { stagingOutputs: staging.outputs });
});

const ofType = (run: OfflineRun, type: string) => run.resources.filter((r) => r.type === type);

describe.each(["staging", "prod"])("feature flags in the %s program", (stack) => {
  const run = () => (stack === "prod" ? prod : staging);
  const byType = (type: string) => {
    const found = ofType(run(), type);
    expect(found).toHaveLength(1);
    return found[0];
  };

  it("provisions application friday-<stack>, environment <stack> and the FeatureFlags profile `flags`", () => {
    expect(readStackConfigFile(stack)).toBeDefined();
    expect(byType("friday:flags:FeatureFlags")).toBeDefined();
    expect(byType("aws:appconfig/application:Application").inputs.name).toBe(`friday-${stack}`);
    expect(byType("aws:appconfig/environment:Environment").inputs.name).toBe(stack);
    expect(byType("aws:appconfig/configurationProfile:ConfigurationProfile").inputs).toMatchObject({ name: "flags", type: "AWS.AppConfig.FeatureFlags" });
    expect(ofType(run(), "aws:appconfig/deploymentStrategy:DeploymentStrategy").map((s) => s.inputs.name).sort()).toEqual([`friday-${stack}-gradual`, `friday-${stack}-immediate`]);
  });

  it("monitors the flag environment with exactly the service's rollback alarms", () => {
    const service = byType("aws:ecs/service:Service");
    const rollbackAlarms = ofType(run(), "aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => service.inputs.alarms.alarmNames.includes(a.inputs.name));
    expect(rollbackAlarms.length).toBeGreaterThan(0);
    const monitors = byType("aws:appconfig/environment:Environment").inputs.monitors as Array<{ alarmArn: string; alarmRoleArn: string }>;
    expect(monitors.map((m) => m.alarmArn).sort()).toEqual(rollbackAlarms.map((a) => a.state.arn).sort());
    const monitorRole = ofType(run(), "aws:iam/role:Role").find((r) => r.name.endsWith("-flags-monitor-role"))!;
    for (const monitor of monitors) expect(monitor.alarmRoleArn).toBe(monitorRole.state.arn);
  });

  it("runs the AppConfig Agent as a sidecar prefetching this stack's flags, and points the app at it", () => {
    const service = byType("aws:ecs/service:Service");
    const taskDefinition = ofType(run(), "aws:ecs/taskDefinition:TaskDefinition").find((t) => t.state.arn === service.inputs.taskDefinition)!;
    expect(taskDefinition).toBeDefined();
    const containers = JSON.parse(taskDefinition.inputs.containerDefinitions) as Array<Record<string, any>>;
    const agent = containers.find((c) => c.name === "appconfig-agent")!;
    expect(agent).toMatchObject({ essential: false, image: expect.stringMatching(/^public\.ecr\.aws\/aws-appconfig\/aws-appconfig-agent:/), portMappings: [{ containerPort: 2772 }] });
    expect(agent.environment).toContainEqual({ name: "PREFETCH_LIST", value: `/applications/friday-${stack}/environments/${stack}/configurations/flags` });
    const app = containers.find((c) => c.essential !== false)!;
    expect(app.environment).toEqual(expect.arrayContaining([
      { name: "APPCONFIG_APPLICATION", value: `friday-${stack}` },
      { name: "APPCONFIG_ENVIRONMENT", value: stack },
    ]));
  });

  it("lets the task role read only its own flags: two actions, one profile ARN", () => {
    const service = byType("aws:ecs/service:Service");
    const taskDefinition = ofType(run(), "aws:ecs/taskDefinition:TaskDefinition").find((t) => t.state.arn === service.inputs.taskDefinition)!;
    const taskRole = ofType(run(), "aws:iam/role:Role").find((r) => r.state.arn === taskDefinition.inputs.taskRoleArn)!;
    expect(taskRole).toBeDefined();
    const read = ofType(run(), "aws:iam/rolePolicy:RolePolicy").find((p) => p.name.endsWith("-flags-task-read"))!;
    expect(read.inputs.role).toBe(taskRole.state.name ?? taskRole.inputs.name);
    const [statement, ...rest] = JSON.parse(read.inputs.policy).Statement;
    expect(rest).toEqual([]);
    expect(statement.Action).toEqual(["appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration"]);
    const environment = byType("aws:appconfig/environment:Environment");
    const profile = byType("aws:appconfig/configurationProfile:ConfigurationProfile");
    expect(statement.Resource).toBe(`${environment.state.arn}/configuration/${profile.state.configurationProfileId}`);
    const others = ofType(run(), "aws:iam/rolePolicy:RolePolicy").filter((p) => p !== read && JSON.stringify(p.inputs.policy).includes("appconfig:"));
    expect(others.map((p) => p.name)).toEqual([]);
  });
});
