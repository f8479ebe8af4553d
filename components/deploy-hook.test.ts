import * as pulumi from "@pulumi/pulumi";
import { validateDeployHookArgs, type DeployHookArgs } from "./deploy-hook";

const valid: DeployHookArgs = {
  code: new pulumi.asset.AssetArchive({}),
  vpcId: "vpc-1",
  privateSubnetIds: ["subnet-a", "subnet-b"],
  testListenerUrl: "http://alb.example:8443",
  testListenerPort: 8443,
  rollbackAlarmNames: ["friday-test-alb-5xx-rate"],
  rollbackAlarmArns: ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:friday-test-alb-5xx-rate"],
  alarmWatchMinutes: 5,
  smokeTestTimeoutSeconds: 10,
  logRetentionDays: 30,
};

describe("validateDeployHookArgs", () => {
  it("takes the environment's arguments, at both ends of the smoke timeout", () => {
    expect(() => validateDeployHookArgs("hook", valid)).not.toThrow();
    expect(() => validateDeployHookArgs("hook", { ...valid, smokeTestTimeoutSeconds: 1 })).not.toThrow();
    expect(() => validateDeployHookArgs("hook", { ...valid, smokeTestTimeoutSeconds: 60 })).not.toThrow();
  });

  it("refuses a hook with no alarms to watch", () => {
    expect(() => validateDeployHookArgs("hook", { ...valid, rollbackAlarmNames: [] })).toThrow(
      'DeployHook "hook": rollbackAlarmNames is empty: the hook must watch the rollback alarms.',
    );
  });

  it.each([0, 61])("refuses a smoke timeout of %p seconds", (seconds) => {
    expect(() => validateDeployHookArgs("hook", { ...valid, smokeTestTimeoutSeconds: seconds })).toThrow(
      `DeployHook "hook": smokeTestTimeoutSeconds must be 1..60 (got ${seconds}).`,
    );
  });
});
