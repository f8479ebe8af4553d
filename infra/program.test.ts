import { assertStagingIsAhead } from "./engine-version";
import { compareVersions } from "./parity";
import { PARITY } from "./parity";
import { readStackConfigFile, runOffline } from "../scripts/lib/offline-program";

let staging: Record<string, unknown> | undefined;
const stagingOutputs = async () => (staging ??= (await runOffline("staging")).outputs);

describe("the program", () => {
  it("refuses to take prod ahead of staging's engine version, before creating anything", async () => {
    await expect(runOffline("prod", { stagingOutputs: { dbEngineVersion: "16.4" } })).rejects.toThrow(
      `Staging first: prod would run PostgreSQL ${PARITY.database.engineVersion} but staging ("organization/friday/staging") runs 16.4.`,
    );
  });

  it("refuses prod when staging has never been deployed", async () => {
    await expect(runOffline("prod", { stagingOutputs: {} })).rejects.toThrow("has no dbEngineVersion output. Run `pulumi up -s staging` before prod");
  });

  it("lets prod follow staging at the same or an older version", () => {
    expect(() => assertStagingIsAhead("s", PARITY.database.engineVersion, PARITY.database.engineVersion)).not.toThrow();
    expect(() => assertStagingIsAhead("s", "17.7", "17.6")).not.toThrow();
    expect(compareVersions("17.10", "17.9")).toBeGreaterThan(0);
  });

  it("keeps a minor upgrade RDS forced: asks for the version the instance runs, never a downgrade", async () => {
    const run = await runOffline("staging", { liveDatabases: { "friday-staging-db": "17.9" } });
    const db = run.resources.find((r) => r.type === "aws:rds/instance:Instance")!;
    expect(db.inputs).toMatchObject({ engineVersion: "17.9", autoMinorVersionUpgrade: false });
    expect(db.options.ignoreChanges).not.toContain("engineVersion");
    // The published version is what runs (engineVersionActual), so prod's guard and the refresh compare live versions.
    expect(run.outputs.dbEngineVersion).toBe("17.9");
  });

  it("upgrades an instance below PARITY's minimum to the minimum", async () => {
    const run = await runOffline("staging", { liveDatabases: { "friday-staging-db": "17.2" } });
    expect(run.resources.find((r) => r.type === "aws:rds/instance:Instance")!.inputs.engineVersion).toBe(PARITY.database.engineVersion);
  });

  it("compares staging's live version with what prod would ask for", async () => {
    // Staging runs 17.9 (RDS upgraded it): prod, still at the minimum, may follow.
    await expect(runOffline("prod", { stagingOutputs: { ...(await stagingOutputs()), dbEngineVersion: "17.9" } })).resolves.toBeDefined();
    // RDS upgraded prod first: prod keeps what it runs (no change is asked for) and the run warns to upgrade staging.
    const prod = await runOffline("prod", { stagingOutputs: await stagingOutputs(), liveDatabases: { "friday-prod-db": "17.9" } });
    expect(prod.resources.find((r) => r.type === "aws:rds/instance:Instance")!.inputs.engineVersion).toBe("17.9");
    expect(assertStagingIsAhead("s", "17.6", "17.9", "17.9")).toBe(
      'prod runs PostgreSQL 17.9 (upgraded by RDS) but staging ("s") runs 17.6: run `pulumi up --refresh -s staging` (or let RDS upgrade it) so staging runs what prod runs.',
    );
    // Raising the minimum past what staging runs is refused until staging has it.
    expect(() => assertStagingIsAhead("s", "17.6", "17.10", "17.9")).toThrow(
      'Staging first: prod would run PostgreSQL 17.10 but staging ("s") runs 17.6. Run `pulumi up -s staging` first, let it bake, then update prod.',
    );
  });

  it("fails on bad config before registering a single resource", async () => {
    const raw = { ...readStackConfigFile("staging"), "friday:database": JSON.stringify({ instanceClass: "m5.large" }) };
    const attempt = runOffline("staging", { rawConfig: raw });
    await expect(attempt).rejects.toThrow('friday:database.instanceClass must look like "db.t4g.medium" (got "m5.large")');
  });

  it("serves HTTPS with a redirect when the stack names a certificate", async () => {
    const certificateArn = "arn:aws:acm:us-east-1:123456789012:certificate/0b5e6a2c-1111-2222-3333-444455556666";
    const run = await runOffline("staging", { rawConfig: { ...readStackConfigFile("staging"), "friday:https": JSON.stringify({ certificateArn }) } });
    const listeners = run.resources.filter((r) => r.type === "aws:lb/listener:Listener").map((l) => l.inputs);
    expect(listeners).toEqual(expect.arrayContaining([
      expect.objectContaining({ port: 443, protocol: "HTTPS", certificateArn, sslPolicy: expect.stringMatching(/TLS13/) }),
      expect.objectContaining({ port: 80, defaultActions: [expect.objectContaining({ type: "redirect" })] }),
    ]));
    // The HTTPS listener is the one ECS shifts traffic on: forward actions only (docs/aws-notes.md).
    expect(listeners.find((l) => l.port === 443)!.defaultActions.map((a: { type: string }) => a.type)).toEqual(["forward"]);
    const rules = run.resources.filter((r) => r.type === "aws:lb/listenerRule:ListenerRule");
    const redirect = run.resources.find((r) => r.type === "aws:lb/listener:Listener" && r.inputs.port === 80)!;
    expect(rules.filter((r) => r.inputs.listenerArn === redirect.state.arn)).toEqual([]);
    expect(run.outputs.serviceUrl).toMatch(/^https:\/\//);
    expect(run.warnings).toEqual([]);
  });

  it("serves plain HTTP without a certificate", async () => {
    const run = await runOffline("staging");
    const production = run.resources.filter((r) => r.type === "aws:lb/listener:Listener" && r.inputs.port !== PARITY.service.testListenerPort);
    expect(production.map((l) => [l.inputs.port, l.inputs.protocol])).toEqual([[80, "HTTP"]]);
    expect(run.outputs.serviceUrl).toMatch(/^http:\/\//);
    // The one warning an operator gets for it, exactly once.
    expect(run.warnings).toEqual([
      'LoadBalancer "friday-staging-lb": no https.certificateArn or https.domainName in the stack config, so the ALB serves plain HTTP. Set friday:https to serve HTTPS.',
    ]);
  });

  it("takes the images from the stack config for an operator without Docker", async () => {
    const imageUri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/friday-staging-app:v1";
    const opsImageUri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/friday-staging-ops:v1";
    const run = await runOffline("staging", { rawConfig: { ...readStackConfigFile("staging"), "friday:imageUri": imageUri, "friday:opsImageUri": opsImageUri } });
    expect(run.resources.some((r) => r.type === "docker:index/image:Image")).toBe(false);
    const taskDefinition = (suffix: string) => run.resources.find((r) => r.type === "aws:ecs/taskDefinition:TaskDefinition" && r.name.endsWith(suffix))!;
    expect(JSON.parse(taskDefinition("-service-task").inputs.containerDefinitions)[0].image).toBe(imageUri);
    expect(JSON.parse(taskDefinition("-refresh-task").inputs.containerDefinitions)[0].image).toBe(opsImageUri);
  });

  it("builds app/ with Docker into the stack's repository by default, pinned by digest", async () => {
    const run = await runOffline("staging");
    const image = run.resources.find((r) => r.type === "docker:index/image:Image")!;
    expect(image.inputs.imageName).toMatch(/friday-staging-app:bootstrap-[0-9a-f]{16}$/);
    expect(image.inputs.build).toMatchObject({ platform: "linux/arm64" });
    const taskDefinition = run.resources.find((r) => r.type === "aws:ecs/taskDefinition:TaskDefinition" && r.name.endsWith("-service-task"))!;
    expect(JSON.parse(taskDefinition.inputs.containerDefinitions)[0].image).toMatch(/@sha256:[0-9a-f]{64}$/);
    const repository = run.resources.find((r) => r.type === "aws:ecr/repository:Repository")!;
    expect(repository.inputs).toMatchObject({ imageTagMutability: "IMMUTABLE", imageScanningConfiguration: { scanOnPush: true } });
  });
});
