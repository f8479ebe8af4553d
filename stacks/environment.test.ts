import * as aws from "@pulumi/aws";
import { PARITY } from "../infra/parity";
import { DEPLOY_HOOK_RUNTIME } from "../lambdas/deploy-hook/bundle";
import { parameterName, STACK_PARAMETERS, type StackParameterKey } from "../infra/stack-parameters";
import { readStackConfigFile, runOffline, type OfflineRun, type RecordedResource } from "../scripts/lib/offline-program";
import { diffStacks, formatDiffTable, isOneSided, ONE_SIDED_RESOURCES, parityViolations, PER_STACK_KNOBS, resourceKey } from "../scripts/lib/stack-diff";
import { UNSCOPABLE_INFRA_ACTIONS } from "../components/infra-delivery-policies";

let staging: OfflineRun;
let prod: OfflineRun;

beforeAll(async () => {
  staging = await runOffline("staging");
  prod = await runOffline("prod", { stagingOutputs: staging.outputs });
});

const ofType = (run: OfflineRun, type: string) => run.resources.filter((r) => r.type === type);
const one = (run: OfflineRun, type: string, nameSuffix = ""): RecordedResource => {
  const found = ofType(run, type).filter((r) => r.name.endsWith(nameSuffix));
  expect(found.map((r) => r.name)).toHaveLength(1);
  return found[0];
};
const policyDocuments = (run: OfflineRun) =>
  [...ofType(run, "aws:iam/rolePolicy:RolePolicy"), ...ofType(run, "aws:iam/policy:Policy")].map((r) => ({ name: r.name, doc: JSON.parse(r.inputs.policy) }));

describe.each(["staging", "prod"])("the %s environment", (stackName) => {
  const run = () => (stackName === "prod" ? prod : staging);

  it("warns, once, that the ALB serves plain HTTP (the stack file names no certificate)", () => {
    expect(readStackConfigFile(stackName)["friday:https"]).toBeUndefined();
    expect(run().warnings).toEqual([expect.stringMatching(new RegExp(`^LoadBalancer "friday-${stackName}-lb": no https\\.certificateArn .* Set friday:https to serve HTTPS\\.$`))]);
  });

  it("runs ECS native blue/green with bake time, circuit breaker, alarm rollback and the lifecycle hook", () => {
    const service = one(run(), "aws:ecs/service:Service");
    const config = readStackConfigFile(stackName);
    const bake = JSON.parse(config["friday:deploy"]).bakeTimeMinutes;
    expect(service.inputs).toMatchObject({
      deploymentController: { type: "ECS" },
      deploymentConfiguration: {
        strategy: "BLUE_GREEN",
        bakeTimeInMinutes: String(bake),
        lifecycleHooks: [{ lifecycleStages: ["POST_TEST_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"] }],
      },
      deploymentCircuitBreaker: { enable: true, rollback: true },
      alarms: { enable: true, rollback: true },
      launchType: "FARGATE",
      networkConfiguration: { assignPublicIp: false },
    });
    const hook = one(run(), "aws:lambda/function:Function");
    expect(service.inputs.deploymentConfiguration.lifecycleHooks[0].hookTargetArn).toBe(hook.state.arn);
    // The runtime the bundle was built for, and one Lambda knows.
    expect(hook.inputs.runtime).toBe(DEPLOY_HOOK_RUNTIME);
    expect(Object.values(aws.lambda.Runtime)).toContain(hook.inputs.runtime);
    const [lb] = service.inputs.loadBalancers;
    const blue = one(run(), "aws:lb/targetGroup:TargetGroup", "-blue");
    const green = one(run(), "aws:lb/targetGroup:TargetGroup", "-green");
    const rules = ofType(run(), "aws:lb/listenerRule:ListenerRule");
    expect(lb).toMatchObject({
      containerName: PARITY.service.containerName,
      containerPort: PARITY.service.containerPort,
      targetGroupArn: blue.state.arn,
      advancedConfiguration: {
        alternateTargetGroupArn: green.state.arn,
        productionListenerRule: rules.find((r) => r.name.endsWith("production-rule"))!.state.arn,
        testListenerRule: rules.find((r) => r.name.endsWith("test-rule"))!.state.arn,
      },
    });
    const infrastructureRole = one(run(), "aws:iam/role:Role", "-infrastructure-role");
    expect(lb.advancedConfiguration.roleArn).toBe(infrastructureRole.state.arn);
    expect(JSON.parse(infrastructureRole.inputs.assumeRolePolicy).Statement[0].Principal).toEqual({ Service: "ecs.amazonaws.com" });
  });

  it("rolls back on exactly the alarm set, and every alarm notifies the topic", () => {
    const service = one(run(), "aws:ecs/service:Service");
    const alarms = ofType(run(), "aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => a.name.includes("-alarms-"));
    const topic = one(run(), "aws:sns/topic:Topic");
    expect(service.inputs.alarms.alarmNames).toEqual(PARITY.alarmSet.map((key) => `friday-${stackName}-${key}`));
    expect(alarms.map((a) => a.inputs.name).sort()).toEqual([...service.inputs.alarms.alarmNames].sort());
    for (const alarm of ofType(run(), "aws:cloudwatch/metricAlarm:MetricAlarm")) expect(alarm.inputs.alarmActions).toEqual([topic.state.arn]);
    // A key of its own: CloudWatch and EventBridge cannot publish to a topic under the AWS-managed SNS key.
    const key = one(run(), "aws:kms/key:Key", "-topic-key");
    expect(topic.inputs.kmsMasterKeyId).toBe(key.state.arn);
    const services = JSON.parse(key.inputs.policy).Statement.find((s: { Sid: string }) => s.Sid === "ServicesPublish");
    expect(services.Principal.Service).toEqual(expect.arrayContaining(["cloudwatch.amazonaws.com", "events.amazonaws.com"]));
    expect(services.Action).toEqual(["kms:Decrypt", "kms:GenerateDataKey"]);
    const hook = one(run(), "aws:lambda/function:Function");
    expect(hook.inputs.environment.variables.ROLLBACK_ALARM_NAMES.split(",")).toEqual(service.inputs.alarms.alarmNames);
  });

  it("never lets Pulumi revert a deploy or fight the blue/green swaps", () => {
    const service = one(run(), "aws:ecs/service:Service");
    expect(service.options.ignoreChanges).toEqual(expect.arrayContaining(["taskDefinition", "loadBalancers", "desiredCount"]));
    for (const rule of ofType(run(), "aws:lb/listenerRule:ListenerRule")) {
      expect(rule.options.ignoreChanges).toContain("actions");
      expect(rule.inputs.actions[0].forward.targetGroups.map((t: { weight: number }) => t.weight)).toEqual([100, 0]);
    }
    expect(one(run(), "aws:ecs/taskDefinition:TaskDefinition", "-service-task").inputs.skipDestroy).toBe(true);
  });

  it("gives ECS listeners with forward actions only, default included, and leaves their default action to ECS", () => {
    // ECS blue/green fails on listeners mixing forward and non-forward actions (docs/aws-notes.md).
    const blue = one(run(), "aws:lb/targetGroup:TargetGroup", "-blue").state.arn;
    const green = one(run(), "aws:lb/targetGroup:TargetGroup", "-green").state.arn;
    const rules = ofType(run(), "aws:lb/listenerRule:ListenerRule");
    const listeners = ofType(run(), "aws:lb/listener:Listener").filter((l) => rules.some((r) => r.inputs.listenerArn === l.state.arn));
    expect(listeners).toHaveLength(2); // production and test
    for (const listener of listeners) {
      const actions = [...listener.inputs.defaultActions, ...rules.filter((r) => r.inputs.listenerArn === listener.state.arn).flatMap((r) => r.inputs.actions)];
      expect(actions.map((a: { type: string }) => a.type)).toEqual(actions.map(() => "forward"));
      expect(listener.inputs.defaultActions).toEqual([{ type: "forward", forward: { targetGroups: [{ arn: blue, weight: 100 }, { arn: green, weight: 0 }] } }]);
      expect(listener.options.ignoreChanges).toContain("defaultActions");
    }
  });

  it("keeps the test listener off the internet", () => {
    const testListener = ofType(run(), "aws:lb/listener:Listener").find((l) => l.inputs.port === PARITY.service.testListenerPort)!;
    expect(testListener).toBeDefined();
    const albSg = one(run(), "aws:ec2/securityGroup:SecurityGroup", "-lb-sg");
    const testIngress = albSg.inputs.ingress.filter((r: { fromPort: number }) => r.fromPort === PARITY.service.testListenerPort);
    const natIps = ofType(run(), "aws:ec2/eip:Eip").map((e) => `${e.state.publicIp}/32`);
    expect(testIngress).toHaveLength(1);
    expect(testIngress[0].cidrBlocks.sort()).toEqual(natIps.sort());
    expect(testIngress[0].cidrBlocks).not.toContain("0.0.0.0/0");
    expect(testIngress[0].ipv6CidrBlocks ?? []).toHaveLength(0);
  });

  it("runs PostgreSQL private, encrypted, with an RDS-managed secret and the parity parameter group", () => {
    const db = one(run(), "aws:rds/instance:Instance");
    expect(db.inputs).toMatchObject({
      identifier: `friday-${stackName}-db`,
      engine: "postgres",
      engineVersion: PARITY.database.engineVersion,
      publiclyAccessible: false,
      storageEncrypted: true,
      manageMasterUserPassword: true,
      performanceInsightsEnabled: true,
      autoMinorVersionUpgrade: false,
    });
    expect(db.inputs.password).toBeUndefined();
    expect(db.inputs.backupRetentionPeriod).toBeGreaterThan(0);
    const params = one(run(), "aws:rds/parameterGroup:ParameterGroup");
    expect(params.inputs.family).toBe(PARITY.database.parameterGroupFamily);
    const byName = Object.fromEntries(params.inputs.parameters.map((p: { name: string; value: string }) => [p.name, p.value]));
    expect(byName).toMatchObject({ log_lock_waits: "1", log_min_duration_statement: "500" });
    const subnetGroup = one(run(), "aws:rds/subnetGroup:SubnetGroup");
    const privateSubnets = ofType(run(), "aws:ec2/subnet:Subnet").filter((s) => s.name.includes("-private-"));
    expect(subnetGroup.inputs.subnetIds.sort()).toEqual(privateSubnets.map((s) => s.state.id ?? `${s.name}-id`).sort());
    // Only the service (and, in staging, the refresh job) may connect.
    const dbSg = one(run(), "aws:ec2/securityGroup:SecurityGroup", "-db-sg");
    const ingress = ofType(run(), "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").filter((r) => r.inputs.securityGroupId === `${dbSg.name}-id`);
    const serviceSg = one(run(), "aws:ec2/securityGroup:SecurityGroup", "-service-sg");
    const clients = [`${serviceSg.name}-id`, ...(stackName === "staging" ? ["friday-staging-refresh-job-sg-id"] : [])];
    expect(ingress.map((r) => r.inputs.referencedSecurityGroupId).sort()).toEqual(clients.sort());
    for (const rule of ingress) expect(rule.inputs).toMatchObject({ fromPort: 5432, toPort: 5432 });
  });

  it("gives the app its database credentials through ECS secrets, never plain environment", () => {
    const taskDefinition = one(run(), "aws:ecs/taskDefinition:TaskDefinition", "-service-task");
    const [app] = JSON.parse(taskDefinition.inputs.containerDefinitions);
    const secretArn = one(run(), "aws:rds/instance:Instance").state.masterUserSecrets[0].secretArn;
    expect(app.secrets).toEqual(expect.arrayContaining([
      { name: "PGUSER", valueFrom: `${secretArn}:username::` },
      { name: "PGPASSWORD", valueFrom: `${secretArn}:password::` },
    ]));
    const envNames = app.environment.map((e: { name: string }) => e.name);
    expect(envNames).toEqual(expect.arrayContaining(["PGHOST", "PGDATABASE", "PGSSLMODE"]));
    expect(envNames.filter((n: string) => /PASSWORD|SECRET/.test(n))).toEqual([]);
    expect(app.logConfiguration.logDriver).toBe("awslogs");
    const containers = JSON.parse(taskDefinition.inputs.containerDefinitions);
    expect(containers.map((c: { name: string }) => c.name)).toEqual([PARITY.service.containerName, "appconfig-agent"]);
    expect(app.dependsOn).toEqual([{ containerName: "appconfig-agent", condition: "START" }]);
    expect(taskDefinition.inputs.runtimePlatform).toEqual({ operatingSystemFamily: "LINUX", cpuArchitecture: PARITY.service.cpuArchitecture });
  });

  it("scales on CPU within the stack's range", () => {
    const service = JSON.parse(readStackConfigFile(stackName)["friday:service"]);
    expect(one(run(), "aws:appautoscaling/target:Target").inputs).toMatchObject({ minCapacity: service.minCount, maxCapacity: service.maxCount });
    expect(one(run(), "aws:appautoscaling/policy:Policy").inputs.targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification).toEqual({
      predefinedMetricType: "ECSServiceAverageCPUUtilization",
    });
  });

  it("publishes every identifier as an output and as an SSM parameter under /friday/<stack>/", () => {
    const keys = Object.keys(STACK_PARAMETERS) as StackParameterKey[];
    for (const key of keys) expect(typeof run().outputs[key]).toBe("string");
    const names = ofType(run(), "aws:ssm/parameter:Parameter").map((p) => p.inputs.name);
    for (const key of keys) expect(names).toContain(`/friday/${stackName}/${STACK_PARAMETERS[key]}`);
    expect(run().outputs.dbEngineVersion).toBe(PARITY.database.engineVersion);
  });

  it("grants least privilege: no wildcard actions, wildcard resources only where AWS allows nothing narrower", () => {
    // ListTasks is scoped by an ecs:cluster condition instead (checked in the refresh component's tests).
    const unscopable = /^(ecs:ListTasks|ecs:(Register|Describe)TaskDefinition|ec2:(Create|Delete)NetworkInterfaces?|ec2:Describe\w+|ec2:(Assign|Unassign)PrivateIpAddresses|ecr:GetAuthorizationToken|elasticloadbalancing:Describe\w+)$/;
    for (const { name, doc } of policyDocuments(run())) {
      for (const statement of doc.Statement) {
        const actions = [].concat(statement.Action);
        // A deny may name whole services (the infra roles' denies of the other stack): it can only narrow.
        if (statement.Effect === "Deny") continue;
        for (const action of actions as string[]) expect(`${name}: ${action}`).not.toMatch(/\*/);
        if ([].concat(statement.Resource).includes("*" as never)) {
          // The infra roles' list is checked against AWS's authorization data in test/iam-simulation.test.ts.
          for (const action of actions as string[]) {
            const kind = unscopable.test(action) || UNSCOPABLE_INFRA_ACTIONS.includes(action) ? "unscopable" : "takes a resource type";
            expect(`${name}: ${action}: ${kind}`).toBe(`${name}: ${action}: unscopable`);
          }
        }
      }
    }
    const hookPolicy = policyDocuments(run()).find((p) => p.name.endsWith("-deploy-hook-policy"))!.doc;
    const watch = hookPolicy.Statement.find((s: { Sid: string }) => s.Sid === "WatchRollbackAlarms");
    expect(watch.Action).toEqual(["cloudwatch:DescribeAlarms"]);
    const rollbackAlarms = ofType(run(), "aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => a.name.includes("-alarms-"));
    expect([...watch.Resource].sort()).toEqual(rollbackAlarms.map((a) => a.state.arn).sort());
    const execution = policyDocuments(run()).find((p) => p.name.endsWith("-service-execution-policy"))!.doc;
    const secrets = execution.Statement.find((s: { Sid: string }) => s.Sid === "TaskSecrets");
    // By owner, not by ARN: the staging refresh swaps in an instance with a managed secret of its own.
    const db = one(run(), "aws:rds/instance:Instance");
    const secretArn: string = db.state.masterUserSecrets[0].secretArn;
    const [, partition, , region, account] = secretArn.split(":");
    expect(secrets.Resource).toEqual([`arn:${partition}:secretsmanager:${region}:${account}:secret:rds!db-*`]);
    expect(secrets.Condition).toEqual({
      StringLike: {
        "aws:ResourceTag/aws:rds:primaryDBInstanceArn": [
          `arn:${partition}:rds:${region}:${account}:db:${db.inputs.identifier}`,
          `arn:${partition}:rds:${region}:${account}:db:friday-${stackName}-refresh-*-new`,
        ],
      },
    });
    expect(execution.Statement.some((s: { Sid: string }) => s.Sid === "TaskOtherSecrets")).toBe(false);
  });

  it("spans the parity AZ count with private subnets for tasks and the database", () => {
    expect(ofType(run(), "aws:ec2/subnet:Subnet")).toHaveLength(PARITY.azCount * 2);
    const natCount = JSON.parse(readStackConfigFile(stackName)["friday:network"]).natGateways;
    expect(ofType(run(), "aws:ec2/natGateway:NatGateway")).toHaveLength(natCount);
    expect(ofType(run(), "aws:ec2/vpcEndpoint:VpcEndpoint").length).toBeGreaterThanOrEqual(5);
  });
});

describe.each(["staging", "prod"])("feature flags in the %s program", (stackName) => {
  const run = () => (stackName === "prod" ? prod : staging);

  it("provisions application friday-<stack>, environment <stack> and the FeatureFlags profile `flags`", () => {
    one(run(), "friday:flags:FeatureFlags");
    const application = one(run(), "aws:appconfig/application:Application");
    expect(application.inputs.name).toBe(`friday-${stackName}`);
    expect(application.inputs.tags).toMatchObject({ "friday:stack": stackName });
    expect(one(run(), "aws:appconfig/environment:Environment").inputs.name).toBe(stackName);
    expect(one(run(), "aws:appconfig/configurationProfile:ConfigurationProfile").inputs).toMatchObject({ name: "flags", type: "AWS.AppConfig.FeatureFlags" });
    expect(ofType(run(), "aws:appconfig/deploymentStrategy:DeploymentStrategy").map((s) => s.inputs.name).sort()).toEqual([`friday-${stackName}-gradual`, `friday-${stackName}-immediate`]);
  });

  it("monitors the flag environment with exactly the service's rollback alarms", () => {
    const service = one(run(), "aws:ecs/service:Service");
    const rollbackAlarms = ofType(run(), "aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => service.inputs.alarms.alarmNames.includes(a.inputs.name));
    expect(rollbackAlarms.length).toBeGreaterThan(0);
    const monitors = one(run(), "aws:appconfig/environment:Environment").inputs.monitors as Array<{ alarmArn: string; alarmRoleArn: string }>;
    expect(monitors.map((m) => m.alarmArn).sort()).toEqual(rollbackAlarms.map((a) => a.state.arn).sort());
    const monitorRole = one(run(), "aws:iam/role:Role", "-flags-monitor-role");
    for (const monitor of monitors) expect(monitor.alarmRoleArn).toBe(monitorRole.state.arn);
  });

  it("runs the AppConfig Agent as a sidecar prefetching this stack's flags, and points the app at it", () => {
    const service = one(run(), "aws:ecs/service:Service");
    const taskDefinition = ofType(run(), "aws:ecs/taskDefinition:TaskDefinition").find((t) => t.state.arn === service.inputs.taskDefinition)!;
    expect(taskDefinition).toBeDefined();
    const containers = JSON.parse(taskDefinition.inputs.containerDefinitions) as Array<Record<string, any>>;
    const agent = containers.find((c) => c.name === "appconfig-agent")!;
    expect(agent).toMatchObject({ essential: false, image: expect.stringMatching(/^public\.ecr\.aws\/aws-appconfig\/aws-appconfig-agent:/), portMappings: [{ containerPort: 2772 }] });
    expect(agent.environment).toContainEqual({ name: "PREFETCH_LIST", value: `/applications/friday-${stackName}/environments/${stackName}/configurations/flags` });
    const app = containers.find((c) => c.essential !== false)!;
    expect(app.environment).toEqual(expect.arrayContaining([
      { name: "APPCONFIG_APPLICATION", value: `friday-${stackName}` },
      { name: "APPCONFIG_ENVIRONMENT", value: stackName },
    ]));
  });

  it("lets the task role read only its own flags: two actions, one profile ARN", () => {
    const service = one(run(), "aws:ecs/service:Service");
    const taskDefinition = ofType(run(), "aws:ecs/taskDefinition:TaskDefinition").find((t) => t.state.arn === service.inputs.taskDefinition)!;
    const taskRole = ofType(run(), "aws:iam/role:Role").find((r) => r.state.arn === taskDefinition.inputs.taskRoleArn)!;
    expect(taskRole).toBeDefined();
    const read = one(run(), "aws:iam/rolePolicy:RolePolicy", "-flags-task-read");
    expect(read.inputs.role).toBe(taskRole.state.name ?? taskRole.inputs.name);
    const [statement, ...rest] = JSON.parse(read.inputs.policy).Statement;
    expect(rest).toEqual([]);
    expect(statement.Action).toEqual(["appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration"]);
    const environment = one(run(), "aws:appconfig/environment:Environment");
    const profile = one(run(), "aws:appconfig/configurationProfile:ConfigurationProfile");
    expect(statement.Resource).toBe(`${environment.state.arn}/configuration/${profile.state.configurationProfileId}`);
    const others = ofType(run(), "aws:iam/rolePolicy:RolePolicy").filter((p) => p !== read && JSON.stringify(p.inputs.policy).includes("appconfig:"));
    expect(others.map((p) => p.name)).toEqual([]);
  });
});

describe("StackParameters", () => {
  const parameters = (run: OfflineRun) => run.resources.filter((r) => r.type === "aws:ssm/parameter:Parameter" && String(r.inputs.name).startsWith(`/friday/${run.stack}/`) && !String(r.inputs.name).includes("/staging-refresh/"));

  it.each(["staging", "prod"])("%s: db-secret-arn is the stack's only at creation (the staging refresh moves it); every other parameter follows the stack", (stack) => {
    const run = stack === "staging" ? staging : prod;
    const all = parameters(run);
    const secret = all.find((p) => p.inputs.name === parameterName(stack, "dbSecretArn"));
    expect(secret).toBeDefined();
    expect(secret!.options.ignoreChanges).toEqual(["value"]);
    expect(secret!.inputs.value).toMatch(/^arn:aws:secretsmanager:.*:secret:rds!db-/);
    const others = all.filter((p) => p !== secret);
    expect(others.length).toBeGreaterThan(20);
    for (const p of others) expect([p.inputs.name, p.options.ignoreChanges]).toEqual([p.inputs.name, []]);
  });
});

describe("parity between staging and prod", () => {
  it("differs only in the per-stack knobs", () => {
    const diff = diffStacks(staging, prod);
    // Every difference appears in the table `friday plan` prints.
    const table = formatDiffTable(diff);
    for (const d of diff.differences) expect(table).toContain(d.path);
    expect(parityViolations(diff)).toEqual([]);
    // And the knobs that must differ do.
    expect(diff.differences.map((d) => `${d.type} ${d.path}`)).toEqual(expect.arrayContaining([
      "aws:rds/instance:Instance instanceClass",
      "aws:rds/instance:Instance multiAz",
      "aws:rds/instance:Instance deletionProtection",
    ]));
    expect(diff.onlyInProd).toEqual(expect.arrayContaining([expect.stringMatching(/^aws:ec2\/natGateway:NatGateway /)]));
  });

  it("names in its allow-list only resources the stacks have (a renamed resource cannot leave a stale entry)", () => {
    const keys = (run: OfflineRun) => new Set(run.resources.map(resourceKey));
    for (const knob of PER_STACK_KNOBS) {
      expect([knob.resource, keys(staging).has(knob.resource), keys(prod).has(knob.resource)]).toEqual([knob.resource, true, true]);
    }
    for (const key of ONE_SIDED_RESOURCES) expect([key, keys(prod).has(key)]).toEqual([key, true]);
  });

  it("runs the same engine, version, family and parameters", () => {
    const engine = (run: OfflineRun) => {
      const db = one(run, "aws:rds/instance:Instance").inputs;
      const params = one(run, "aws:rds/parameterGroup:ParameterGroup").inputs;
      return { engine: db.engine, version: db.engineVersion, family: params.family, parameters: params.parameters };
    };
    expect(engine(prod)).toEqual(engine(staging));
  });

  it("has the same resource types in the same numbers, but for NAT gateways and what one stack composes by design", () => {
    const oneSided = (r: RecordedResource) => isOneSided(r, "prod") || isOneSided(r, "staging");
    const census = (run: OfflineRun) => {
      const counts: Record<string, number> = {};
      for (const r of run.resources) if (!/natGateway|ec2\/eip/.test(r.type) && !oneSided(r)) counts[r.type] = (counts[r.type] ?? 0) + 1;
      return counts;
    };
    expect(census(prod)).toEqual(census(staging));
  });
});
