import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { z } from "zod";

/**
 * Scrub rules: a YAML file in the repo that classifies EVERY column of every table in the database
 * as `keep` or a masking strategy (or a whole table as `truncate`). The scrub fails closed on a
 * table or column the rules do not mention.
 *
 *   version: 1
 *   emailDomain: scrubbed.invalid        # masked emails are u<hex>@<emailDomain>
 *   tables:
 *     users:                              # "public." is implied; write "schema.table" otherwise
 *       id: keep
 *       email: email                      # keyed HMAC pseudonym: same input → same output everywhere
 *       full_name: name
 *       born_on: { strategy: shift, maxDays: 365 }
 *       notes: text
 *       password_hash: { strategy: fixed, value: "!" }
 *     audit_log:
 *       payload: { strategy: json, paths: { actor.email: email, ip: "null" } }
 *     sessions: truncate
 */

export const STRATEGIES = [
  "keep",
  "null",
  "fixed",
  "email",
  "name",
  "phone",
  "address",
  "text",
  "hash",
  "shift",
  "json",
  "sql",
] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** Strategies usable inside a JSON document (at a path). */
export const JSON_PATH_STRATEGIES = ["null", "fixed", "email", "name", "phone", "address", "text", "hash"] as const;
export type JsonPathStrategy = (typeof JSON_PATH_STRATEGIES)[number];

/** Strategies whose shorthand (a bare word) is complete. */
const SHORTHAND = ["keep", "null", "email", "name", "phone", "address", "text", "hash", "shift"] as const;

const DOMAIN_PATTERN = /^(?=.{1,200}$)([a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}$/;
const IDENTIFIER_PATTERN = /^[^\s."]{1,63}$/;

const keep = z.object({ strategy: z.literal("keep") }).strict();
const nul = z.object({ strategy: z.literal("null") }).strict();
const fixed = z
  .object({ strategy: z.literal("fixed"), value: z.union([z.string(), z.number(), z.boolean()], { message: "value must be a string, number or boolean" }) })
  .strict();
const email = z
  .object({ strategy: z.literal("email"), domain: z.string().regex(DOMAIN_PATTERN, "domain must be a lower-case DNS name such as scrubbed.invalid").optional() })
  .strict();
const name = z.object({ strategy: z.literal("name"), part: z.enum(["full", "first", "last"]).default("full") }).strict();
const phone = z.object({ strategy: z.literal("phone") }).strict();
const address = z.object({ strategy: z.literal("address"), part: z.enum(["line1", "line2", "city", "postcode"]).default("line1") }).strict();
const text = z.object({ strategy: z.literal("text") }).strict();
const hash = z.object({ strategy: z.literal("hash"), length: z.number().int().min(16).max(64).default(32) }).strict();
const shift = z
  .object({
    strategy: z.literal("shift"),
    maxDays: z.number().int().min(1).max(3650).default(90),
    by: z.string().regex(IDENTIFIER_PATTERN, "by must be a column name of the same table").optional(),
  })
  .strict();
const sql = z
  .object({
    strategy: z.literal("sql"),
    expression: z
      .string()
      .min(1)
      .refine((e) => !e.includes(";"), "expression must be one SQL expression without ';'"),
  })
  .strict();

const jsonPathObject = z.discriminatedUnion("strategy", [nul, fixed, email, name, phone, address, text, hash]);
const jsonPathRule = z.union(
  [
    z.enum(["null", "email", "name", "phone", "address", "text", "hash"]).transform((strategy) => jsonPathObject.parse({ strategy })),
    jsonPathObject,
  ],
  { message: `use one of ${JSON_PATH_STRATEGIES.join(", ")} (write null as "null")` },
);

const JSON_PATH_PATTERN = /^[^.*\s]+(\.[^.*\s]+)*$/;
const json = z
  .object({
    strategy: z.literal("json"),
    paths: z
      .record(z.string(), jsonPathRule)
      .superRefine((paths, ctx) => {
        if (Object.keys(paths).length === 0) ctx.addIssue({ code: "custom", message: "paths must list at least one path to mask (use keep for none)" });
        for (const path of Object.keys(paths)) {
          if (!JSON_PATH_PATTERN.test(path)) {
            ctx.addIssue({ code: "custom", path: [path], message: "a path is dot-separated keys or array indexes, e.g. actor.email or items.0.name (no wildcards or spaces)" });
          }
        }
      }),
  })
  .strict();

/** The zod schema of one column's rule, in its long form. */
export const columnRuleSchema = z.discriminatedUnion("strategy", [keep, nul, fixed, email, name, phone, address, text, hash, shift, json, sql]);
export type ColumnRule = z.infer<typeof columnRuleSchema>;
export type JsonPathRule = z.infer<typeof jsonPathRule>;

/** The zod schema of the whole file (columns as written: a shorthand word or an object). */
export const scrubRulesFileSchema = z
  .object({
    version: z.literal(1, { message: "version must be 1" }),
    emailDomain: z.string().regex(DOMAIN_PATTERN, "emailDomain must be a lower-case DNS name such as scrubbed.invalid").default("scrubbed.invalid"),
    tables: z.record(z.string(), z.union([z.literal("truncate"), z.record(z.string(), z.unknown())])),
  })
  .strict();

/** A table's rules: truncate it, or a rule for each column. */
export type TableRules = { readonly truncate: true } | { readonly truncate?: false; readonly columns: Readonly<Record<string, ColumnRule>> };

/** Validated scrub rules. Table keys are always "schema.table". */
export interface ScrubRules {
  readonly version: 1;
  readonly emailDomain: string;
  readonly tables: Readonly<Record<string, TableRules>>;
  /** Where the rules came from (file path), for messages. */
  readonly source: string;
  /** sha256 of the normalized rules: recorded by the scrub, checked by verify and on resume. */
  readonly digest: string;
}

/** Rules that are invalid: one line per problem, each naming the table/column and the fix. */
export class ScrubRulesError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`scrub rules ${source} are invalid (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ScrubRulesError";
  }
}

/** "users" → "public.users"; "app.users" stays. */
export function qualifyTableName(name: string): string {
  return name.includes(".") ? name : `public.${name}`;
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const where = issue.path.length ? `${issue.path.join(".")}: ` : "";
      return `${where}${issue.message}`;
    })
    .join("; ");
}

/** Parses one column's rule (shorthand word or object) into its long form, or says what is wrong. */
export function parseColumnRule(raw: unknown): { rule?: ColumnRule; problem?: string } {
  const strategies = STRATEGIES.join(", ");
  if (typeof raw === "string") {
    if ((SHORTHAND as readonly string[]).includes(raw)) return { rule: columnRuleSchema.parse({ strategy: raw }) };
    if (raw === "fixed") return { problem: `fixed needs a value: write { strategy: fixed, value: "..." }` };
    if (raw === "json") return { problem: `json needs the paths to mask: write { strategy: json, paths: { some.key: email } }` };
    if (raw === "sql") return { problem: `sql needs an expression: write { strategy: sql, expression: "..." }` };
    if (raw === "truncate") return { problem: `truncate applies to a whole table: write "<table>: truncate" instead of listing columns` };
    return { problem: `unknown strategy "${raw}": use one of ${strategies}` };
  }
  if (raw === null || raw === undefined) return { problem: `no strategy given (YAML null): write keep, or "null" in quotes to null the column` };
  if (typeof raw !== "object" || Array.isArray(raw)) return { problem: `expected a strategy word or { strategy: ... }, got ${JSON.stringify(raw)}` };
  const strategy = (raw as { strategy?: unknown }).strategy;
  if (typeof strategy !== "string" || !(STRATEGIES as readonly string[]).includes(strategy)) {
    return { problem: `unknown strategy ${JSON.stringify(strategy ?? null)}: set strategy to one of ${strategies}` };
  }
  const parsed = columnRuleSchema.safeParse(raw);
  if (!parsed.success) return { problem: `${strategy}: ${describeIssues(parsed.error.issues)}` };
  return { rule: parsed.data };
}

function normalizeForDigest(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalizeForDigest);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, normalizeForDigest((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** Parses and validates rules text. Throws ScrubRulesError listing every bad rule. */
export function parseScrubRules(text: string, sourceName = "<rules>"): ScrubRules {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) {
    throw new ScrubRulesError(
      sourceName,
      doc.errors.map((e) => `YAML: ${e.message.split("\n")[0]}`),
    );
  }
  const raw = doc.toJS() as unknown;
  const top = scrubRulesFileSchema.safeParse(raw ?? {});
  if (!top.success) {
    throw new ScrubRulesError(
      sourceName,
      top.error.issues.map((issue) => {
        const path = issue.path.map(String);
        if (path[0] === "tables" && path.length >= 2) {
          return `table ${qualifyTableName(path[1])}: write "truncate" or a map of column: strategy`;
        }
        if (issue.code === "unrecognized_keys") return `unknown top-level key(s) ${issue.keys.join(", ")}: allowed are version, emailDomain, tables`;
        return `${path.join(".") || "file"}: ${issue.message}${path[0] === "tables" ? " (a map of table: columns)" : ""}`;
      }),
    );
  }
  const problems: string[] = [];
  const tables: Record<string, TableRules> = {};
  for (const [tableKey, value] of Object.entries(top.data.tables)) {
    const table = qualifyTableName(tableKey);
    if (table.split(".").length !== 2 || !table.split(".").every((p) => IDENTIFIER_PATTERN.test(p))) {
      problems.push(`table "${tableKey}": write the table as name or schema.name (no quotes or spaces)`);
      continue;
    }
    if (tables[table]) {
      problems.push(`table ${table} is listed twice (as "${tableKey}" and once more): keep one entry`);
      continue;
    }
    if (value === "truncate") {
      tables[table] = { truncate: true };
      continue;
    }
    const columns: Record<string, ColumnRule> = {};
    const entries = Object.entries(value);
    if (entries.length === 0) problems.push(`table ${table} lists no columns: classify each column, or write "${tableKey}: truncate"`);
    for (const [column, rawRule] of entries) {
      const { rule, problem } = parseColumnRule(rawRule);
      if (problem) problems.push(`${table}.${column}: ${problem}`);
      else if (rule) columns[column] = rule;
    }
    for (const [column, rule] of Object.entries(columns)) {
      if (rule.strategy === "shift" && rule.by !== undefined && !entries.some(([c]) => c === rule.by)) {
        problems.push(`${table}.${column}: shift by "${rule.by}" names no column of ${table}: use one of ${entries.map(([c]) => c).join(", ")}`);
      }
    }
    tables[table] = { columns };
  }
  if (problems.length) throw new ScrubRulesError(sourceName, problems);
  const normalized = { version: 1, emailDomain: top.data.emailDomain, tables };
  const digest = createHash("sha256").update(JSON.stringify(normalizeForDigest(normalized))).digest("hex");
  return { ...normalized, version: 1, source: sourceName, digest };
}

/** Reads and validates a rules file. */
export function loadScrubRules(path: string): ScrubRules {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ScrubRulesError(path, [`cannot read the rules file (${(error as NodeJS.ErrnoException).code ?? String(error)}): pass --rules <path to scrub-rules.yaml>`]);
  }
  return parseScrubRules(text, path);
}
