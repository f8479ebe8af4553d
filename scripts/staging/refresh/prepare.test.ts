import { ListTasksCommand } from "@aws-sdk/client-ecs";
import { refreshParameterName } from "../../../infra/refresh-parameters";
import { refreshStaging, RefreshOptions } from "../refresh";
import { ACCOUNT, calls, clients, dbSteps, ecs, fake, lines, LOCK_PARAMETER, mutations, options, PARAMETERS, PROD, REGION, useFakeAws, world } from "./testing/fake-aws";

// Input checks (./prepare.ts) and the one-run-at-a-time lock: a run refused here changes nothing.

useFakeAws();

describe("refreshStaging: bad input fails before anything changes", () => {
  const cases: Array<[string, () => void, Partial<RefreshOptions>, RegExp]> = [
    ["--stack prod", () => {}, { stack: "prod" }, /--stack prod: the refresh replaces staging's database.*never writes to prod/],
    ["an unknown stack", () => {}, { stack: "qa" }, /--stack qa: friday's stacks are "staging" and "prod"/],
    ["missing SSM parameters", () => delete PARAMETERS[refreshParameterName("staging", "isolatedSecurityGroupId")], {}, /SSM parameters missing: \/friday\/staging\/staging-refresh\/isolated-security-group-id/],
    ["an unencrypted prod", () => (world.instances.get(PROD)!.StorageEncrypted = false), {}, /"friday-prod-db" is not encrypted at rest/],
    ["prod ahead of staging", () => (world.instances.get(PROD)!.EngineVersion = "17.7"), {}, /prod runs PostgreSQL 17.7, newer than staging's 17.6: upgrade staging first/],
    ["a bad retention", () => {}, { retentionHours: -1 }, /retention hours is -1: use 0..840/],
    ["a bad concurrency", () => {}, { concurrency: 0 }, /scrub concurrency is 0: use an integer 1..32/],
  ];

  it("another run in progress (a running task of the job)", async () => {
    const task = `arn:aws:ecs:${REGION}:${ACCOUNT}:task/friday-staging/abc`;
    ecs.on(ListTasksCommand).resolves({ taskArns: [task] });
    await expect(refreshStaging(clients, dbSteps(), options())).rejects.toThrow(`another staging refresh is running (${task}): wait for it to finish`);
    expect(ecs).toHaveReceivedCommandWith(ListTasksCommand, { cluster: "friday-staging", family: "friday-staging-staging-refresh", desiredStatus: "RUNNING" });
    expect(mutations()).toEqual([]);
    // Inside the job's own task, that one running task is this run.
    const report = await refreshStaging(clients, dbSteps(), options({ insideTask: true }));
    expect(report.ok).toBe(true);
  });

  it("another run in progress from a laptop (its lock), which the job's task list cannot see; an expired lock is taken over", async () => {
    const lock = { holder: "laptop:4242:abcd", kind: "cli", since: "2026-11-26T02:00:00.000Z", until: new Date(fake.clock + 3600_000).toISOString() };
    PARAMETERS[LOCK_PARAMETER] = JSON.stringify(lock);
    await expect(refreshStaging(clients, dbSteps(), options())).rejects.toThrow(
      `another staging refresh is running (laptop:4242:abcd, since 2026-11-26T02:00:00.000Z): wait for it to finish, then run again — it resumes where that one stops. If none is running (it was killed), delete the lock: aws ssm delete-parameter --name ${LOCK_PARAMETER}`,
    );
    expect(mutations()).toEqual([]);
    expect(JSON.parse(PARAMETERS[LOCK_PARAMETER]!)).toEqual(lock);
    PARAMETERS[LOCK_PARAMETER] = JSON.stringify({ ...lock, until: new Date(fake.clock - 1).toISOString() });
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.ok).toBe(true);
    expect(lines.join("\n")).toContain("taking over the lock of laptop:4242:abcd (since 2026-11-26T02:00:00.000Z): expired");
    expect(PARAMETERS[LOCK_PARAMETER]).toBeUndefined();
  });

  it.each(cases)("%s", async (_label, arrange, overrides, message) => {
    arrange();
    await expect(refreshStaging(clients, dbSteps(), options(overrides))).rejects.toThrow(message);
    expect(mutations()).toEqual([]);
    expect(calls).toEqual([]);
  });
});
