/**
 * What `pulumi preview --json` says, summarised for a person: counts per operation, the resources
 * that change (replacements and deletions of stateful resources first and loud), and the errors
 * with the resource each one belongs to. The JSON is Pulumi's PreviewDigest (sdk/go/.../display):
 * `steps[{op, urn, diffReasons, replaceReasons}]`, `diagnostics[{urn, message, severity}]`,
 * `changeSummary{op: count}`.
 */

export interface PreviewDigest {
  steps?: { op: string; urn: string; diffReasons?: string[]; replaceReasons?: string[] }[];
  diagnostics?: { urn?: string; prefix?: string; message?: string; severity?: string }[];
  changeSummary?: Record<string, number>;
  duration?: number;
}

export interface ResourceChange {
  readonly op: string;
  readonly type: string;
  readonly name: string;
  /** The properties that cause the change (replace reasons for replacements). */
  readonly properties: string[];
  /** A replacement or deletion of a resource that holds data (database, bucket, key, secret, repository, log group). */
  readonly destructive: boolean;
}

export interface PreviewSummary {
  readonly stack: string;
  /** Resources per operation, e.g. {create: 2, update: 1, same: 140}. */
  readonly counts: Record<string, number>;
  readonly changes: ResourceChange[];
  /** Errors, each naming its resource where Pulumi named one. */
  readonly errors: { resource?: string; message: string }[];
  readonly warnings: { resource?: string; message: string }[];
}

/** Resource types whose replacement or deletion loses data. */
const STATEFUL_TYPES = new Set([
  "aws:rds/instance:Instance",
  "aws:s3/bucket:Bucket",
  "aws:kms/key:Key",
  "aws:secretsmanager/secret:Secret",
  "aws:ecr/repository:Repository",
  "aws:cloudwatch/logGroup:LogGroup",
]);

const CHANGING_OPS = new Set(["create", "update", "replace", "create-replacement", "delete-replaced", "delete", "import", "import-replacement"]);

/** urn:pulumi:<stack>::<project>::<parent types$>type::name → { type, name }. */
export function parseUrn(urn: string): { type: string; name: string } {
  const parts = urn.split("::");
  const typeChain = parts[2] ?? "";
  return { type: typeChain.split("$").pop() ?? typeChain, name: parts.slice(3).join("::") };
}

/** Reads `pulumi preview --json` output (which may carry log lines before the JSON object). */
export function parsePreviewJson(text: string): PreviewDigest {
  const start = text.indexOf("{");
  if (start < 0) throw new Error("pulumi preview printed no JSON: is the Pulumi CLI older than 3.0, or did it fail before the preview began?");
  try {
    return JSON.parse(text.slice(start)) as PreviewDigest;
  } catch (error) {
    throw new Error(`pulumi preview printed JSON friday cannot read (${(error as Error).message}).`);
  }
}

export function summarisePreview(stack: string, digest: PreviewDigest): PreviewSummary {
  const changes: ResourceChange[] = [];
  const seen = new Set<string>();
  for (const step of digest.steps ?? []) {
    if (!CHANGING_OPS.has(step.op)) continue;
    const { type, name } = parseUrn(step.urn);
    if (type === "pulumi:pulumi:Stack" || type.startsWith("pulumi:providers:")) continue;
    // A replacement shows up as create-replacement + replace + delete-replaced: report it once.
    const op = step.op === "create-replacement" || step.op === "delete-replaced" ? "replace" : step.op;
    const key = `${op}:${step.urn}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const properties = op === "replace" ? step.replaceReasons ?? step.diffReasons ?? [] : step.diffReasons ?? [];
    changes.push({ op, type, name, properties, destructive: (op === "replace" || op === "delete") && STATEFUL_TYPES.has(type) });
  }
  changes.sort((a, b) => Number(b.destructive) - Number(a.destructive) || a.op.localeCompare(b.op) || a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
  const diagnostics = (digest.diagnostics ?? []).map((d) => ({
    severity: d.severity ?? "info",
    resource: d.urn ? describeUrn(d.urn) : undefined,
    message: (d.message ?? "").replace(/\u001b\[[0-9;]*m/g, "").trim(),
  }));
  return {
    stack,
    counts: { ...(digest.changeSummary ?? {}) },
    changes,
    errors: diagnostics.filter((d) => d.severity === "error" && d.message).map(({ resource, message }) => ({ resource, message })),
    warnings: diagnostics.filter((d) => d.severity === "warning" && d.message).map(({ resource, message }) => ({ resource, message })),
  };
}

function describeUrn(urn: string): string {
  const { type, name } = parseUrn(urn);
  return `${type} "${name}"`;
}

/** The summary as text for a build log (and a pull request's commit status page). */
export function formatPreviewSummary(summary: PreviewSummary): string {
  const counts = Object.entries(summary.counts)
    .filter(([op]) => op !== "same")
    .map(([op, n]) => `${n} to ${op}`);
  const lines = [`Preview of ${summary.stack}: ${counts.length ? counts.join(", ") : "no changes"}${summary.counts.same ? ` (${summary.counts.same} unchanged)` : ""}.`];
  const destructive = summary.changes.filter((c) => c.destructive);
  if (destructive.length) {
    lines.push(`WARNING: ${destructive.length} change${destructive.length > 1 ? "s" : ""} would replace or delete a resource that holds data:`);
    for (const c of destructive) lines.push(`  !! ${c.op} ${c.type} "${c.name}"${c.properties.length ? ` (because of ${c.properties.join(", ")})` : ""}`);
  }
  for (const c of summary.changes.filter((x) => !x.destructive)) {
    lines.push(`  ${c.op.padEnd(7)} ${c.type} "${c.name}"${c.properties.length ? ` (${c.properties.join(", ")})` : ""}`);
  }
  for (const w of summary.warnings) lines.push(`  warning${w.resource ? ` on ${w.resource}` : ""}: ${firstLine(w.message)}`);
  for (const e of summary.errors) lines.push(`  ERROR${e.resource ? ` on ${e.resource}` : ""}: ${e.message}`);
  return lines.join("\n");
}

function firstLine(text: string): string {
  return text.split("\n")[0];
}
