import { NAMESPACES, STAGES } from "../../components/pipeline";
import { describeState } from "../../infra/flags-appconfig";
import { flagChangeDescription, parseFlagDescription, SYNC_DESCRIPTION } from "../flags/description";
import { computeMetrics, FLAG_KILL_BLAME_HOURS, median, percentile, taskDefinitionRevision } from "./compute";
import { ServiceDeploymentRecord } from "./ecs-history";
import { flagStep } from "./flag-history";
import { humanDuration } from "./format";
import { PIPELINE_NAMES } from "./pipeline-history";

const d = (iso: string) => new Date(iso);
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const td = (n: number) => `arn:aws:ecs:us-east-1:123456789012:task-definition/friday-prod-app:${n}`;
const window = { days: 10, from: d("2026-06-20T00:00:00Z"), to: d("2026-06-30T00:00:00Z") };

function deploy(id: string, start: string, minutes: number, target: [number, string], source: [number, string], status = "SUCCESSFUL"): ServiceDeploymentRecord {
  return {
    arn: id,
    status,
    createdAt: d(start),
    startedAt: d(start),
    endedAt: new Date(Date.parse(start) + minutes * 60_000),
    targetTaskDefinition: td(target[0]),
    targetImageDigest: digest(target[1]),
    sourceTaskDefinition: td(source[0]),
    sourceImageDigest: digest(source[1]),
  };
}

describe("figures", () => {
  it("median and nearest-rank p90", () => {
    expect(median([])).toBeNull();
    expect(median([5])).toBe(5);
    expect(median([9, 1, 5])).toBe(5);
    expect(median([1, 2, 3, 10])).toBe(2.5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(percentile([3, 1], 90)).toBe(3);
  });

  it("a flag kill counts the deploy before it as failed only within the blame window", () => {
    const deployments = [deploy("one", "2026-06-21T10:00:00Z", 10, [2, "a"], [1, "0"]), deploy("two", "2026-06-25T10:00:00Z", 10, [3, "b"], [2, "a"])];
    const kill = (at: string) => ({ deploymentNumber: 9, state: "COMPLETE", startedAt: d(at), completedAt: d(at), flag: "x", step: "kill" as const });
    const within = computeMetrics({ stack: "prod", window, deployments, flags: [kill(`2026-06-26T10:${"09"}:00Z`)] });
    expect(within.deploys.map((r) => r.failed)).toEqual([false, true]);
    // Just past FLAG_KILL_BLAME_HOURS after "two" ended: no deploy is blamed, but it is still a restore.
    const late = new Date(Date.parse("2026-06-25T10:10:00Z") + FLAG_KILL_BLAME_HOURS * 3_600_000 + 60_000).toISOString();
    const after = computeMetrics({ stack: "prod", window, deployments, flags: [kill(late)] });
    expect(after.deploys.map((r) => r.failed)).toEqual([false, false]);
    expect(after.restores.map((r) => r.by)).toEqual(["flag kill"]);
  });

  it("an earlier image deployed again is a rollback even on a newer task definition; the same image is a config change", () => {
    const report = computeMetrics({
      stack: "prod",
      window,
      deployments: [
        deploy("release-b", "2026-06-21T10:00:00Z", 10, [5, "b"], [4, "a"]),
        deploy("back-to-a", "2026-06-22T10:00:00Z", 10, [6, "a"], [5, "b"]),
        deploy("infra-only", "2026-06-23T10:00:00Z", 10, [7, "a"], [6, "a"]),
      ],
    });
    expect(report.deploys.map((r) => [r.serviceDeploymentArn, r.kind, r.rollbackBy ?? "", r.failed])).toEqual([
      ["release-b", "release", "", true],
      ["back-to-a", "rollback", "earlier image redeployed", false],
      ["infra-only", "config", "", false],
    ]);
    expect(report.figures.changeFailureRate).toEqual({ failed: 1, changes: 2, rate: 0.5 });
    expect(report.figures.timeToRestore).toMatchObject({ medianSeconds: 600, samples: 1 });
  });

  it("a rollback ECS could not finish is counted as not restored", () => {
    const report = computeMetrics({ stack: "prod", window, deployments: [deploy("bad", "2026-06-21T10:00:00Z", 30, [5, "b"], [4, "a"], "ROLLBACK_FAILED")] });
    expect(report.restores).toEqual([expect.objectContaining({ by: "ecs rollback", restored: false })]);
    expect(report.figures.timeToRestore).toEqual({ medianSeconds: null, maxSeconds: null, samples: 0, notRestored: 1 });
    expect(report.figures.changeFailureRate.rate).toBe(1);
  });

  it("deployments still in flight are on the timeline but not in the figures", () => {
    const report = computeMetrics({ stack: "prod", window, deployments: [{ ...deploy("running", "2026-06-29T10:00:00Z", 0, [5, "b"], [4, "a"], "IN_PROGRESS"), endedAt: undefined }] });
    expect(report.figures.changeFailureRate).toEqual({ failed: 0, changes: 0, rate: null });
    expect(report.figures.deploymentFrequency.deployments).toBe(0);
    expect(report.timeline.map((e) => e.status)).toEqual(["IN_PROGRESS"]);
  });

  it("task-definition revision numbers and durations for people", () => {
    expect(taskDefinitionRevision(td(12))).toBe(12);
    expect(taskDefinitionRevision(undefined)).toBeUndefined();
    expect([45, 725, 3 * 3600 + 720, 2 * 86400 + 4 * 3600].map(humanDuration)).toEqual(["45s", "12m 05s", "3h 12m", "2d 4h"]);
    expect(humanDuration(null)).toBe("n/a");
  });
});

describe("flag deployment descriptions", () => {
  it("read back what `friday flags` writes, for every state describeState words", () => {
    const team = { mode: "targeted" as const, users: ["u1", "u2"], groups: [], percent: 0 };
    const five = { ...team, percent: 5 };
    const cases: [string, Parameters<typeof describeState>[0], Parameters<typeof describeState>[0], string, number | undefined][] = [
      ["team", { mode: "off" }, team, "team", undefined],
      ["rollout", team, five, "percent", 5],
      ["rollout", { mode: "off" }, { mode: "targeted", users: [], groups: [], percent: 12.5 }, "percent", 12.5],
      ["on", five, { mode: "on" }, "everyone", undefined],
      ["kill", { mode: "on" }, { mode: "killed", previous: { mode: "on" } }, "kill", undefined],
      ["kill", five, { mode: "killed", previous: five }, "kill", undefined],
      ["restore", { mode: "killed", previous: five }, five, "percent", 5],
      ["off", { mode: "on" }, { mode: "off" }, "off", undefined],
    ];
    for (const [kind, from, to, step, percent] of cases) {
      const written = flagChangeDescription(kind as never, "new-checkout", describeState(from), describeState(to));
      const parsed = parseFlagDescription(written);
      expect(parsed).toEqual({ kind, flag: "new-checkout", from: describeState(from), to: describeState(to) });
      expect(flagStep(kind, describeState(to))).toEqual(percent === undefined ? { step } : { step, percent });
    }
    expect(parseFlagDescription(SYNC_DESCRIPTION)).toEqual({ kind: "sync" });
    expect(parseFlagDescription("deployed from the console")).toBeUndefined();
    expect(parseFlagDescription(undefined)).toBeUndefined();
  });
});

describe("pipeline names", () => {
  it("match the stage, action and namespace names the Pipeline component declares", () => {
    expect(STAGES.Source[0]).toBe(PIPELINE_NAMES.sourceAction);
    expect(STAGES.Build[0]).toBe(PIPELINE_NAMES.buildAction);
    expect(STAGES.Staging).toContain(PIPELINE_NAMES.deployAction);
    expect(STAGES.Prod).toContain(PIPELINE_NAMES.deployAction);
    expect(Object.keys(STAGES)).toEqual(expect.arrayContaining(Object.values(PIPELINE_NAMES.deployStage)));
    expect(NAMESPACES.source).toBe("SourceVariables");
  });
});
