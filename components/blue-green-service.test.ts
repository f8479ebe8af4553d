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
