/**
 * `npm run bench:metrics`: what `friday metrics --days 90` costs on a busy team's history, with
 * AWS answered in-process (aws-sdk-client-mock): how many AWS calls (pages) it makes, and how long
 * friday's own work takes (paging, joining, computing, rendering the HTML) without network time.
 *
 * The history: 90 days of prod at DEPLOYS_PER_DAY pipeline runs, each deployed (one in ten rolled
 * back by ECS, one in twenty undone by `friday rollback`), and FLAGS_PER_DAY flag deployments.
 */
import { performance } from "node:perf_hooks";
import { AppConfigClient, GetDeploymentCommand, ListDeploymentsCommand } from "@aws-sdk/client-appconfig";
import { CodePipelineClient, ListActionExecutionsCommand, ListPipelineExecutionsCommand } from "@aws-sdk/client-codepipeline";
import { DescribeServiceDeploymentsCommand, DescribeServiceRevisionsCommand, ECSClient, ListServiceDeploymentsCommand, ServiceDeployment, ServiceRevision } from "@aws-sdk/client-ecs";
import { GetParametersCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { renderHtml } from "../scripts/metrics/html";
import { collectMetrics } from "../scripts/metrics/metrics";
import { stackParameters } from "../scripts/metrics/test-fixtures";

const DAYS = 90;
const DEPLOYS_PER_DAY = Number(process.env.DEPLOYS_PER_DAY ?? 20);
const FLAGS_PER_DAY = Number(process.env.FLAGS_PER_DAY ?? 10);
const NOW = Date.parse("2026-06-30T12:00:00Z");
const START = NOW - DAYS * 86_400_000 + 60_000;
const ARN = "arn:aws:ecs:us-east-1:123456789012";
const REPO = "123456789012.dkr.ecr.us-east-1.amazonaws.com/friday-app";
const hex = (n: number) => n.toString(16).padStart(64, "0");

function history() {
  const n = DAYS * DEPLOYS_PER_DAY;
  const step = (NOW - START) / n;
  const deployments: ServiceDeployment[] = [];
  const revisions: ServiceRevision[] = [];
  const runs: { id: string; start: Date; digest: string }[] = [];
  let serving = 0;
  let td = 1;
  for (let i = 1; i <= n; i++) {
    const at = START + i * step;
    const rolledBack = i % 10 === 0;
    const undone = !rolledBack && i % 20 === 5;
    const revision = (id: string, digest: number, rev: number): ServiceRevision => ({
      serviceRevisionArn: `${ARN}:service-revision/friday-prod/friday-prod-app/${id}`,
      taskDefinition: `${ARN}:task-definition/friday-prod-app:${rev}`,
      containerImages: [{ containerName: "app", image: `${REPO}@sha256:${hex(digest)}`, imageDigest: `sha256:${hex(digest)}` }],
    });
    const source = revision(`s${i}`, serving, td);
    const target = revision(`t${i}`, i, ++td);
    revisions.push(source, target);
    deployments.push({
      serviceDeploymentArn: `${ARN}:service-deployment/friday-prod/friday-prod-app/d${i}`,
      status: rolledBack ? "ROLLBACK_SUCCESSFUL" : "SUCCESSFUL",
      createdAt: new Date(at),
      startedAt: new Date(at),
      finishedAt: new Date(at + 20 * 60_000),
      sourceServiceRevisions: [{ arn: source.serviceRevisionArn, runningTaskCount: 2 }],
      targetServiceRevision: { arn: target.serviceRevisionArn, runningTaskCount: 2 },
      ...(rolledBack ? { rollback: { reason: "alarm", startedAt: new Date(at + 15 * 60_000) } } : {}),
    });
    runs.push({ id: `run-${i}`, start: new Date(at - 90 * 60_000), digest: `sha256:${hex(i)}` });
    if (!rolledBack) serving = i;
    if (undone) {
      const back = revision(`b${i}`, i - 1, td - 1);
      revisions.push(back);
      deployments.push({
        serviceDeploymentArn: `${ARN}:service-deployment/friday-prod/friday-prod-app/r${i}`,
        status: "SUCCESSFUL",
        createdAt: new Date(at + 30 * 60_000),
        startedAt: new Date(at + 30 * 60_000),
        finishedAt: new Date(at + 40 * 60_000),
        sourceServiceRevisions: [{ arn: target.serviceRevisionArn, runningTaskCount: 2 }],
        targetServiceRevision: { arn: back.serviceRevisionArn, runningTaskCount: 2 },
      });
      serving = i - 1;
    }
  }
  const flagCount = DAYS * FLAGS_PER_DAY;
  const flags = Array.from({ length: flagCount }, (_, k) => {
    const at = new Date(START + (k + 1) * ((NOW - START) / flagCount));
    const kind = ["team", "rollout", "on", "kill"][k % 4];
    const to = { team: "team (2 users)", rollout: "team (2 users) + 5% of users", on: "on (everyone)", kill: "killed (off; was on (everyone))" }[kind];
    return { DeploymentNumber: k + 1, State: "COMPLETE" as const, StartedAt: at, CompletedAt: new Date(at.getTime() + 60_000), ConfigurationName: "flags", Description: `friday flags ${kind} flag-${k % 7}: off → ${to}` };
  });
  return { deployments, revisions, runs, flags };
}

function pages<T>(items: T[], size: number): { items: T[]; next?: string }[] {
  const out: { items: T[]; next?: string }[] = [];
  for (let i = 0; i < items.length; i += size) out.push({ items: items.slice(i, i + size), next: i + size < items.length ? `p${out.length + 1}` : undefined });
  return out.length ? out : [{ items: [] }];
}
const page = <T>(all: { items: T[]; next?: string }[], token?: string) => all[token ? Number(token.slice(1)) : 0];

async function main(): Promise<void> {
  const h = history();
  const ecs = mockClient(ECSClient);
  const ssm = mockClient(SSMClient);
  const codepipeline = mockClient(CodePipelineClient);
  const appconfig = mockClient(AppConfigClient);
  const params = stackParameters("prod");
  ssm.on(GetParametersCommand).callsFake((input: { Names: string[] }) => ({ Parameters: input.Names.filter((x) => x in params).map((Name) => ({ Name, Value: params[Name] })) }));
  const ecsPages = pages([...h.deployments].reverse(), 100);
  ecs.on(ListServiceDeploymentsCommand).callsFake((input) => {
    const p = page(ecsPages, input.nextToken);
    return { serviceDeployments: p.items.map((d) => ({ serviceDeploymentArn: d.serviceDeploymentArn, status: d.status, createdAt: d.createdAt })), nextToken: p.next };
  });
  const byArn = new Map(h.deployments.map((d) => [d.serviceDeploymentArn, d]));
  const revByArn = new Map(h.revisions.map((r) => [r.serviceRevisionArn, r]));
  ecs.on(DescribeServiceDeploymentsCommand).callsFake((input: { serviceDeploymentArns: string[] }) => ({ serviceDeployments: input.serviceDeploymentArns.map((a) => byArn.get(a)!) }));
  ecs.on(DescribeServiceRevisionsCommand).callsFake((input: { serviceRevisionArns: string[] }) => ({ serviceRevisions: input.serviceRevisionArns.map((a) => revByArn.get(a)!) }));
  const runPages = pages([...h.runs].reverse(), 100);
  codepipeline.on(ListPipelineExecutionsCommand).callsFake((input) => {
    const p = page(runPages, input.nextToken);
    return {
      pipelineExecutionSummaries: p.items.map((r) => ({ pipelineExecutionId: r.id, status: "Succeeded", startTime: r.start, lastUpdateTime: new Date(r.start.getTime() + 7_200_000), executionType: "STANDARD", sourceRevisions: [{ actionName: "Source", revisionId: r.id }] })),
      nextToken: p.next,
    };
  });
  const runById = new Map(h.runs.map((r) => [r.id, r]));
  codepipeline.on(ListActionExecutionsCommand).callsFake((input) => {
    const r = runById.get(input.filter!.pipelineExecutionId!)!;
    const t = (min: number) => new Date(r.start.getTime() + min * 60_000);
    const action = (stageName: string, actionName: string, from: number, to: number, outputVariables: Record<string, string> = {}) => ({
      pipelineExecutionId: r.id, stageName, actionName, startTime: t(from), lastUpdateTime: t(to), status: "Succeeded" as const, output: { outputVariables },
    });
    return {
      actionExecutionDetails: [
        action("Source", "Source", 0, 1, { AuthorDate: t(-30).toISOString() }),
        action("Test", "UnitTestsAndMigrationLint", 1, 10),
        action("Build", "BuildImage", 10, 20, { IMAGE_URI: `${REPO}@${r.digest}` }),
        action("Staging", "ExpandMigrations", 20, 22),
        action("Staging", "Deploy", 22, 45),
        action("Staging", "SmokeTests", 45, 50),
        action("Gate", "AutomaticChecks", 50, 52),
        action("Gate", "ManualApproval", 52, 80),
        action("Prod", "ExpandMigrations", 80, 82),
        action("Prod", "Deploy", 82, 110),
      ],
    };
  });
  const flagPages = pages([...h.flags].reverse(), 50);
  appconfig.on(ListDeploymentsCommand).callsFake((input) => {
    const p = page(flagPages, input.NextToken);
    return { Items: p.items, NextToken: p.next };
  });
  const flagByNumber = new Map(h.flags.map((f) => [f.DeploymentNumber, f]));
  appconfig.on(GetDeploymentCommand).callsFake((input) => flagByNumber.get(input.DeploymentNumber!)!);

  const clients = { ecs: new ECSClient({ region: "us-east-1" }), ssm: new SSMClient({ region: "us-east-1" }), codepipeline: new CodePipelineClient({ region: "us-east-1" }), appconfig: new AppConfigClient({ region: "us-east-1" }) };
  const log: string[] = [];
  const started = performance.now();
  const now = NOW;
  const report = await collectMetrics({ ...clients, clock: { now: () => now }, log: (line) => log.push(line) }, { stack: "prod", days: DAYS });
  const collected = performance.now();
  const html = renderHtml(report, new Date(now));
  const rendered = performance.now();

  const calls = [ecs, ssm, codepipeline, appconfig].reduce((n, m) => n + m.calls().length, 0);
  const f = report.figures;
  console.log(`friday metrics --days ${DAYS} over a synthetic history: ${h.deployments.length} ECS deployments, ${h.runs.length} pipeline runs, ${h.flags.length} flag deployments`);
  console.log(`  AWS calls (pages): ${calls}  (${log.filter((l) => /: page \d+,/.test(l)).length} progress lines)`);
  for (const [name, m] of Object.entries({ ecs, ssm, codepipeline, appconfig })) {
    const byCommand = new Map<string, number>();
    for (const c of m.calls() as { args: object[] }[]) byCommand.set(c.args[0].constructor.name, (byCommand.get(c.args[0].constructor.name) ?? 0) + 1);
    console.log(`    ${name}: ${[...byCommand].map(([k, v]) => `${k.replace(/Command$/, "")} ${v}`).join(", ")}`);
  }
  console.log(`  read + compute (SDK calls answered in-process): ${(collected - started).toFixed(0)} ms; HTML page: ${(rendered - collected).toFixed(0)} ms, ${(html.length / 1024).toFixed(0)} KiB`);
  console.log(`  figures: ${f.deploymentFrequency.perDay}/day, lead time median ${f.leadTime.medianSeconds}s (${f.leadTime.samples} samples), CFR ${f.changeFailureRate.rate} (${f.changeFailureRate.failed}/${f.changeFailureRate.changes}), restore median ${f.timeToRestore.medianSeconds}s (${f.timeToRestore.samples})`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
