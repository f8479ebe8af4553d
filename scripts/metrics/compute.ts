import { COMPLETED_STATUSES } from "../deploy/follow";
import type { StackName } from "../../infra/naming";
import { ServiceDeploymentRecord } from "./ecs-history";
import { FlagRelease, FlagStep } from "./flag-history";
import { PipelineRun } from "./pipeline-history";

/**
 * The four DORA figures for one environment over a window, from its history (ECS service
 * deployments, pipeline runs, flag deployments), plus the deploy-and-flag timeline they came from.
 * Pure: no AWS, no clock. docs/runbooks/metrics.md defines each figure; the code follows it.
 */

/** A flag kill this soon after a deploy counts that deploy as failed. */
export const FLAG_KILL_BLAME_HOURS = 24;

export interface MetricsWindow {
  readonly days: number;
  readonly from: Date;
  readonly to: Date;
}

export interface MetricsInput {
  readonly stack: StackName;
  readonly window: MetricsWindow;
  /** The service's deployments created in the window, any order. */
  readonly deployments: readonly ServiceDeploymentRecord[];
  /** The pipeline's runs in the window; undefined when the pipeline could not be read. */
  readonly runs?: readonly PipelineRun[];
  /** The flag profile's deployments in the window; undefined when they could not be read. */
  readonly flags?: readonly FlagRelease[];
  /** Why a history is missing or partial, for the reader. */
  readonly warnings?: readonly string[];
}

/**
 * release: a new image; config: the image that already ran, with a new task definition (an
 * infra-only change, `friday deploy --image current`); rollback: back to an earlier revision or image.
 */
export type DeployKind = "release" | "config" | "rollback";

export interface DeployRow {
  readonly serviceDeploymentArn: string;
  readonly kind: DeployKind;
  /** For a rollback: the pipeline's rollback run, `friday rollback` redeploying an older revision, or an earlier image deployed again. */
  readonly rollbackBy?: "pipeline rollback" | "friday rollback (redeploy)" | "earlier image redeployed";
  readonly status: string;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly durationSeconds?: number;
  readonly taskDefinition?: string;
  readonly imageDigest?: string;
  readonly pipelineExecutionId?: string;
  readonly commitId?: string;
  readonly commitAuthoredAt?: string;
  /** Commit authored → this deployment SUCCESSFUL (releases the pipeline built only). */
  readonly leadTimeSeconds?: number;
  /** A rollback that deployed the image already serving (the pipeline's rollback run after ECS rolled back): restores nothing. */
  readonly noOp?: boolean;
  /** Counted in the change failure rate (changes only: releases and config deploys). */
  readonly failed: boolean;
  readonly failure?: string;
  readonly reason?: string;
}

export type RestoreBy = "ecs rollback" | "friday rollback (redeploy)" | "pipeline rollback" | "earlier image redeployed" | "flag kill";

export interface RestoreRow {
  readonly by: RestoreBy;
  /** Deployment ARN, or "flags #N". */
  readonly ref: string;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly restored: boolean;
  /** How long the restore itself took; undefined when not restored or a start time is missing. */
  readonly durationSeconds?: number;
  readonly detail?: string;
}

export interface FlagRow {
  readonly deploymentNumber: number;
  readonly flag?: string;
  /** The `friday flags` subcommand (a restore brings back what a kill kept). */
  readonly change?: string;
  readonly step: FlagStep;
  readonly percent?: number;
  readonly state: string;
  readonly startedAt?: string;
  readonly completedAt?: string;
  readonly from?: string;
  readonly to?: string;
}

export interface TimelineEvent {
  readonly at: string;
  readonly type: "deploy" | "rollback" | "flag";
  readonly title: string;
  readonly status: string;
  /** A failed change, an ECS rollback, a failed restore, a kill or a rolled-back flag deployment. */
  readonly bad: boolean;
  readonly detail?: string;
}

export interface StageFigure {
  readonly stage: string;
  readonly medianSeconds: number;
  readonly samples: number;
}

export interface MetricsReport {
  readonly stack: StackName;
  readonly window: { readonly days: number; readonly from: string; readonly to: string };
  readonly figures: {
    readonly deploymentFrequency: { readonly deployments: number; readonly perDay: number; readonly perWeek: number };
    readonly leadTime: { readonly medianSeconds: number | null; readonly p90Seconds: number | null; readonly samples: number; readonly withoutCommitTime: number };
    readonly changeFailureRate: { readonly failed: number; readonly changes: number; readonly rate: number | null };
    readonly timeToRestore: { readonly medianSeconds: number | null; readonly maxSeconds: number | null; readonly samples: number; readonly notRestored: number };
  };
  /** Median time per pipeline stage over the runs that deployed to this environment: where lead time goes. */
  readonly pipelineStages: StageFigure[];
  readonly deploys: DeployRow[];
  readonly restores: RestoreRow[];
  readonly flags: FlagRow[];
  readonly timeline: TimelineEvent[];
  readonly counts: { readonly serviceDeployments: number; readonly pipelineRuns: number | null; readonly flagDeployments: number | null };
  readonly warnings: string[];
}

const HOUR = 3_600_000;

/** Median: the middle value, or the mean of the two middle values. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

function seconds(from: Date | undefined, to: Date | undefined): number | undefined {
  return from && to ? Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000)) : undefined;
}

function iso(date: Date | undefined): string | undefined {
  return date?.toISOString();
}

/** The revision number in `…:task-definition/family:12`. */
export function taskDefinitionRevision(arn: string | undefined): number | undefined {
  const m = arn ? /:(\d+)$/.exec(arn) : null;
  return m ? Number(m[1]) : undefined;
}

const ENDED = COMPLETED_STATUSES as readonly string[];
const startOf = (d: ServiceDeploymentRecord) => d.startedAt ?? d.createdAt;

interface Working {
  record: ServiceDeploymentRecord;
  kind: DeployKind;
  rollbackBy?: DeployRow["rollbackBy"];
  run?: PipelineRun;
  failure?: string;
}

/** A rollback that deploys the image already serving (ECS had rolled back first): it restores nothing. */
function isNoOp(w: Working): boolean {
  return !!w.record.targetImageDigest && w.record.targetImageDigest === w.record.sourceImageDigest;
}

/** Sorts each deployment into release, config change or rollback (oldest first). */
function classify(deployments: readonly ServiceDeploymentRecord[], runs: readonly PipelineRun[]): Working[] {
  // The run that built an image: the earliest standard run with that digest.
  const builtBy = new Map<string, PipelineRun>();
  for (const run of [...runs].sort((a, b) => (a.startedAt?.getTime() ?? 0) - (b.startedAt?.getTime() ?? 0))) {
    if (run.imageDigest && run.executionType !== "ROLLBACK" && !builtBy.has(run.imageDigest)) builtBy.set(run.imageDigest, run);
  }
  const rollbackRuns = runs.filter((r) => r.executionType === "ROLLBACK");
  const servedBefore = new Set<string>();
  const sorted = [...deployments].sort((a, b) => (startOf(a)?.getTime() ?? 0) - (startOf(b)?.getTime() ?? 0));
  return sorted.map((record) => {
    const target = record.targetImageDigest;
    const source = record.sourceImageDigest;
    const run = target ? builtBy.get(target) : undefined;
    let working: Working;
    const pipelineRollback = rollbackRuns.find(
      (r) => r.imageDigest === target && r.startedAt && startOf(record) && r.startedAt <= startOf(record)! && (!r.lastUpdatedAt || r.lastUpdatedAt >= startOf(record)!),
    );
    const targetRev = taskDefinitionRevision(record.targetTaskDefinition);
    const sourceRev = taskDefinitionRevision(record.sourceTaskDefinition);
    // The pipeline's rollback run first: after ECS already rolled back, it deploys the image that
    // serves again (a no-op rollback), which would otherwise look like a config change.
    if (pipelineRollback) working = { record, kind: "rollback", rollbackBy: "pipeline rollback", run: pipelineRollback };
    else if (target && source && target === source) working = { record, kind: "config", run };
    else if (targetRev !== undefined && sourceRev !== undefined && targetRev < sourceRev) working = { record, kind: "rollback", rollbackBy: "friday rollback (redeploy)" };
    else if (target && servedBefore.has(target)) working = { record, kind: "rollback", rollbackBy: "earlier image redeployed" };
    else working = { record, kind: "release", run };
    if (source) servedBefore.add(source);
    return working;
  });
}

/** Computes the figures, the restores and the timeline for one environment. */
export function computeMetrics(input: MetricsInput): MetricsReport {
  const { stack, window } = input;
  const runs = input.runs ?? [];
  const flags = [...(input.flags ?? [])].sort((a, b) => (a.startedAt?.getTime() ?? 0) - (b.startedAt?.getTime() ?? 0));
  const rows = classify(input.deployments, runs);
  const isChange = (w: Working) => w.kind !== "rollback" && ENDED.includes(w.record.status);

  // 1. Changes ECS rolled back or that were stopped failed on their own.
  for (const w of rows) {
    if (!isChange(w) || w.record.status === "SUCCESSFUL") continue;
    w.failure =
      w.record.status === "ROLLBACK_SUCCESSFUL"
        ? "rolled back by ECS"
        : w.record.status === "ROLLBACK_FAILED"
          ? "ECS rollback failed"
          : "stopped";
  }
  // 2. A rollback deploy undoes the latest successful change before it (one that deploys the image
  //    already serving undoes nothing: the pipeline's rollback run after ECS rolled back).
  for (const r of rows.filter((w) => w.kind === "rollback" && !isNoOp(w))) {
    const start = startOf(r.record)?.getTime() ?? 0;
    const undone = [...rows]
      .reverse()
      .find((w) => isChange(w) && w.record.status === "SUCCESSFUL" && (startOf(w.record)?.getTime() ?? 0) < start);
    if (undone && !undone.failure) undone.failure = `undone by ${r.rollbackBy} (deployment ${r.record.arn.split("/").pop()})`;
  }
  // 3. A flag kill soon after a successful change counts that change as failed.
  for (const kill of flags.filter((f) => f.step === "kill" && f.startedAt)) {
    const at = kill.startedAt!.getTime();
    const before = [...rows].reverse().find((w) => isChange(w) && w.record.status === "SUCCESSFUL" && w.record.endedAt && w.record.endedAt.getTime() <= at);
    if (before && at - before.record.endedAt!.getTime() <= FLAG_KILL_BLAME_HOURS * HOUR && !before.failure) {
      before.failure = `followed by a flag kill (${kill.flag ?? "?"}, flags #${kill.deploymentNumber})`;
    }
  }

  const deploys: DeployRow[] = rows.map((w) => {
    const r = w.record;
    const commitAt = w.run?.commitAuthoredAt;
    const lead = w.kind === "release" && r.status === "SUCCESSFUL" ? seconds(commitAt, r.endedAt) : undefined;
    return {
      serviceDeploymentArn: r.arn,
      kind: w.kind,
      ...(w.rollbackBy ? { rollbackBy: w.rollbackBy } : {}),
      status: r.status,
      startedAt: iso(startOf(r)),
      endedAt: iso(r.endedAt),
      durationSeconds: seconds(startOf(r), r.endedAt),
      taskDefinition: r.targetTaskDefinition,
      imageDigest: r.targetImageDigest,
      pipelineExecutionId: w.run?.executionId,
      commitId: w.run?.commitId,
      commitAuthoredAt: iso(commitAt),
      ...(lead !== undefined ? { leadTimeSeconds: lead } : {}),
      ...(w.kind === "rollback" && isNoOp(w) ? { noOp: true } : {}),
      failed: !!w.failure,
      ...(w.failure ? { failure: w.failure } : {}),
      ...(r.reason ? { reason: r.reason } : {}),
    };
  });

  const restores: RestoreRow[] = [];
  for (const w of rows) {
    const r = w.record;
    if (r.status === "ROLLBACK_SUCCESSFUL" || r.status === "ROLLBACK_FAILED") {
      const restored = r.status === "ROLLBACK_SUCCESSFUL";
      restores.push({
        by: "ecs rollback",
        ref: r.arn,
        startedAt: iso(r.rollbackStartedAt),
        endedAt: iso(r.endedAt),
        restored,
        ...(restored && seconds(r.rollbackStartedAt, r.endedAt) !== undefined ? { durationSeconds: seconds(r.rollbackStartedAt, r.endedAt) } : {}),
        detail: r.reason,
      });
    } else if (w.kind === "rollback" && !isNoOp(w) && ENDED.includes(r.status)) {
      const restored = r.status === "SUCCESSFUL";
      restores.push({
        by: w.rollbackBy ?? "earlier image redeployed",
        ref: r.arn,
        startedAt: iso(startOf(r)),
        endedAt: iso(r.endedAt),
        restored,
        ...(restored && seconds(startOf(r), r.endedAt) !== undefined ? { durationSeconds: seconds(startOf(r), r.endedAt) } : {}),
        detail: `back to ${r.targetTaskDefinition ?? "?"}`,
      });
    }
  }
  for (const kill of flags.filter((f) => f.step === "kill")) {
    const restored = kill.state === "COMPLETE";
    restores.push({
      by: "flag kill",
      ref: `flags #${kill.deploymentNumber}`,
      startedAt: iso(kill.startedAt),
      endedAt: iso(kill.completedAt),
      restored,
      ...(restored && seconds(kill.startedAt, kill.completedAt) !== undefined ? { durationSeconds: seconds(kill.startedAt, kill.completedAt) } : {}),
      detail: kill.flag,
    });
  }
  restores.sort((a, b) => (a.startedAt ?? a.endedAt ?? "").localeCompare(b.startedAt ?? b.endedAt ?? ""));

  const changes = deploys.filter((d) => d.kind !== "rollback" && ENDED.includes(d.status));
  const successful = changes.filter((d) => d.status === "SUCCESSFUL");
  const leads = deploys.map((d) => d.leadTimeSeconds).filter((s): s is number => s !== undefined);
  const failed = changes.filter((d) => d.failed).length;
  const restoreTimes = restores.map((r) => r.durationSeconds).filter((s): s is number => s !== undefined);

  return {
    stack,
    window: { days: window.days, from: window.from.toISOString(), to: window.to.toISOString() },
    figures: {
      deploymentFrequency: { deployments: successful.length, perDay: round(successful.length / window.days, 2), perWeek: round((successful.length / window.days) * 7, 1) },
      leadTime: {
        medianSeconds: median(leads),
        p90Seconds: percentile(leads, 90),
        samples: leads.length,
        withoutCommitTime: successful.filter((d) => d.kind === "release" && d.leadTimeSeconds === undefined).length,
      },
      changeFailureRate: { failed, changes: changes.length, rate: changes.length ? round(failed / changes.length, 3) : null },
      timeToRestore: { medianSeconds: median(restoreTimes), maxSeconds: restoreTimes.length ? Math.max(...restoreTimes) : null, samples: restoreTimes.length, notRestored: restores.filter((r) => !r.restored).length },
    },
    pipelineStages: stageFigures(runs, stack),
    deploys,
    restores,
    flags: flags.map((f) => ({
      deploymentNumber: f.deploymentNumber,
      ...(f.flag ? { flag: f.flag } : {}),
      ...(f.change ? { change: f.change } : {}),
      step: f.step,
      ...(f.percent !== undefined ? { percent: f.percent } : {}),
      state: f.state,
      startedAt: iso(f.startedAt),
      completedAt: iso(f.completedAt),
      ...(f.from !== undefined ? { from: f.from, to: f.to } : {}),
    })),
    timeline: timeline(deploys, flags),
    counts: { serviceDeployments: input.deployments.length, pipelineRuns: input.runs ? input.runs.length : null, flagDeployments: input.flags ? input.flags.length : null },
    warnings: [...(input.warnings ?? [])],
  };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Median duration of each stage (and of the wait from commit to the run's start) over the standard runs that deployed here. */
function stageFigures(runs: readonly PipelineRun[], stack: StackName): StageFigure[] {
  const reached = runs.filter((r) => r.executionType !== "ROLLBACK" && r.deployedAt[stack]);
  const samples = new Map<string, number[]>();
  const add = (stage: string, value: number | undefined) => {
    if (value === undefined) return;
    samples.set(stage, [...(samples.get(stage) ?? []), value]);
  };
  for (const run of reached) {
    add("commit → pipeline start", seconds(run.commitAuthoredAt, run.startedAt));
    for (const stage of run.stages) if (stage.status === "Succeeded") add(stage.stage, seconds(stage.startedAt, stage.endedAt));
  }
  return [...samples].map(([stage, values]) => ({ stage, medianSeconds: median(values) as number, samples: values.length }));
}

/** Label of a flag step on the ladder team → N% → 100% → kill. */
export function stepLabel(f: Pick<FlagRow, "step" | "percent">): string {
  switch (f.step) {
    case "percent":
      return `${f.percent}%`;
    case "everyone":
      return "100%";
    default:
      return f.step;
  }
}

function timeline(deploys: DeployRow[], flags: readonly FlagRelease[]): TimelineEvent[] {
  const events: TimelineEvent[] = [];
  for (const d of deploys) {
    if (!d.startedAt) continue;
    const what = d.kind === "rollback" ? (d.rollbackBy ?? "rollback") : d.kind === "config" ? "config deploy (same image)" : `deploy ${d.commitId ? d.commitId.slice(0, 7) : shortDigest(d.imageDigest)}`;
    events.push({
      at: d.startedAt,
      type: d.kind === "rollback" ? "rollback" : "deploy",
      title: what,
      status: d.status,
      bad: d.failed || d.status !== "SUCCESSFUL",
      detail: [d.taskDefinition?.replace(/^.*:task-definition\//, ""), d.noOp ? "no-op: that image was already serving" : undefined, d.failure, d.reason].filter(Boolean).join(" · ") || undefined,
    });
  }
  for (const f of flags) {
    if (!f.startedAt) continue;
    events.push({
      at: f.startedAt.toISOString(),
      type: "flag",
      title: f.flag ? `flag ${f.flag} → ${stepLabel(f)}${f.change === "restore" ? " (restored after a kill)" : ""}` : `flags ${f.step} (#${f.deploymentNumber})`,
      status: f.state,
      bad: f.step === "kill" || f.state === "ROLLED_BACK" || f.state === "REVERTED",
      detail: f.from !== undefined ? `${f.from} → ${f.to}` : f.description,
    });
  }
  return events.sort((a, b) => a.at.localeCompare(b.at));
}

function shortDigest(digest: string | undefined): string {
  return digest ? digest.replace(/^sha256:/, "").slice(0, 12) : "?";
}
