import { PublishCommand } from "@aws-sdk/client-sns";
import { DescribeServicesCommand } from "@aws-sdk/client-ecs";
import { refreshStaging, RefreshOptions, TAG } from "./refresh";
import {
  appCanConnect,
  arnOf,
  calls,
  clients,
  DB_SECRET_PARAMETER,
  dbSteps,
  ecs,
  expectStagingIntact,
  fake,
  HAPPY_MUTATIONS,
  ISOLATED_SG,
  leftovers,
  lines,
  mutations,
  NAMES,
  NEW_SECRET,
  options,
  PARAMETERS,
  PREVIOUS,
  PROD,
  rds,
  RUN,
  secretPuts,
  service,
  sns,
  ssm,
  STAGING,
  STAGING_SECRET,
  tdArn,
  useFakeAws,
  world,
} from "./refresh/testing/fake-aws";

// A run whose process died part-way (its state is all in AWS): the next run finds where it stopped
// and goes on from there (refresh/prepare.ts chooses the run; each step skips what is done).

useFakeAws();

describe("refreshStaging: resume after a crash", () => {
  /**
   * Starts a run of the scheduled job task whose process "dies" (stops forever) the first time
   * `when()` holds during a wait; its run lock stays behind, as a killed task's would.
   */
  async function crashedRun(when: () => boolean, steps = dbSteps()): Promise<void> {
    let dead = false;
    void refreshStaging(
      clients,
      steps,
      options({
        insideTask: true,
        sleep: async (ms) => {
          if (dead || when()) {
            dead = true;
            return new Promise<void>(() => {});
          }
          fake.clock += ms;
        },
      }),
    );
    for (let i = 0; i < 1000 && !dead; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(dead).toBe(true);
    fake.clock += 3600_000; // the next scheduled (or manual) run comes an hour later
  }

  it("picks up after the replacement restore started: nothing is snapshotted, restored or scrubbed twice", async () => {
    await crashedRun(() => world.instances.get(NAMES.replacement)?.DBInstanceStatus === "creating");
    rds.resetHistory();
    calls.length = 0;
    const steps = dbSteps();
    const report = await refreshStaging(clients, steps, options());

    expect(report).toMatchObject({ ok: true, resumed: true, runId: RUN });
    expect(report.steps.map((s) => s.status)).toEqual(["skipped", "skipped", "skipped", "done", "done", "done"]);
    expect(mutations()).toEqual(HAPPY_MUTATIONS.slice(8));
    expect(calls).toEqual(["prewarm"]);
    expect(lines).toContain(`staging refresh ${RUN} (resuming an unfinished run): ${PROD} → ${STAGING}`);
    expect(world.instances.get(STAGING)?.data).toBe("prod+scrubbed");
    expect(leftovers()).toEqual([]);
  });

  it("restores the isolated instance again when the crash came half-way through the scrub", async () => {
    const first = dbSteps({ scrub: jest.fn(() => new Promise(() => {})) as any });
    let dead = false;
    void refreshStaging(clients, first, options({ insideTask: true }));
    for (let i = 0; i < 1000 && !dead; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      dead = first.scrub.mock.calls.length > 0;
    }
    expect(world.instances.get(NAMES.isolated)?.TagList).toContainEqual({ Key: TAG.scrub, Value: "started" });
    rds.resetHistory();
    calls.length = 0;
    const report = await refreshStaging(clients, dbSteps(), options());

    expect(report).toMatchObject({ ok: true, resumed: true });
    expect(mutations().slice(0, 5)).toEqual([
      `DeleteDBInstance ${NAMES.isolated}`,
      `RestoreDBInstanceFromDBSnapshot ${NAMES.sourceSnapshot} → ${NAMES.isolated}`,
      `ModifyDBInstance ${NAMES.isolated} password`,
      `AddTagsToResource ${NAMES.isolated} ${TAG.scrub}=started`,
      `AddTagsToResource ${NAMES.isolated} ${TAG.scrub}=verified`,
    ]);
    expect(mutations()).not.toContain(`CreateDBSnapshot ${PROD} → ${NAMES.sourceSnapshot}`);
    expect(calls).toEqual(["loadRules", "takeSample", "scrub", "verify", "prewarm"]);
    expect(world.instances.get(STAGING)?.data).toBe("prod+scrubbed");
    expect(leftovers()).toEqual([]);
  });

  it("finishes a half-done swap (staging's name free, the old instance already -previous)", async () => {
    await crashedRun(() => world.instances.has(PREVIOUS) && !world.instances.has(STAGING) && world.instances.get(NAMES.replacement)?.DBInstanceStatus === "renaming");
    expect(world.instances.has(STAGING)).toBe(false);
    rds.resetHistory();
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report).toMatchObject({ ok: true, resumed: true, runId: RUN });
    // The rename was already sent: the resumed run waits for it instead of sending it again.
    expect(mutations()).toEqual(HAPPY_MUTATIONS.slice(13));
    expect(world.instances.get(STAGING)?.data).toBe("prod+scrubbed");
    expect(world.instances.get(PREVIOUS)?.data).toBe("staging-old");
  });

  it("renames the replacement when the crash came between the two renames", async () => {
    const old = world.instances.get(STAGING)!;
    world.instances.delete(STAGING);
    world.addInstance(PREVIOUS, "staging-old", { MasterUserSecret: old.MasterUserSecret, TagList: [...old.TagList!, { Key: TAG.replacedBy, Value: RUN }, { Key: TAG.keepUntil, Value: "2026-11-29T03:00:00.000Z" }] });
    world.addInstance(NAMES.replacement, "prod+scrubbed", { MasterUserSecret: { SecretArn: NEW_SECRET, SecretStatus: "active" }, TagList: [{ Key: "Name", Value: STAGING }, { Key: TAG.run, Value: RUN }, { Key: TAG.role, Value: "replacement" }] });
    world.addInstance(NAMES.isolated, "prod+scrubbed", { VpcSecurityGroups: [{ VpcSecurityGroupId: ISOLATED_SG }], TagList: [{ Key: TAG.run, Value: RUN }, { Key: TAG.scrub, Value: "verified" }] });
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ ok: true, resumed: true, runId: RUN });
    expect(mutations()).toEqual([`ModifyDBInstance ${NAMES.replacement} → ${STAGING}`, `AddTagsToResource ${STAGING} ${TAG.healthy}=…`, `DeleteDBInstance ${NAMES.isolated}`]);
    expect(world.instances.get(STAGING)?.data).toBe("prod+scrubbed");
    expect(PARAMETERS[DB_SECRET_PARAMETER]).toBe(NEW_SECRET);
    expect(service.databaseSecrets()).toEqual([NEW_SECRET]);
    expect(leftovers()).toEqual([]);
  });

  it("a run that crashed after moving SSM but before the roll rolls the service on resume (SSM not written again)", async () => {
    // The process dies in the roll's first call (DescribeServices never answers), right after PutParameter.
    let dead = false;
    ecs.on(DescribeServicesCommand).callsFake(() => ((dead = true), new Promise(() => {})));
    void refreshStaging(clients, dbSteps(), options({ insideTask: true }));
    for (let i = 0; i < 5000 && !dead; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(dead).toBe(true);
    expect(PARAMETERS[DB_SECRET_PARAMETER]).toBe(NEW_SECRET);
    expect(service.databaseSecrets()).toEqual([STAGING_SECRET]);
    service.install(ecs);
    fake.clock += 3600_000;
    ssm.resetHistory();
    rds.resetHistory();
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report).toMatchObject({ ok: true, resumed: true, runId: RUN });
    expect(secretPuts()).toHaveLength(0);
    expect(service.databaseSecrets()).toEqual([NEW_SECRET]);
    expect(appCanConnect()).toBe(true);
    expect(leftovers()).toEqual([]);
  });

  it("puts staging back when the resumed half-done swap fails", async () => {
    await crashedRun(() => world.instances.has(PREVIOUS) && !world.instances.has(STAGING) && world.instances.get(NAMES.replacement)?.DBInstanceStatus === "renaming");
    fake.healthy = false;
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.ok).toBe(false);
    expectStagingIntact();
  });

  it("a run resumed after its verify needs no -source: prod's snapshot is gone and the scrubbed instance is used", async () => {
    await crashedRun(() => world.snapshots.get(NAMES.scrubbedSnapshot)?.Status === "creating");
    expect(world.snapshots.has(NAMES.sourceSnapshot)).toBe(false);
    rds.resetHistory();
    calls.length = 0;
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report).toMatchObject({ ok: true, resumed: true, runId: RUN });
    expect(report.steps.map((s) => s.status)).toEqual(["skipped", "skipped", "skipped", "done", "done", "done"]);
    expect(mutations()).toEqual(HAPPY_MUTATIONS.slice(7));
    expect(calls).toEqual(["prewarm"]);
    expect(world.instances.get(STAGING)?.data).toBe("prod+scrubbed");
  });

  it("a run that stopped between its verify and deleting prod's snapshot deletes it first on resume", async () => {
    world.snapshots.set(NAMES.sourceSnapshot, { DBSnapshotIdentifier: NAMES.sourceSnapshot, DBSnapshotArn: arnOf("snapshot", NAMES.sourceSnapshot), Status: "available", EngineVersion: "17.6", Encrypted: true, SnapshotType: "manual", data: "prod" });
    world.addInstance(NAMES.isolated, "prod+scrubbed", { VpcSecurityGroups: [{ VpcSecurityGroupId: ISOLATED_SG }], TagList: [{ Key: TAG.run, Value: RUN }, { Key: TAG.scrub, Value: "verified" }] });
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report).toMatchObject({ ok: true, resumed: true, runId: RUN });
    expect(report.steps[2].detail).toBe(`skipped: already scrubbed and verified; deleted ${NAMES.sourceSnapshot}`);
    expect(mutations().slice(0, 2)).toEqual([`DeleteDBSnapshot ${NAMES.sourceSnapshot}`, `CreateDBSnapshot ${NAMES.isolated} → ${NAMES.scrubbedSnapshot}`]);
    expect(leftovers()).toEqual([]);
  });

  /** Options whose run fails at `step`: the first describe of staging's instance in that step throws. */
  function failingAt(step: number): RefreshOptions {
    return options({
      log: (line) => {
        lines.push(line);
        if (line.startsWith(`[${step}/6] `) && line.endsWith(" …")) {
          world.failWhen = (n, i) => (n === "DescribeDBInstances" && i.DBInstanceIdentifier === STAGING ? Object.assign(new Error("Rate exceeded"), { name: "Throttling" }) : undefined);
        }
      },
    });
  }

  it.each([1, 4, 5])("a resumed run failing at step %i keeps a swap that passed its health check (the app keeps its secret)", async (step) => {
    // Run A swaps, moves the credentials, passes the health check, then fails to clean up.
    world.failWhen = (n, i) => (n === "DeleteDBInstance" && i.DBInstanceIdentifier === NAMES.isolated ? Object.assign(new Error("Throttling"), { name: "Throttling" }) : undefined);
    const first = await refreshStaging(clients, dbSteps(), options());
    expect(first.steps[5].status).toBe("failed");
    expect(appCanConnect()).toBe(true);
    fake.clock += 3600_000;
    sns.resetHistory();

    // The next run resumes A (its isolated instance is left) and fails before step 6.
    const report = await refreshStaging(clients, dbSteps(), failingAt(step));
    expect(report).toMatchObject({ ok: false, resumed: true, runId: RUN });
    expect(report.error).toMatch(new RegExp(`^step ${step} \\(.*\\) failed: Rate exceeded`));
    expect(report.recovery[0]).toBe(`kept the new staging database (it passed its health check before this attempt); run \`friday staging refresh --stack staging\` again to delete what is left of run ${RUN}`);
    expect(world.instances.get(STAGING)?.data).toBe("prod+scrubbed");
    expect(world.instances.get(PREVIOUS)?.data).toBe("staging-old");
    expect(PARAMETERS[DB_SECRET_PARAMETER]).toBe(NEW_SECRET);
    expect(world.deletedSecrets).not.toContain(NEW_SECRET);
    expect(appCanConnect()).toBe(true);
    expect(sns.commandCalls(PublishCommand)[0].args[0].input.Message).toContain(`Staging serves the NEW (scrubbed) data of run ${RUN}`);
  });

  it("a resumed run that undoes a swap whose credentials moved in an earlier attempt puts them back", async () => {
    // Run A dies in the health check, after SSM and the service moved onto the new secret.
    await crashedRun(() => service.current === tdArn(8));
    expect(PARAMETERS[DB_SECRET_PARAMETER]).toBe(NEW_SECRET);
    expect(world.instances.get(STAGING)?.TagList?.some((t) => t.Key === TAG.healthy)).toBe(false);

    const report = await refreshStaging(clients, dbSteps(), failingAt(1));
    expect(report).toMatchObject({ ok: false, resumed: true, runId: RUN });
    expect(report.recovery.slice(0, 4)).toEqual([
      `moved the replacement back to ${NAMES.replacement}`,
      `put the previous staging database back as ${STAGING}`,
      `put /friday/staging/db-secret-arn back to ${STAGING_SECRET}`,
      `rolled the service back onto ${tdArn(9)} (2 secret(s) → ${STAGING_SECRET})`,
    ]);
    expectStagingIntact();
    expect(world.deletedSecrets).toEqual([NEW_SECRET]);
  });

  it("--fresh deletes an unfinished run's leftovers and starts over", async () => {
    await crashedRun(() => world.instances.get(NAMES.replacement)?.DBInstanceStatus === "creating");
    rds.resetHistory();
    const report = await refreshStaging(clients, dbSteps(), options({ fresh: true }));
    expect(report).toMatchObject({ ok: true, resumed: false });
    expect(report.runId).not.toBe(RUN);
    const m = mutations();
    // (The crashed run had deleted prod's snapshot after its verify; its scrubbed snapshot goes first.)
    expect(m.slice(0, 3)).toEqual([`DeleteDBSnapshot ${NAMES.scrubbedSnapshot}`, `DeleteDBInstance ${NAMES.isolated}`, `DeleteDBInstance ${NAMES.replacement}`]);
    expect(m[3]).toMatch(new RegExp(`^CreateDBSnapshot ${PROD} → friday-staging-refresh-${report.runId}-source$`));
    expect(leftovers()).toEqual([]);
  });
});
