import { PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { DeleteParameterCommand, PutParameterCommand } from "@aws-sdk/client-ssm";
import { ModifyDBInstanceCommand, RestoreDBInstanceFromDBSnapshotCommand } from "@aws-sdk/client-rds";
import { PublishCommand } from "@aws-sdk/client-sns";
import { RegisterTaskDefinitionCommand, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { mergeTags, refreshStaging, TAG } from "./refresh";
import {
  API_KEY_SECRET,
  APP_FAMILY,
  appCanConnect,
  calls,
  clients,
  dbSteps,
  ecs,
  fake,
  HAPPY_MUTATIONS,
  ISOLATED_SG,
  KEY_SECRET,
  leftovers,
  lines,
  LOCK_PARAMETER,
  mutations,
  NAMES,
  NEW_SECRET,
  options,
  PARAMETERS,
  PREVIOUS,
  PROD,
  PULUMI_TAGS,
  rds,
  REGION,
  RUN,
  secretPuts,
  secrets,
  service,
  sns,
  ssm,
  STAGING,
  STAGING_DB_SG,
  STAGING_SECRET,
  START,
  tdArn,
  TEMP_PASSWORD,
  useFakeAws,
  world,
} from "./refresh/testing/fake-aws";

// The orchestrator end to end on the fakes: a run that goes through, step by step. Bad input is in
// refresh/prepare.test.ts, failures and their recovery in refresh/recover.test.ts, resuming after a
// crash in refresh-resume.test.ts.

useFakeAws();

describe("refreshStaging: the happy path", () => {
  it("snapshots prod, restores in isolation, scrubs, verifies, swaps and cleans up, in that order", async () => {
    const steps = dbSteps();
    const report = await refreshStaging(clients, steps, options());

    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ ok: true, runId: RUN, resumed: false, recovery: [] });
    expect(report.steps.map((s) => s.status)).toEqual(["done", "done", "done", "done", "done", "done"]);
    expect(mutations()).toEqual(HAPPY_MUTATIONS);
    expect(calls).toEqual(["loadRules", "takeSample", "scrub", "verify", "prewarm"]);
    // The run held the lock (created only if absent) and let go of it at the end.
    expect(ssm).toHaveReceivedCommandWith(PutParameterCommand, { Name: LOCK_PARAMETER, Overwrite: false, Type: "String" });
    expect(ssm).toHaveReceivedCommandWith(DeleteParameterCommand, { Name: LOCK_PARAMETER });
    expect(PARAMETERS[LOCK_PARAMETER]).toBeUndefined();

    // The isolated instance: staging's engine, parameter and subnet groups; the isolated SG only; private.
    expect(rds).toHaveReceivedCommandWith(RestoreDBInstanceFromDBSnapshotCommand, {
      DBInstanceIdentifier: NAMES.isolated,
      DBParameterGroupName: "friday-staging-db-postgres17",
      DBSubnetGroupName: "friday-staging-db-subnets",
      VpcSecurityGroupIds: [ISOLATED_SG],
      PubliclyAccessible: false,
      BackupRetentionPeriod: 0,
    });
    // The replacement: staging's security groups; prewarmed over a temporary password, then RDS
    // manages its password in a secret of its own (nothing copied from staging's secret).
    expect(rds).toHaveReceivedCommandWith(RestoreDBInstanceFromDBSnapshotCommand, { DBInstanceIdentifier: NAMES.replacement, VpcSecurityGroupIds: [STAGING_DB_SG], PubliclyAccessible: false });
    expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, { DBInstanceIdentifier: NAMES.isolated, MasterUserPassword: TEMP_PASSWORD, ApplyImmediately: true });
    expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, { DBInstanceIdentifier: NAMES.replacement, MasterUserPassword: TEMP_PASSWORD, ApplyImmediately: true });
    expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, { DBInstanceIdentifier: NAMES.replacement, ManageMasterUserPassword: true, ApplyImmediately: true });

    // Scrub and verify ran on the isolated instance, with the key and the configured concurrency.
    const scrubInput = steps.scrub.mock.calls[0][0];
    expect(scrubInput.databaseUrl).toBe(`postgres://friday:${TEMP_PASSWORD}@${NAMES.isolated}.abc123.${REGION}.rds.amazonaws.com:5432/app?sslmode=no-verify`);
    expect(scrubInput).toMatchObject({ key: Buffer.from("k".repeat(64)), concurrency: 3, rules: { tables: {} } });
    expect(steps.verify.mock.calls[0][0]).toMatchObject({ databaseUrl: scrubInput.databaseUrl, before: { sample: ["alice@example.com"] } });
    expect(steps.prewarm.mock.calls[0][0].databaseUrl).toBe(`postgres://friday:${TEMP_PASSWORD}@${NAMES.replacement}.abc123.${REGION}.rds.amazonaws.com:5432/app?sslmode=no-verify`);

    // The result: scrubbed data under staging's name, the old one kept as -previous for 72 h, nothing else.
    expect(world.instances.get(STAGING)?.data).toBe("prod+scrubbed");
    const previous = world.instances.get(PREVIOUS)!;
    expect(previous.data).toBe("staging-old");
    const keepUntil = Date.parse(previous.TagList!.find((t) => t.Key === TAG.keepUntil)!.Value!);
    expect(keepUntil - START).toBeGreaterThanOrEqual(72 * 3600_000);
    expect(keepUntil - START).toBeLessThan(73 * 3600_000);
    expect(previous.TagList).toContainEqual({ Key: TAG.replacedBy, Value: RUN });
    expect(leftovers()).toEqual([]);
    expect(sns).not.toHaveReceivedCommand(PublishCommand);

    // Credentials follow the swap: staging's instance has its own managed secret, SSM names it, and
    // the service runs a revision of its task definition reading it; the old secret stays with -previous.
    expect(world.instances.get(STAGING)?.MasterUserSecret).toEqual({ SecretArn: NEW_SECRET, SecretStatus: "active" });
    expect(previous.MasterUserSecret?.SecretArn).toBe(STAGING_SECRET);
    expect(secretPuts()).toHaveLength(1);
    expect(ssm).toHaveReceivedCommandWith(PutParameterCommand, { Name: "/friday/staging/db-secret-arn", Value: NEW_SECRET, Type: "String", Overwrite: true });
    expect(ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 1);
    const registered = ecs.commandCalls(RegisterTaskDefinitionCommand)[0].args[0].input;
    const before = service.taskDefinitions.get(tdArn(7))!;
    expect(registered).toMatchObject({ family: APP_FAMILY, executionRoleArn: before.executionRoleArn, taskRoleArn: before.taskRoleArn, cpu: "512", memory: "1024" });
    expect(registered.containerDefinitions![0]).toEqual({
      ...before.containerDefinitions![0],
      secrets: [
        { name: "PGUSER", valueFrom: `${NEW_SECRET}:username::` },
        { name: "PGPASSWORD", valueFrom: `${NEW_SECRET}:password::` },
        { name: "API_KEY", valueFrom: API_KEY_SECRET },
      ],
    });
    expect(registered.containerDefinitions![1]).toEqual(before.containerDefinitions![1]);
    expect(ecs).toHaveReceivedCommandWith(UpdateServiceCommand, { cluster: "friday-staging", service: APP_FAMILY, taskDefinition: tdArn(8) });
    expect(service.current).toBe(tdArn(8));
    expect(service.databaseSecrets()).toEqual([NEW_SECRET]);
    expect(appCanConnect()).toBe(true);
    // Order: the roll comes after the swap and SSM, and the health check after the roll.
    expect(report.steps[4].detail).toMatch(new RegExp(`db-secret-arn → ${NEW_SECRET.replace(/[$!]/g, "\\$&")}; service rolled onto ${tdArn(8)} \\(2 secret\\(s\\) → .*\\); service healthy`));
  });

  it("sends no password to or from Secrets Manager for the new instance (only the scrub key is touched)", async () => {
    await refreshStaging(clients, dbSteps(), options());
    expect(secrets.calls().map((c) => [(c.args[0] as any).constructor.name, (c.args[0] as any).input.SecretId])).toEqual([["GetSecretValueCommand", KEY_SECRET]]);
    // The only password the job sends anywhere is its own temporary one, to RDS, before RDS takes over.
    const passwords = rds.commandCalls(ModifyDBInstanceCommand).map((c) => c.args[0].input.MasterUserPassword).filter(Boolean);
    expect(passwords).toEqual([TEMP_PASSWORD, TEMP_PASSWORD]);
    expect(secretPuts().map((c) => c.args[0].input.Value)).toEqual([NEW_SECRET]);
  });

  it("without the roll the app would break: the old secret goes with -previous", async () => {
    // A sanity check of the fake: the new instance's password is not the old secret's.
    await refreshStaging(clients, dbSteps(), options({ retentionHours: 0 }));
    expect(world.deletedSecrets).toEqual([STAGING_SECRET]);
    expect(service.databaseSecrets()).toEqual([NEW_SECRET]);
    expect(appCanConnect()).toBe(true);
  });

  it("reports every step with its duration, progress lines and a summary, and never logs a password or the key", async () => {
    const slowScrub = jest.fn(async ({ onProgress }) => {
      onProgress({ table: "users", rows: 120 });
      onProgress({ table: "orders", rows: 300 });
      fake.clock += 2000;
    });
    const report = await refreshStaging(clients, dbSteps({ scrub: slowScrub }), options());
    for (const step of report.steps) expect(step.durationMs).toBeGreaterThanOrEqual(0);
    for (const step of [0, 1, 3, 4]) expect(report.steps[step].durationMs).toBeGreaterThan(0); // waits on the fake clock
    expect(report.totalMs).toBe(report.steps.reduce((sum, s) => sum + s.durationMs, 0));
    expect(lines.filter((l) => /^\[\d\/6\] .*: done in /.test(l))).toHaveLength(6);
    expect(lines).toContain("  scrub: users 120 rows");
    expect(lines[lines.length - 1]).toMatch(/^staging refresh r20261126030000 succeeded in \S+ — 1:done\(\S+\) 2:done/);
    expect(report.steps[2].detail).toBe(`scrubbed 2 tables, 420 rows, 210 rows/s with 3 in parallel; verified; deleted ${NAMES.sourceSnapshot}`);
    const all = lines.join("\n") + JSON.stringify(report);
    for (const secret of [TEMP_PASSWORD, "k".repeat(64)]) expect(all).not.toContain(secret);
  });

  it("verifies the servers' certificates when given the RDS CA bundle", async () => {
    const steps = dbSteps();
    await refreshStaging(clients, steps, options({ caBundlePath: "/etc/ssl/certs/rds-global-bundle.pem" }));
    expect(steps.scrub.mock.calls[0][0].databaseUrl).toMatch(/\?sslmode=verify-full&sslrootcert=%2Fetc%2Fssl%2Fcerts%2Frds-global-bundle\.pem$/);
    expect(steps.prewarm.mock.calls[0][0].databaseUrl).toMatch(/\?sslmode=verify-full&sslrootcert=/);
  });

  it("creates the scrub key on the first run (the component makes the secret without a value)", async () => {
    fake.keyValue = undefined;
    const steps = dbSteps();
    await refreshStaging(clients, steps, options());
    expect(secrets).toHaveReceivedCommandTimes(PutSecretValueCommand, 1);
    expect(fake.keyValue).toMatch(/^[0-9a-f]{64}$/);
    expect(steps.scrub.mock.calls[0][0].key).toEqual(Buffer.from(fake.keyValue!));
  });

  it("reads the key as `friday staging scrub` does (a {\"key\": …} JSON secret gives the same pseudonyms)", async () => {
    fake.keyValue = JSON.stringify({ key: "j".repeat(64) });
    const steps = dbSteps();
    await refreshStaging(clients, steps, options());
    expect(steps.scrub.mock.calls[0][0].key).toEqual(Buffer.from("j".repeat(64)));
    expect(secrets).toHaveReceivedCommandTimes(PutSecretValueCommand, 0);
  });

  it("gives the replacement staging's Pulumi tags once each, the run's own tags winning (RDS refuses a repeated key)", async () => {
    // Staging carries friday:stack from Pulumi, and the run sets it too; a stale run tag is not copied.
    world.instances.get(STAGING)!.TagList!.push({ Key: TAG.run, Value: "r20261119030000" });
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.error).toBeUndefined();
    const restore = rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand).find((c) => c.args[0].input.DBInstanceIdentifier === NAMES.replacement)!;
    expect(restore.args[0].input.Tags).toEqual([...PULUMI_TAGS, { Key: TAG.run, Value: RUN }, { Key: TAG.role, Value: "replacement" }]);
  });

  it("mergeTags keeps one tag per key, the later list's value winning", () => {
    expect(mergeTags([{ Key: "a", Value: "1" }, { Key: "b", Value: "2" }], undefined, [{ Key: "a", Value: "3" }, { Key: "c", Value: "4" }])).toEqual([
      { Key: "a", Value: "3" },
      { Key: "b", Value: "2" },
      { Key: "c", Value: "4" },
    ]);
  });

  it("restores prod's older major without staging's parameter group (another family), then upgrades it onto staging's", async () => {
    world.instances.get(PROD)!.EngineVersion = "16.8";
    let atScrub: { version?: string; groups?: unknown } = {};
    const steps = dbSteps({
      scrub: jest.fn(async () => {
        const isolated = world.instances.get(NAMES.isolated)!;
        atScrub = { version: isolated.EngineVersion, groups: isolated.DBParameterGroups?.map((g) => g.DBParameterGroupName) };
        return { tables: 0 };
      }),
    });
    const report = await refreshStaging(clients, steps, options());
    expect(report.error).toBeUndefined();
    expect(report.ok).toBe(true);
    const restore = rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand).find((c) => c.args[0].input.DBInstanceIdentifier === NAMES.isolated)!;
    expect(restore.args[0].input).not.toHaveProperty("DBParameterGroupName");
    expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, { DBInstanceIdentifier: NAMES.isolated, EngineVersion: "17.6", AllowMajorVersionUpgrade: true, DBParameterGroupName: "friday-staging-db-postgres17" });
    expect(report.steps[1].detail).toMatch(/upgraded 16\.8 → 17\.6$/);
    // The scrub ran on staging's engine and parameter group; the replacement got staging's group at restore.
    expect(atScrub).toEqual({ version: "17.6", groups: ["friday-staging-db-postgres17"] });
    expect(rds).toHaveReceivedCommandWith(RestoreDBInstanceFromDBSnapshotCommand, { DBInstanceIdentifier: NAMES.replacement, DBParameterGroupName: "friday-staging-db-postgres17" });
  });

  it("upgrades the isolated instance to staging's engine version when prod is behind", async () => {
    world.instances.get(PROD)!.EngineVersion = "17.5";
    await refreshStaging(clients, dbSteps(), options());
    expect(mutations()).toContain(`ModifyDBInstance ${NAMES.isolated} engine 17.6`);
    expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, { DBInstanceIdentifier: NAMES.isolated, EngineVersion: "17.6", AllowMajorVersionUpgrade: false });
    expect(mutations().indexOf(`ModifyDBInstance ${NAMES.isolated} engine 17.6`)).toBeLessThan(mutations().indexOf(`ModifyDBInstance ${NAMES.isolated} password`));
  });

  it("deletes an older -previous before swapping, and keeps the new one for the retention", async () => {
    world.addInstance(PREVIOUS, "staging-older", { TagList: [{ Key: TAG.replacedBy, Value: "r20261119030000" }, { Key: TAG.keepUntil, Value: "2026-11-22T03:00:00.000Z" }] });
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.ok).toBe(true);
    const m = mutations();
    expect(m.indexOf(`DeleteDBInstance ${PREVIOUS}`)).toBeLessThan(m.indexOf(`ModifyDBInstance ${STAGING} → ${PREVIOUS}`));
    expect(world.instances.get(PREVIOUS)?.data).toBe("staging-old");
  });

  it("--prune deletes only an expired -previous (and copies nothing)", async () => {
    world.addInstance(PREVIOUS, "staging-older", { DeletionProtection: true, TagList: [{ Key: TAG.keepUntil, Value: "2026-11-26T02:00:00.000Z" }] });
    const report = await refreshStaging(clients, dbSteps(), options({ pruneOnly: true }));
    expect(report.ok).toBe(true);
    expect(mutations()).toEqual([`ModifyDBInstance ${PREVIOUS} {"DBInstanceIdentifier":"${PREVIOUS}","DeletionProtection":false,"ApplyImmediately":true}`, `DeleteDBInstance ${PREVIOUS}`]);
    expect(world.instances.has(PREVIOUS)).toBe(false);

    rds.resetHistory();
    world.addInstance(PREVIOUS, "staging-older", { TagList: [{ Key: TAG.keepUntil, Value: "2026-11-27T02:00:00.000Z" }] });
    await refreshStaging(clients, dbSteps(), options({ pruneOnly: true }));
    expect(mutations()).toEqual([]);
  });

  it("--prune keeps an expired -previous while a swap is half-way (nothing under staging's name)", async () => {
    world.addInstance(PREVIOUS, "staging-older", { TagList: [{ Key: TAG.replacedBy, Value: "r20261119030000" }, { Key: TAG.keepUntil, Value: "2026-11-26T02:00:00.000Z" }] });
    world.instances.delete(STAGING);
    const report = await refreshStaging(clients, dbSteps(), options({ pruneOnly: true }));
    expect(report.ok).toBe(true);
    expect(report.steps[5].detail).toBe(`${PREVIOUS} kept: nothing is named "${STAGING}" (a swap is half-way; finish it with a run without --prune)`);
    expect(mutations()).toEqual([]);
  });

  it("a retention of 0 deletes the previous instance at the end of the run", async () => {
    const report = await refreshStaging(clients, dbSteps(), options({ retentionHours: 0 }));
    expect(report.ok).toBe(true);
    expect(mutations().slice(-1)).toEqual([`DeleteDBInstance ${PREVIOUS}`]);
    expect(world.instances.has(PREVIOUS)).toBe(false);
  });
});
