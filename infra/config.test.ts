import { parseStackConfig, StackConfigError } from "./config";
import { readStackConfigFile } from "../scripts/lib/offline-program";

const staging = () => readStackConfigFile("staging");
const prod = () => readStackConfigFile("prod");
const withSetting = (raw: Record<string, string>, key: string, value: unknown) => ({ ...raw, [key]: JSON.stringify(value) });
const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(StackConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a StackConfigError");
};

describe("stack config", () => {
  it("parses both real stack files", () => {
    const s = parseStackConfig("staging", staging());
    const p = parseStackConfig("prod", prod());
    expect(s).toMatchObject({ stack: "staging", region: "us-east-1", network: { natGateways: 1 }, database: { multiAz: false } });
    expect(p).toMatchObject({ stack: "prod", network: { natGateways: 2 }, database: { multiAz: true, deletionProtection: true, finalSnapshot: true } });
    // Defaults fill what a stack file leaves out.
    expect(s.alarms.evaluationPeriods).toBe(3);
  });

  it("names a typo and suggests the key", () => {
    const raw = staging();
    const database = JSON.parse(raw["friday:database"]);
    database.instanceClas = database.instanceClass;
    const message = errorOf(() => parseStackConfig("staging", withSetting(raw, "friday:database", database)));
    expect(message).toContain("friday:database.instanceClas is not a setting.");
    expect(message).toContain('Did you mean "instanceClass"?');
    expect(message).toContain("Pulumi.staging.yaml is not valid");
  });

  it("rejects an unknown top-level key", () => {
    const message = errorOf(() => parseStackConfig("staging", withSetting(staging(), "friday:netwrok", { natGateways: 1 })));
    expect(message).toContain('friday:netwrok is not a setting. Did you mean "network"?');
  });

  it("rejects a parity-locked key with where it lives", () => {
    const raw = prod();
    const database = { ...JSON.parse(raw["friday:database"]), engineVersion: "16.4" };
    const message = errorOf(() => parseStackConfig("prod", withSetting(raw, "friday:database", database)));
    expect(message).toContain("friday:database.engineVersion is parity-locked");
    expect(message).toContain("infra/parity.ts (PARITY.database.engineVersion)");
    expect(message).toContain("Remove it from Pulumi.prod.yaml");
  });

  it("rejects a top-level parity-locked key", () => {
    expect(errorOf(() => parseStackConfig("staging", withSetting(staging(), "friday:azCount", 3)))).toContain("friday:azCount is parity-locked");
  });

  it("rejects an invalid value, naming the key, the rule and the value", () => {
    const raw = staging();
    const database = { ...JSON.parse(raw["friday:database"]), instanceClass: "t4g.micro" };
    const message = errorOf(() => parseStackConfig("staging", withSetting(raw, "friday:database", database)));
    expect(message).toContain('friday:database.instanceClass must look like "db.t4g.medium" (got "t4g.micro")');
  });

  it("rejects memory that Fargate does not offer with the cpu", () => {
    const raw = staging();
    const service = { ...JSON.parse(raw["friday:service"]), cpu: 256, memory: 4096 };
    expect(errorOf(() => parseStackConfig("staging", withSetting(raw, "friday:service", service)))).toContain(
      "friday:service.memory is not valid with cpu 256: use 512..2048 in steps of 512 (got 4096)",
    );
  });

  it("rejects counts out of order and NAT counts beyond the AZs", () => {
    const raw = staging();
    const service = { ...JSON.parse(raw["friday:service"]), minCount: 3, desiredCount: 2, maxCount: 4 };
    expect(errorOf(() => parseStackConfig("staging", withSetting(raw, "friday:service", service)))).toContain("minCount <= desiredCount <= maxCount");
    expect(errorOf(() => parseStackConfig("staging", withSetting(raw, "friday:network", { natGateways: 3 })))).toContain("friday:network.natGateways");
  });

  it("requires prod to name its staging stack", () => {
    const raw = prod();
    delete raw["friday:stagingStack"];
    expect(errorOf(() => parseStackConfig("prod", raw))).toContain("friday:stagingStack is missing");
  });

  it("requires a region and a known stack name", () => {
    const raw = staging();
    delete raw["aws:region"];
    expect(errorOf(() => parseStackConfig("staging", raw))).toContain("aws:region is missing");
    expect(errorOf(() => parseStackConfig("dev", staging()))).toContain('the stack is named "dev"');
  });

  it("requires a zone or a certificate with a domain", () => {
    expect(errorOf(() => parseStackConfig("staging", withSetting(staging(), "friday:https", { domainName: "api.example.com" })))).toContain(
      "domainName needs hostedZoneId",
    );
  });
});
