import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetDeploymentCommand, ListDeploymentsCommand } from "@aws-sdk/client-appconfig";
import { ListActionExecutionsCommand, ListPipelineExecutionsCommand } from "@aws-sdk/client-codepipeline";
import { DescribeServiceDeploymentsCommand, DescribeServiceRevisionsCommand, ListServiceDeploymentsCommand } from "@aws-sdk/client-ecs";
import { GetParametersCommand } from "@aws-sdk/client-ssm";
import { buildCli } from "../cli";
import { awsError } from "../deploy/test-fixtures";
import { MetricsReport } from "./compute";
import { setMetricsCliContextForTests } from "./command";
import { METRICS_PERMISSIONS } from "./metrics";
import { answerFrom, loadHistory, mockMetricsClients, NOW } from "./test-fixtures";

/**
 * `friday metrics` through the real CLI entry (buildCli), against recorded SDK responses
 * (fixtures/prod-history.json): 30 days of prod with a release ECS rolled back, a pipeline rollback,
 * a `friday rollback` redeploy, a flag kill right after a deploy, a config-only deploy, and flag
 * releases team → 5% → 100%.
 */

const mocks = mockMetricsClients();
let stdout: string[];
let stderr: string[];
let written: Map<string, string>;

beforeEach(() => {
  stdout = [];
  stderr = [];
  written = new Map();
  // The clock ticks 250 ms per read so the progress line has a rate to show.
  let time = NOW;
  setMetricsCliContextForTests({
    clock: { now: () => (time += 250) - 250 },
    stdout: (t) => stdout.push(t),
    stderr: (t) => stderr.push(t),
    writeFile: (path, content) => written.set(path, content),
  });
  answerFrom(mocks, loadHistory());
});

afterAll(() => setMetricsCliContextForTests({}));

function friday(...args: string[]) {
  const program = buildCli();
  for (const command of [program, ...program.commands]) command.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  return program.parseAsync(["node", "friday", ...args]);
}

async function json(...args: string[]): Promise<MetricsReport> {
  await friday("metrics", "--stack", "prod", "--json", ...args);
  return JSON.parse(stdout.join("\n")) as MetricsReport;
}

const allCalls = (): unknown[] => [...mocks.ecs.calls(), ...mocks.ssm.calls(), ...mocks.codepipeline.calls(), ...mocks.appconfig.calls()];

describe("friday metrics: the four figures from recorded history", () => {
  it("computes deployment frequency, lead time, change failure rate and time to restore", async () => {
    const report = await json();
    expect(report.window).toEqual({ days: 30, from: "2026-05-31T12:00:00.000Z", to: "2026-06-30T12:00:00.000Z" });
    // Successful changes: 3 releases (A, C, D) and 1 config deploy; 4 in 30 days.
    expect(report.figures.deploymentFrequency).toEqual({ deployments: 4, perDay: 0.13, perWeek: 0.9 });
    // Commit authored → prod SUCCESSFUL: 2h30, 18h40, 2h30.
    expect(report.figures.leadTime).toEqual({ medianSeconds: 9000, p90Seconds: 67200, samples: 3, withoutCommitTime: 0 });
    // B rolled back by ECS, C undone by `friday rollback`, D followed by a flag kill within 2 h: 3 of 5 changes.
    expect(report.figures.changeFailureRate).toEqual({ failed: 3, changes: 5, rate: 0.6 });
    // ECS rollback 10 min (from rollback.startedAt), redeploy 12 min, kill 1 min.
    expect(report.figures.timeToRestore).toEqual({ medianSeconds: 600, maxSeconds: 720, samples: 3, notRestored: 0 });
  });

  it("classifies each deployment and says why a change counts as failed", async () => {
    const report = await json();
    const rows = report.deploys.map((d) => [d.serviceDeploymentArn.split("/").pop(), d.kind, d.status, d.failed, d.failure ?? d.rollbackBy ?? ""]);
    expect(rows).toEqual([
      ["E1", "release", "SUCCESSFUL", false, ""],
      ["E2", "release", "ROLLBACK_SUCCESSFUL", true, "rolled back by ECS"],
      ["E3", "rollback", "SUCCESSFUL", false, "pipeline rollback"],
      ["E4", "release", "SUCCESSFUL", true, "undone by friday rollback (redeploy) (deployment E5)"],
      ["E5", "rollback", "SUCCESSFUL", false, "friday rollback (redeploy)"],
      ["E6", "release", "SUCCESSFUL", true, "followed by a flag kill (search-v2, flags #5)"],
      ["E7", "config", "SUCCESSFUL", false, ""],
    ]);
    expect(report.deploys[0]).toMatchObject({ commitId: "a".repeat(40), pipelineExecutionId: "R1", commitAuthoredAt: "2026-06-05T09:00:00.000Z", leadTimeSeconds: 9000 });
    expect(report.deploys[1].reason).toContain("alarm friday-prod-5xx");
    expect(report.restores.map((r) => [r.by, r.durationSeconds, r.restored])).toEqual([
      ["ecs rollback", 600, true],
      ["friday rollback (redeploy)", 720, true],
      ["flag kill", 60, true],
    ]);
  });

  it("puts flag releases on the same timeline as deploys, on the team → % → 100% → kill ladder", async () => {
    const report = await json();
    expect(report.flags.map((f) => [f.deploymentNumber, f.flag, f.step, f.percent, f.state])).toEqual([
      [1, "new-checkout", "team", undefined, "COMPLETE"],
      [2, "new-checkout", "percent", 5, "COMPLETE"],
      [3, "new-checkout", "everyone", undefined, "COMPLETE"],
      [4, "search-v2", "team", undefined, "COMPLETE"],
      [5, "search-v2", "kill", undefined, "COMPLETE"],
      [6, "search-v2", "percent", 10, "ROLLED_BACK"],
    ]);
    expect(report.timeline.map((e) => `${e.at.slice(0, 10)} ${e.type} ${e.title}${e.bad ? " !" : ""}`)).toEqual([
      "2026-06-03 flag flag new-checkout → team",
      "2026-06-05 deploy deploy aaaaaaa",
      "2026-06-06 flag flag new-checkout → 5%",
      "2026-06-08 flag flag new-checkout → 100%",
      "2026-06-12 deploy deploy bbbbbbb !",
      "2026-06-12 rollback pipeline rollback",
      "2026-06-20 deploy deploy ccccccc !",
      "2026-06-20 rollback friday rollback (redeploy)",
      "2026-06-22 flag flag search-v2 → team",
      "2026-06-25 deploy deploy ddddddd !",
      "2026-06-25 flag flag search-v2 → kill !",
      "2026-06-26 flag flag search-v2 → 10% !",
      "2026-06-28 deploy config deploy (same image)",
    ]);
  });

  it("reports where lead time goes: the median of each pipeline stage over the runs that reached prod", async () => {
    const report = await json();
    const stages = Object.fromEntries(report.pipelineStages.map((s) => [s.stage, [s.medianSeconds, s.samples]]));
    expect(stages).toEqual({
      "commit → pipeline start": [1200, 3],
      Source: [30, 3],
      Test: [570, 3],
      Build: [600, 3],
      Staging: [1500, 3],
      Gate: [3900, 3],
      Prod: [1500, 3],
    });
  });

  it("pages through each history and stops at the edge of the window", async () => {
    await json();
    const from = new Date("2026-05-31T12:00:00.000Z");
    expect(mocks.ecs.commandCalls(ListServiceDeploymentsCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: "friday-prod", service: "friday-prod-app", createdAt: { after: from }, maxResults: 100 },
      { cluster: "friday-prod", service: "friday-prod-app", createdAt: { after: from }, maxResults: 100, nextToken: "ecs-page-2" },
    ]);
    // Page 2 reaches past the window (a run from May 20): page 3 is never asked for.
    expect(mocks.codepipeline.commandCalls(ListPipelineExecutionsCommand).map((c) => c.args[0].input.nextToken)).toEqual([undefined, "cp-page-2"]);
    expect(mocks.codepipeline.commandCalls(ListActionExecutionsCommand).map((c) => c.args[0].input.filter?.pipelineExecutionId)).toEqual(["R4", "R3", "R2rb", "R2", "R1"]);
    expect(mocks.appconfig.commandCalls(ListDeploymentsCommand).map((c) => c.args[0].input)).toEqual([
      { ApplicationId: "app1234", EnvironmentId: "env5678", MaxResults: 50 },
      { ApplicationId: "app1234", EnvironmentId: "env5678", MaxResults: 50, NextToken: "ac-page-2" },
    ]);
    // The sync from May 25 is outside the window: not fetched.
    expect(mocks.appconfig.commandCalls(GetDeploymentCommand).map((c) => c.args[0].input.DeploymentNumber)).toEqual([6, 5, 4, 3, 2, 1]);
    expect(mocks.ecs.commandCalls(DescribeServiceDeploymentsCommand)).toHaveLength(1);
    expect(mocks.ecs.commandCalls(DescribeServiceRevisionsCommand)).toHaveLength(1);
  });

  it("shows progress on stderr (source, pages, items, rate) and a closing summary", async () => {
    await json();
    expect(stderr).toContainEqual(expect.stringMatching(/^metrics: ecs:ListServiceDeployments: page 2, 7 item\(s\), \d+\.\d items\/s$/));
    expect(stderr).toContainEqual(expect.stringMatching(/^metrics: codepipeline:ListPipelineExecutions: page 2, 6 item\(s\), /));
    expect(stderr).toContainEqual(expect.stringMatching(/^metrics: appconfig:GetDeployment: page 6, 6 item\(s\), /));
    const summary = stderr.find((l) => l.startsWith("metrics: read "));
    expect(summary).toMatch(/^metrics: read \d+ item\(s\) in 19 page\(s\) in \d+\.\ds \(\d+\.\d items\/s\): ecs:ListServiceDeployments 7 in 2 page\(s\), /);
    // stdout carries only the JSON.
    expect(() => JSON.parse(stdout.join("\n"))).not.toThrow();
  });

  it("prints the figures for people without --json", async () => {
    await friday("metrics", "--stack", "prod");
    const text = stdout.join("\n");
    expect(text).toMatch(/^prod: delivery over the last 30 day\(s\)/);
    expect(text).toMatch(/Deployment frequency +0\.13\/day +4 successful deploy\(s\) in 30 day\(s\), 0\.9\/week/);
    expect(text).toMatch(/Lead time for changes +2h 30m +median commit → prod, p90 18h 40m, 3 release\(s\)/);
    expect(text).toMatch(/Change failure rate +60% +3 of 5 change\(s\)/);
    expect(text).toMatch(/Time to restore +10m 00s +median of 3 restore\(s\), longest 12m 00s/);
    expect(text).toContain("! flag     flag search-v2 → kill  [COMPLETE]");
  });

  it("needs read-only permissions only, each listed in METRICS_PERMISSIONS (the runbook's policy)", async () => {
    await json();
    const sent = new Set(
      Object.entries(mocks).flatMap(([service, mock]) =>
        (mock.calls() as { args: object[] }[]).map((c) => `${service}:${c.args[0].constructor.name.replace(/Command$/, "")}`),
      ),
    );
    const listed = METRICS_PERMISSIONS.map((p) => p.action);
    expect([...sent].sort()).toEqual([...listed].sort());
    for (const action of listed) expect(action).toMatch(/^[a-z]+:(List|Get|Describe)[A-Za-z]+$/);
    for (const p of METRICS_PERMISSIONS) expect(p.resource).not.toBe("*");
  });
});

describe("friday metrics --html", () => {
  it("writes the page and says where", async () => {
    const dir = mkdtempSync(join(tmpdir(), "friday-metrics-"));
    try {
      await friday("metrics", "--stack", "prod", "--html", join(dir, "prod.html"));
      expect([...written.keys()]).toEqual([join(dir, "prod.html")]);
      expect(written.get(join(dir, "prod.html"))).toMatch(/^<!doctype html>/);
      expect(stderr).toContain(`metrics: wrote ${join(dir, "prod.html")}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a directory that does not exist, before reading anything", async () => {
    await expect(friday("metrics", "--stack", "prod", "--html", "/nonexistent-dir/x.html")).rejects.toThrow(
      "--html /nonexistent-dir/x.html: the directory /nonexistent-dir does not exist. Create it, or write the page elsewhere (e.g. --html metrics.html).",
    );
    expect(allCalls()).toHaveLength(0);
  });
});

describe("friday metrics: bad input gets one clear message", () => {
  it("an unknown stack", async () => {
    await expect(friday("metrics", "--stack", "qa")).rejects.toThrow('--stack must be one of staging, prod (got "qa").');
    expect(allCalls()).toHaveLength(0);
  });

  it.each(["0", "-3", "1.5", "abc", "91", ""])("--days %p", async (days) => {
    await expect(friday("metrics", "--stack", "prod", "--days", days)).rejects.toThrow(
      `--days must be a whole number of days from 1 to 90 (got "${days}"): the window ends now and reaches back that many days, and ECS keeps 90 days of service deployment history. For example: --days 30.`,
    );
    expect(allCalls()).toHaveLength(0);
  });

  it("no history at all in the window", async () => {
    answerFrom(mocks, loadHistory(), "staging");
    mocks.ecs.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [] });
    mocks.codepipeline.on(ListPipelineExecutionsCommand).resolves({ pipelineExecutionSummaries: [] });
    mocks.appconfig.on(ListDeploymentsCommand).resolves({ Items: [] });
    await expect(friday("metrics", "--stack", "staging", "--days", "7")).rejects.toThrow(
      'No delivery history for staging in the last 7 day(s): ECS lists no deployments of friday-staging-app, the pipeline "friday" no runs, and AppConfig no flag deployments. ' +
        "Widen the window (--days 90), check that --region / AWS_PROFILE point at staging's account, or deploy first (merge to main).",
    );
  });

  it("a stack that was never brought up", async () => {
    mocks.ssm.on(GetParametersCommand).resolves({ Parameters: [], InvalidParameters: [] });
    await expect(friday("metrics", "--stack", "prod")).rejects.toThrow(/^No stack "prod" in this account and region: .* otherwise apply the stack through the pipeline/);
  });

  it("without the pipeline it still reports, with lead time unknown and a warning saying why", async () => {
    mocks.codepipeline.on(ListPipelineExecutionsCommand).rejects(awsError("PipelineNotFoundException", "Account '123456789012' does not have a pipeline with name 'friday'"));
    const report = await json();
    expect(report.figures.leadTime).toEqual({ medianSeconds: null, p90Seconds: null, samples: 0, withoutCommitTime: 3 });
    expect(report.counts.pipelineRuns).toBeNull();
    expect(report.warnings).toEqual([
      'No pipeline "friday" in this account and region: lead time and per-stage times are unknown. The prod stack creates it (a new account starts with `npx friday bootstrap`, docs/infra-pipeline.md); if it lives in another region, pass --region.',
    ]);
    // Without the pipeline's rollback run, E3 (same image again) is a config deploy.
    expect(report.figures.changeFailureRate).toEqual({ failed: 3, changes: 6, rate: 0.5 });
  });

  it("a permission missing names the action and the fix", async () => {
    mocks.codepipeline
      .on(ListPipelineExecutionsCommand)
      .rejects(awsError("AccessDeniedException", "User: arn:aws:sts::123456789012:assumed-role/Dev/s is not authorized to perform: codepipeline:ListPipelineExecutions", 403));
    await expect(friday("metrics", "--stack", "prod")).rejects.toThrow(/^Permission denied: codepipeline:ListPipelineExecutions is not allowed for role Dev /);
  });
});
