import { validateAlarmsArgs, type AlarmsArgs } from "./alarms";

const valid: AlarmsArgs = {
  namePrefix: "friday-test",
  loadBalancerArnSuffix: "app/alb/1",
  targetGroupArnSuffixes: ["targetgroup/blue/1", "targetgroup/green/1"],
  dbInstanceIdentifier: "friday-test-db",
  thresholds: { http5xxRatePercent: 5, p99LatencyMs: 2000, unhealthyTargets: 1, dbCpuPercent: 80, dbFreeStorageGb: 5, evaluationPeriods: 3 },
};
const withThresholds = (t: Partial<AlarmsArgs["thresholds"]>): AlarmsArgs => ({ ...valid, thresholds: { ...valid.thresholds, ...t } });

describe("validateAlarmsArgs", () => {
  it("takes the environment's arguments", () => {
    expect(() => validateAlarmsArgs("a", valid)).not.toThrow();
    expect(() => validateAlarmsArgs("a", withThresholds({ http5xxRatePercent: 100, dbCpuPercent: 100 }))).not.toThrow();
  });

  it.each([0, -1, 100.5, Number.NaN])("refuses a 5xx rate of %p percent", (rate) => {
    expect(() => validateAlarmsArgs("a", withThresholds({ http5xxRatePercent: rate }))).toThrow(
      `Alarms "a": thresholds.http5xxRatePercent must be in (0, 100] (got ${rate}).`,
    );
  });

  it.each([0, 101])("refuses a database CPU threshold of %p percent", (cpu) => {
    expect(() => validateAlarmsArgs("a", withThresholds({ dbCpuPercent: cpu }))).toThrow(`Alarms "a": thresholds.dbCpuPercent must be in (0, 100] (got ${cpu}).`);
  });

  it("refuses anything but the blue and the green target group", () => {
    expect(() => validateAlarmsArgs("a", { ...valid, targetGroupArnSuffixes: ["targetgroup/blue/1"] })).toThrow(
      'Alarms "a": targetGroupArnSuffixes needs the blue and the green target group (got 1).',
    );
  });
});
