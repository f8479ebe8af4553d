import { DeleteDBInstanceCommand } from "@aws-sdk/client-rds";
import { PutParameterCommand } from "@aws-sdk/client-ssm";
import { PublishCommand } from "@aws-sdk/client-sns";
import { ListServiceDeploymentsCommand, RegisterTaskDefinitionCommand, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { refreshStaging, TAG } from "../refresh";
import {
  appCanConnect,
  clients,
  DB_SECRET_PARAMETER,
  dbSteps,
  ecs,
  expectStagingIntact,
  fake,
  leftovers,
  lines,
  mutations,
  NAMES,
  NEW_SECRET,
  options,
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
  TEMP_PASSWORD,
  TOPIC,
  useFakeAws,
  world,
} from "./testing/fake-aws";

// The failure path (./recover.ts): a run that fails at any step undoes what it started, deletes its
// temporaries and says on SNS what staging serves now.

useFakeAws();

describe("refreshStaging: a failure at each step leaves staging serving and deletes the temporaries", () => {
  const boom = (message: string) => Object.assign(new Error(message), { name: "InternalFailure" });
  const cases: Array<[number, string, (steps: Record<string, jest.Mock>) => void, RegExp]> = [
    [1, "prod's snapshot cannot be taken", () => (world.failWhen = (n, i) => (n === "CreateDBSnapshot" && i.DBInstanceIdentifier === PROD ? boom("SnapshotQuotaExceeded") : undefined)), /step 1 \(snapshot prod\) failed: SnapshotQuotaExceeded/],
    [2, "the isolated restore fails", () => (world.failWhen = (n, i) => (n === "RestoreDBInstanceFromDBSnapshot" && i.DBInstanceIdentifier === NAMES.isolated ? boom("InsufficientDBInstanceCapacity") : undefined)), /step 2 .* InsufficientDBInstanceCapacity/],
    [2, "the isolated instance ends incompatible", () => (world.restoreEndsIn = (id) => (id === NAMES.isolated ? "incompatible-parameters" : undefined)), /step 2 .* is in state "incompatible-parameters"/],
    [3, "the scrub fails closed on an unclassified column", (s) => s.scrub.mockRejectedValueOnce(new Error(`unclassified column users.nickname (connecting with postgres://friday:${TEMP_PASSWORD}@host/app)`)), /step 3 \(scrub and verify\) failed: unclassified column users.nickname/],
    [3, "verify finds a leak", (s) => s.verify.mockResolvedValueOnce({ ok: false, problems: ["users.email: 3 values outside the masking domain"] }), /step 3 .* verify found 1 problem\(s\): users.email: 3 values outside the masking domain/],
    [4, "the scrubbed snapshot cannot be taken", () => (world.failWhen = (n, i) => (n === "CreateDBSnapshot" && i.DBInstanceIdentifier === NAMES.isolated ? boom("SnapshotQuotaExceeded") : undefined)), /step 4 .* SnapshotQuotaExceeded/],
    [4, "the replacement restore fails", () => (world.failWhen = (n, i) => (n === "RestoreDBInstanceFromDBSnapshot" && i.DBInstanceIdentifier === NAMES.replacement ? boom("StorageQuotaExceeded") : undefined)), /step 4 .* StorageQuotaExceeded/],
    [5, "renaming the old staging database fails", () => (world.failWhen = (n, i) => (n === "ModifyDBInstance" && i.NewDBInstanceIdentifier === PREVIOUS ? boom("InvalidDBInstanceState") : undefined)), /step 5 .* InvalidDBInstanceState/],
    [5, "renaming the replacement to staging's name fails", () => (world.failWhen = (n, i) => (n === "ModifyDBInstance" && i.NewDBInstanceIdentifier === STAGING ? boom("Throttling") : undefined)), /step 5 .* Throttling/],
    [4, "prewarm fails", (s) => s.prewarm.mockRejectedValueOnce(new Error("connection refused")), /step 4 .* connection refused/],
    [4, "the replacement's managed secret is never active", () => (world.failWhen = (n, i) => (n === "ModifyDBInstance" && i.ManageMasterUserPassword ? boom("KMSKeyNotAccessibleFault") : undefined)), /step 4 .* KMSKeyNotAccessibleFault/],
    [5, "the service is unhealthy on the new database", () => (fake.healthy = false), /step 5 .* the staging service did not become healthy on the new database \(1\/1 tasks running, 0 healthy and 1 unhealthy targets\)/],
    [5, "the roll onto the new secret fails (ECS rolls it back)", () => (service.rollOutcome = "ROLLBACK_SUCCESSFUL"), /step 5 .* rolling friday-staging-app onto .*rds!db-managed-1-XyZ123 failed: Deployment FAILED: ECS rolled it back/],
    [5, "SSM cannot be updated", () => ssm.on(PutParameterCommand, { Name: DB_SECRET_PARAMETER }).rejectsOnce(Object.assign(new Error("AccessDeniedException: not authorized to perform ssm:PutParameter"), { name: "AccessDeniedException" })), /step 5 .* not authorized to perform ssm:PutParameter/],
  ];

  it.each(cases)("step %i: %s", async (step, _label, arrange, message) => {
    const steps = dbSteps();
    arrange(steps);
    const report = await refreshStaging(clients, steps, options());

    expect(report.ok).toBe(false);
    expect(report.error).toMatch(message);
    expect(report.steps[step - 1].status).toBe("failed");
    expect(report.steps.slice(step).every((s) => s.status === "not run")).toBe(true);
    expectStagingIntact();
    expect(report.notified).toBe(true);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    const published = sns.commandCalls(PublishCommand)[0].args[0].input;
    expect(published).toMatchObject({ TopicArn: TOPIC, Subject: "friday: staging refresh failed (staging)" });
    expect(published.Message).toContain(`step ${step}`);
    expect(published.Message).toContain("Staging keeps serving its previous data. Runbook");
    expect(published.Message + JSON.stringify(report) + lines.join("\n")).not.toContain(TEMP_PASSWORD);
    expect(lines).toContainEqual(expect.stringMatching(/^STAGING REFRESH FAILED: step \d/));
  });

  it("step 5: after the swap, an unhealthy service gets the old database back under staging's name", async () => {
    fake.healthy = false;
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(mutations().slice(13)).toEqual([
      `ModifyDBInstance ${STAGING} → ${NAMES.replacement}`,
      `ModifyDBInstance ${PREVIOUS} → ${STAGING}`,
      `RemoveTagsFromResource ${STAGING} ${TAG.replacedBy},${TAG.keepUntil}`,
      `DeleteDBSnapshot ${NAMES.scrubbedSnapshot}`,
      `DeleteDBInstance ${NAMES.isolated}`,
      `DeleteDBInstance ${NAMES.replacement}`,
    ]);
    expect(report.recovery.slice(0, 4)).toEqual([
      `moved the replacement back to ${NAMES.replacement}`,
      `put the previous staging database back as ${STAGING}`,
      `put /friday/staging/db-secret-arn back to ${STAGING_SECRET}`,
      `rolled the service back onto ${tdArn(9)} (2 secret(s) → ${STAGING_SECRET})`,
    ]);
    // The service had been rolled onto the new secret (revision 8) and is back on one reading the old (9).
    expect(secretPuts().map((c) => c.args[0].input.Value)).toEqual([NEW_SECRET, STAGING_SECRET]);
    expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input.taskDefinition)).toEqual([tdArn(8), tdArn(9)]);
    expect(service.current).toBe(tdArn(9));
    // …before the replacement (and with it its secret) was deleted.
    expect(world.deletedSecrets).toEqual([NEW_SECRET]);
  });

  it("step 5: a failed roll swaps back and puts SSM back; the service never left the old secret", async () => {
    service.rollOutcome = "ROLLBACK_SUCCESSFUL";
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.ok).toBe(false);
    expect(report.steps[4].detail).toMatch(/rolling friday-staging-app onto .* failed: Deployment FAILED: ECS rolled it back .*alarm friday-staging-5xx/);
    expect(report.recovery).toContain(`put /friday/staging/db-secret-arn back to ${STAGING_SECRET}`);
    expect(report.recovery.some((line) => line.startsWith("rolled the service back"))).toBe(false);
    expect(ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
    expect(service.current).toBe(tdArn(7));
    expectStagingIntact();
  });

  it("step 5: a roll that cannot start because a deploy is in flight swaps back too", async () => {
    ecs.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [{ serviceDeploymentArn: "arn:aws:ecs:us-east-1:123456789012:service-deployment/friday-staging/friday-staging-app/pipeline", status: "IN_PROGRESS" }] });
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.error).toMatch(/step 5 .* A deployment is already in flight on staging/);
    expect(ecs).not.toHaveReceivedCommand(RegisterTaskDefinitionCommand);
    expectStagingIntact();
  });

  it("step 6: a cleanup failure keeps the new (healthy) staging database and leaves the rest to the next run", async () => {
    world.failWhen = (n, i) => (n === "DeleteDBInstance" && i.DBInstanceIdentifier === NAMES.isolated ? boom("Throttling") : undefined);
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.ok).toBe(false);
    expect(report.steps[5].status).toBe("failed");
    expect(report.steps[5].detail).toBe(`deleted ${NAMES.scrubbedSnapshot}; could not delete ${NAMES.isolated} (Throttling)`);
    expect(world.instances.get(STAGING)?.data).toBe("prod+scrubbed");
    expect(leftovers()).toEqual([NAMES.isolated]);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);

    // The next run finds the leftover and finishes the job.
    rds.resetHistory();
    const next = await refreshStaging(clients, dbSteps(), options());
    expect(next).toMatchObject({ ok: true, resumed: true, runId: RUN });
    expect(next.steps[4].detail).toMatch(/^skipped: swapped, credentials moved and healthy since /);
    expect(mutations()).toEqual([`DeleteDBInstance ${NAMES.isolated}`]);
    expect(leftovers()).toEqual([]);
  });

  it("step 6: a snapshot that cannot be deleted in the cleanup is tried again by the recovery", async () => {
    world.failWhen = (n, i) => (n === "DeleteDBSnapshot" && i.DBSnapshotIdentifier === NAMES.scrubbedSnapshot ? boom("Throttling") : undefined);
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.steps[5].detail).toBe(`deleted ${NAMES.isolated}; could not delete ${NAMES.scrubbedSnapshot} (Throttling)`);
    expect(report.recovery.slice(1)).toEqual([`deleted ${NAMES.scrubbedSnapshot}`]);
    expect(world.instances.get(STAGING)?.data).toBe("prod+scrubbed");
    expect(leftovers()).toEqual([]);
  });

  it.each([
    [4, () => (world.failWhen = (n, i) => (n === "RestoreDBInstanceFromDBSnapshot" && i.DBInstanceIdentifier === NAMES.replacement ? boom("StorageQuotaExceeded") : undefined))],
    [5, () => (fake.healthy = false)],
    [6, () => {}],
  ])("step %i: a failure leaves no copy of prod's unscrubbed data, even when the isolated instance cannot be deleted", async (step, arrange) => {
    rds.on(DeleteDBInstanceCommand, { DBInstanceIdentifier: NAMES.isolated }).rejects(boom("InvalidDBInstanceState"));
    arrange();
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.steps[step - 1].status).toBe("failed");
    expect(world.snapshots.has(NAMES.sourceSnapshot)).toBe(false);
    // The snapshots go first, and the other deletions are not skipped: only the stuck instance is left.
    expect(leftovers()).toEqual([NAMES.isolated]);
    expect(world.instances.get(STAGING)?.data).toBe(step === 6 ? "prod+scrubbed" : "staging-old");
  });

  it("a failing instance deletion still deletes the snapshots, prod's unscrubbed one before anything else", async () => {
    rds.on(DeleteDBInstanceCommand, { DBInstanceIdentifier: NAMES.isolated }).rejects(boom("InvalidDBInstanceState"));
    const steps = dbSteps();
    steps.verify.mockResolvedValueOnce({ ok: false, problems: ["users.email: 3 values outside the masking domain"] });
    const report = await refreshStaging(clients, steps, options());
    expect(report.steps[2].status).toBe("failed");
    expect(mutations().slice(4)).toEqual([`DeleteDBSnapshot ${NAMES.sourceSnapshot}`, `DeleteDBInstance ${NAMES.isolated}`]);
    expect(leftovers()).toEqual([NAMES.isolated]);
    expect(report.recovery[0]).toMatch(new RegExp(`^recovery stopped: deleted ${NAMES.sourceSnapshot}; could not delete ${NAMES.isolated} \\(InvalidDBInstanceState\\)`));
  });

  it("step 6: the notification says staging serves the new data (and where the previous one is)", async () => {
    world.failWhen = (n, i) => (n === "DeleteDBInstance" && i.DBInstanceIdentifier === NAMES.isolated ? boom("Throttling") : undefined);
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.steps[5].status).toBe("failed");
    const message = sns.commandCalls(PublishCommand)[0].args[0].input.Message!;
    expect(message).toContain(`Staging serves the NEW (scrubbed) data of run ${RUN}; the previous database is kept as "${PREVIOUS}"`);
    expect(message).toContain("Run `friday staging refresh --stack staging` again to delete what is left of the run.");
    expect(message).not.toContain("keeps serving its previous data");
  });

  it("a recovery that stops with nothing under staging's name says staging may be down and what to run", async () => {
    fake.healthy = false;
    // Undoing the swap: the replacement moves back to -new, then putting -previous back fails.
    world.failWhen = (n, i) => (n === "ModifyDBInstance" && i.DBInstanceIdentifier === PREVIOUS && i.NewDBInstanceIdentifier === STAGING ? boom("Throttling") : undefined);
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.recovery[report.recovery.length - 1]).toMatch(/^recovery stopped: Throttling/);
    expect(world.instances.has(STAGING)).toBe(false);
    const message = sns.commandCalls(PublishCommand)[0].args[0].input.Message!;
    expect(message).toContain(`Nothing is named "${STAGING}" after the recovery stopped part-way: STAGING MAY BE DOWN. The previous database is "${PREVIOUS}".`);
    expect(message).toContain(`Run \`friday staging refresh --stack staging\` to resume run ${RUN}`);
    expect(message).not.toContain("keeps serving");

    // Doing what it says: the rerun resumes the run and finishes its swap.
    fake.healthy = true;
    const next = await refreshStaging(clients, dbSteps(), options());
    expect(next).toMatchObject({ ok: true, resumed: true, runId: RUN });
    expect(world.instances.get(STAGING)?.data).toBe("prod+scrubbed");
    expect(appCanConnect()).toBe(true);
    expect(leftovers()).toEqual([]);
  });

  it("a failure of the notification itself is reported, not thrown", async () => {
    sns.on(PublishCommand).rejects(new Error("AuthorizationError"));
    const steps = dbSteps();
    steps.verify.mockResolvedValueOnce({ ok: false, problems: ["leak"] });
    const report = await refreshStaging(clients, steps, options());
    expect(report).toMatchObject({ ok: false, notified: false });
    expectStagingIntact();
  });
});
