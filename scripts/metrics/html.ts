import { MetricsReport, TimelineEvent } from "./compute";
import { figureLines, humanDuration } from "./format";

/**
 * The report as one static HTML page a team can open or publish anywhere: the four figures, a
 * time strip of deploys, rollbacks and flag releases, and the tables behind them. Self-contained:
 * inline CSS and SVG, no script, no external fonts, images or styles.
 */

export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

const e = escapeHtml;

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1d232a;background:#fff}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.75rem 0 .5rem}
.window{color:#57606a;margin:0 0 1.25rem}
#figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(230px,1fr));gap:.75rem}
.figure{border:1px solid #d0d7de;border-radius:8px;padding:.75rem 1rem}
.figure h2{font-size:.9rem;margin:0;color:#57606a;font-weight:600}
.figure .value{font-size:1.9rem;font-weight:700;margin:.2rem 0}
.figure .detail{margin:0;color:#57606a;font-size:.85rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f6f8fa}
td:first-child{white-space:nowrap}
tr.bad td{background:#fff1f0}
.tag{display:inline-block;border-radius:4px;padding:0 .35rem;font-size:.8rem;color:#fff}
.tag-deploy{background:#0969da}.tag-rollback{background:#bf3989}.tag-flag{background:#8250df}
.warning{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:.5rem .75rem;margin:.5rem 0}
svg{width:100%;height:auto;border:1px solid #eaeef2;border-radius:6px}
footer{margin-top:2rem;color:#57606a;font-size:.8rem}
`;

const COLORS: Record<TimelineEvent["type"], string> = { deploy: "#0969da", rollback: "#bf3989", flag: "#8250df" };
const LANES: TimelineEvent["type"][] = ["deploy", "rollback", "flag"];

/** A strip with one lane per event type and a dot per event at its time; bad events ringed red. */
function strip(r: MetricsReport): string {
  const width = 1000;
  const laneHeight = 34;
  const left = 80;
  const from = Date.parse(r.window.from);
  const to = Date.parse(r.window.to);
  const x = (at: string) => left + ((Date.parse(at) - from) / Math.max(1, to - from)) * (width - left - 10);
  const height = LANES.length * laneHeight + 24;
  const parts: string[] = [];
  LANES.forEach((lane, i) => {
    const y = 16 + i * laneHeight + laneHeight / 2;
    parts.push(`<text x="6" y="${y + 4}" font-size="12" fill="#57606a">${lane}s</text>`);
    parts.push(`<line x1="${left}" x2="${width - 10}" y1="${y}" y2="${y}" stroke="#eaeef2"/>`);
  });
  for (const ev of r.timeline) {
    const y = 16 + LANES.indexOf(ev.type) * laneHeight + laneHeight / 2;
    const ring = ev.bad ? ` stroke="#cf222e" stroke-width="3"` : "";
    parts.push(
      `<circle class="event event-${ev.type}${ev.bad ? " bad" : ""}" cx="${x(ev.at).toFixed(1)}" cy="${y}" r="6" fill="${COLORS[ev.type]}"${ring}><title>${e(`${ev.at.slice(0, 16).replace("T", " ")}Z ${ev.title} [${ev.status}]`)}</title></circle>`,
    );
  }
  parts.push(`<text x="${left}" y="${height - 4}" font-size="11" fill="#57606a">${e(r.window.from.slice(0, 10))}</text>`);
  parts.push(`<text x="${width - 10}" y="${height - 4}" font-size="11" fill="#57606a" text-anchor="end">${e(r.window.to.slice(0, 10))}</text>`);
  return `<svg id="timeline-strip" viewBox="0 0 ${width} ${height}" role="img" aria-label="deploys, rollbacks and flag releases over time">${parts.join("")}</svg>`;
}

function table(id: string, headers: string[], rows: { cells: string[]; bad?: boolean; attrs?: string }[], empty: string): string {
  if (rows.length === 0) return `<p id="${id}" class="empty">${e(empty)}</p>`;
  const head = `<tr>${headers.map((h) => `<th>${e(h)}</th>`).join("")}</tr>`;
  const body = rows.map((row) => `<tr${row.bad ? ' class="bad"' : ""}${row.attrs ?? ""}>${row.cells.map((c) => `<td>${e(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table id="${id}"><thead>${head}</thead><tbody>\n${body}\n</tbody></table>`;
}

function when(at: string | undefined): string {
  return at ? `${at.slice(0, 16).replace("T", " ")}Z` : "?";
}

export function renderHtml(r: MetricsReport, generatedAt: Date): string {
  const title = `friday metrics: ${r.stack}, last ${r.window.days} day(s)`;
  const figures = figureLines(r)
    .map((f) => {
      const key = f.name.toLowerCase().replace(/[^a-z]+/g, "-");
      return `<div class="figure" data-figure="${key}"><h2>${e(f.name)}</h2><p class="value">${e(f.value)}</p><p class="detail">${e(f.detail)}</p></div>`;
    })
    .join("\n");
  const timelineRows = r.timeline.map((ev) => ({
    bad: ev.bad,
    attrs: ` data-type="${ev.type}"`,
    cells: [when(ev.at), ev.type, ev.title, ev.status, ev.detail ?? ""],
  }));
  const restoreRows = r.restores.map((x) => ({
    bad: !x.restored,
    cells: [when(x.startedAt ?? x.endedAt), x.by, x.restored ? humanDuration(x.durationSeconds) : "not restored", x.detail ?? "", x.ref],
  }));
  const stageRows = r.pipelineStages.map((s) => ({ cells: [s.stage, humanDuration(s.medianSeconds), String(s.samples)] }));
  const warnings = r.warnings.map((w) => `<p class="warning">${e(w)}</p>`).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${e(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${e(`Delivery on ${r.stack}`)}</h1>
<p class="window">${e(`Last ${r.window.days} day(s): ${when(r.window.from)} → ${when(r.window.to)}. ${r.counts.serviceDeployments} service deployment(s), ${r.counts.pipelineRuns ?? "no"} pipeline run(s), ${r.counts.flagDeployments ?? "no"} flag deployment(s).`)}</p>
${warnings}
<section id="figures">
${figures}
</section>
<h2>Timeline</h2>
${strip(r)}
${table("timeline", ["When", "Type", "What", "Status", "Detail"], timelineRows, "Nothing happened in this window.")}
<h2>Restores</h2>
${table("restores", ["When", "By", "Took", "Detail", "Reference"], restoreRows, "No rollbacks or flag kills in this window.")}
<h2>Where lead time goes</h2>
${table("stages", ["Stage", "Median", "Runs"], stageRows, "No pipeline run deployed here in this window.")}
<footer>Generated by <code>friday metrics --stack ${e(r.stack)} --days ${r.window.days}</code> at ${e(generatedAt.toISOString())}. Definitions: docs/runbooks/metrics.md.</footer>
</body>
</html>
`;
}
