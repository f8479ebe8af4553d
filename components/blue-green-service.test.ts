import { validateBlueGreenServiceArgs, type BlueGreenServiceArgs } from "./blue-green-service";
import { HOOK_STAGES } from "../lambdas/deploy-hook/handler";

const args = (hookStages: string[]): BlueGreenServiceArgs => ({
  serviceName: "friday-test",
  vpcId: "vpc-1",
  privateSubnetIds: ["subnet-a", "subnet-b"],
  loadBalancerSecurityGroupId: "sg-alb",
  image: "app:1",
  repositoryArn: "arn:aws:ecr:us-east-1:123456789012:repository/app",
  containerName: "app",
  containerPort: 8080,
  cpu: 256,
  memory: 512,
  secretArns: [],
  desiredCount: 1,
  minCount: 1,
  maxCount: 2,
  cpuTargetPercent: 60,
  logRetentionDays: 30,
  blueTargetGroupArn: "blue",
  greenTargetGroupArn: "green",
  productionListenerRuleArn: "rule-prod",
  testListenerRuleArn: "rule-test",
  listenerArns: [],
  bakeTimeMinutes: 5,
  rollbackAlarmNames: ["a"],
  hook: { functionArn: "fn", invokeRoleArn: "role", lifecycleStages: hookStages },
});

describe("validateBlueGreenServiceArgs", () => {
  it("takes the stages the deploy hook registers at", () => {
    expect(() => validateBlueGreenServiceArgs("svc", args([...HOOK_STAGES]))).not.toThrow();
  });

  it("refuses a lifecycle stage ECS does not define, naming it and the valid ones", () => {
    expect(() => validateBlueGreenServiceArgs("svc", args(["POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT"]))).toThrow(
      'BlueGreenService "svc": hook.lifecycleStages must name stages ECS defines (RECONCILE_SERVICE, PRE_SCALE_UP, POST_SCALE_UP, ' +
        "TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT, POST_PRODUCTION_TRAFFIC_SHIFT) " +
        '(got ["POST_TEST_TRAFFIC_SHIFT","PRE_PRODUCTION_TRAFFIC_SHIFT"]).',
    );
    expect(() => validateBlueGreenServiceArgs("svc", args([]))).toThrow("hook.lifecycleStages must name stages ECS defines");
  });
});

describe("validateBlueGreenServiceArgs refusals", () => {
  const valid = args([...HOOK_STAGES]);

  it("refuses a task CPU Fargate does not offer", () => {
    expect(() => validateBlueGreenServiceArgs("svc", { ...valid, cpu: 300 })).toThrow('BlueGreenService "svc": cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384 (got 300).');
  });

  it.each([[0, 1, 2], [2, 1, 3], [1, 3, 2]])("refuses the counts min %p, desired %p, max %p", (minCount, desiredCount, maxCount) => {
    expect(() => validateBlueGreenServiceArgs("svc", { ...valid, minCount, desiredCount, maxCount })).toThrow(
      `BlueGreenService "svc": counts must satisfy 1 <= minCount <= desiredCount <= maxCount (got ${minCount}/${desiredCount}/${maxCount}).`,
    );
  });

  it("refuses a deployment with no alarms to roll back on", () => {
    expect(() => validateBlueGreenServiceArgs("svc", { ...valid, rollbackAlarmNames: [] })).toThrow(
      'BlueGreenService "svc": rollbackAlarmNames is empty: deployments must roll back on alarms.',
    );
  });

  it.each([-1, 1441])("refuses a bake time of %p minutes", (bakeTimeMinutes) => {
    expect(() => validateBlueGreenServiceArgs("svc", { ...valid, bakeTimeMinutes })).toThrow(`BlueGreenService "svc": bakeTimeMinutes must be 0..1440 (got ${bakeTimeMinutes}).`);
  });

  it.each(["DB_PASSWORD", "api_secret", "GithubToken"])("refuses %p as a plain environment variable", (key) => {
    expect(() => validateBlueGreenServiceArgs("svc", { ...valid, environment: { PORT: "8080", [key]: "x" } })).toThrow(
      `BlueGreenService "svc": environment.${key} looks like a secret: pass it in secrets (from Secrets Manager), never as a plain value.`,
    );
  });
});
