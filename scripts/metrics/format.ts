import { MetricsReport } from "./compute";

/** The report as text for a terminal: the four figures, where lead time goes, restores, the timeline. */

/** 45s, 12m 05s, 3h 12m, 2d 4h. */
export function humanDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "n/a";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export function percent(rate: number | null): string {
  return rate === null ? "n/a" : `${Math.round(rate * 1000) / 10}%`;
}

/** The four figures, one line each, as people read them (used by the text and the HTML page). */
export function figureLines(r: MetricsReport): { name: string; value: string; detail: string }[] {
  const f = r.figures;
  return [
    {
      name: "Deployment frequency",
      value: `${f.deploymentFrequency.perDay}/day`,
      detail: `${f.deploymentFrequency.deployments} successful deploy(s) in ${r.window.days} day(s), ${f.deploymentFrequency.perWeek}/week`,
    },
    {
      name: "Lead time for changes",
      value: humanDuration(f.leadTime.medianSeconds),
      detail:
        `median commit → ${r.stack}, p90 ${humanDuration(f.leadTime.p90Seconds)}, ${f.leadTime.samples} release(s)` +
        (f.leadTime.withoutCommitTime ? `; ${f.leadTime.withoutCommitTime} release(s) without a pipeline run or commit time` : ""),
    },
    {
      name: "Change failure rate",
      value: percent(f.changeFailureRate.rate),
      detail: `${f.changeFailureRate.failed} of ${f.changeFailureRate.changes} change(s) rolled back, undone or followed by a flag kill`,
    },
    {
      name: "Time to restore",
      value: humanDuration(f.timeToRestore.medianSeconds),
      detail:
        `median of ${f.timeToRestore.samples} restore(s), longest ${humanDuration(f.timeToRestore.maxSeconds)}` +
        (f.timeToRestore.notRestored ? `; ${f.timeToRestore.notRestored} not restored` : ""),
    },
  ];
}

export function formatReport(r: MetricsReport): string {
  const out: string[] = [];
  out.push(`${r.stack}: delivery over the last ${r.window.days} day(s) (${r.window.from.slice(0, 16).replace("T", " ")}Z → ${r.window.to.slice(0, 16).replace("T", " ")}Z)`);
  const lines = figureLines(r);
  const width = Math.max(...lines.map((l) => l.name.length));
  for (const l of lines) out.push(`  ${l.name.padEnd(width)}  ${l.value.padStart(9)}   ${l.detail}`);
  if (r.pipelineStages.length) {
    out.push("Where lead time goes (median per stage):");
    for (const s of r.pipelineStages) out.push(`  ${s.stage.padEnd(24)} ${humanDuration(s.medianSeconds).padStart(8)}  (${s.samples} run(s))`);
  }
  if (r.restores.length) {
    out.push("Restores:");
    for (const x of r.restores) {
      out.push(`  ${(x.startedAt ?? x.endedAt ?? "?").slice(0, 16).replace("T", " ")}Z  ${x.by.padEnd(26)} ${x.restored ? humanDuration(x.durationSeconds).padStart(8) : "NOT RESTORED"}  ${x.detail ?? ""}`.trimEnd());
    }
  }
  out.push(`Timeline (${r.timeline.length} event(s)):`);
  for (const e of r.timeline) {
    out.push(`  ${e.at.slice(0, 16).replace("T", " ")}Z  ${e.bad ? "!" : " "} ${e.type.padEnd(8)} ${e.title}  [${e.status}]${e.detail ? `  ${e.detail}` : ""}`);
  }
  for (const w of r.warnings) out.push(`warning: ${w}`);
  return out.join("\n");
}
