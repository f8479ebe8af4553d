import { createHash } from "node:crypto";
import { Client } from "pg";
import { checkRulesAgainstCatalog, columnRules, DatabaseCatalog, isChangedByScrub, isMasked, isTruncated, readCatalog, readScrubState, SCRUB_SCHEMA, TableInfo, tableSampleClause } from "./catalog";
import { ColumnRule, JsonPathRule, ScrubRules } from "./scrub-rules";
import { CITIES, EMAIL_HEX_LENGTH, FIRST_NAMES, ident, jsonPathArray, LAST_NAMES, literal, LOREM, PHONE_PREFIX, STREETS, STREET_SUFFIXES } from "./scrub-sql";

/**
 * `friday staging verify`: checks a scrubbed database. Fails (ok: false) when
 *  - a table or column is not covered by the rules, or a table was not scrubbed with these rules;
 *  - row counts changed (against a sample taken before the scrub), or a truncated table has rows;
 *  - a foreign key or unique index is missing, invalid or violated;
 *  - a masked column still holds something that looks real: an email outside the masking domain, a
 *    value not of the strategy's shape (name lists, +1555 phones, hex hashes, lorem ipsum, the fixed
 *    value, NULL), or a value equal to one sampled from the same column before the scrub.
 * Problems never include personal values: only tables, columns, constraint names and counts.
 */

/** Taken before the scrub; holds only digests of personal values, never the values. */
export interface VerifySample {
  /** Exact row count per table. */
  readonly rowCounts: Readonly<Record<string, number>>;
  /** Foreign keys and unique indexes present before ("table.name"). */
  readonly constraints: readonly string[];
  /** Per masked column (and JSON path): sha256 of sampled values, with the row's primary key when it has a single-column one. */
  readonly values: readonly SampledColumn[];
}

export interface SampledColumn {
  readonly table: string;
  readonly column: string;
  /** For json columns: the path inside the document. */
  readonly path?: string;
  /** Single-column primary key (text) of each sampled row, aligned with `digests`; absent without one. */
  readonly keys?: readonly string[];
  /** sha256 hex of each sampled value's text. */
  readonly digests: readonly string[];
}

export interface VerifyCheck {
  readonly name: string;
  readonly ok: boolean;
  /** One line per problem (no personal values). */
  readonly problems: readonly string[];
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly checks: readonly VerifyCheck[];
  /** Every problem of every check, prefixed with the check's name. */
  readonly problems: readonly string[];
  readonly seconds: number;
}

export interface VerifyOptions {
  readonly databaseUrl: string;
  readonly rules: ScrubRules;
  /** The sample taken before the scrub (takeVerifySample); without it, counts and equality are not checked. */
  readonly before?: VerifySample;
  /** Require friday_scrub.state to show every table scrubbed with these rules. @default true */
  readonly requireState?: boolean;
}

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/** Something that looks like an email address (POSIX regex, case-insensitive match). */
const EMAIL_PATTERN = "[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}";
const JSON_EMAIL_PATTERN = "[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}";

/** A regex matching the end of an address in any masking domain of the rules. */
function maskedDomainsPattern(rules: ScrubRules): string {
  const domains = new Set([rules.emailDomain]);
  const visit = (rule: ColumnRule | JsonPathRule) => {
    if (rule.strategy === "email" && rule.domain) domains.add(rule.domain);
  };
  for (const table of Object.values(rules.tables)) {
    if (table.truncate) continue;
    for (const rule of Object.values(table.columns)) {
      visit(rule);
      if (rule.strategy === "json") Object.values(rule.paths).forEach(visit);
    }
  }
  return `@(${[...domains].map((d) => d.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})$`;
}

/** A regex as a jsonpath string literal (backslashes and quotes escaped). */
function jsonPathRegex(pattern: string): string {
  return pattern.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
}

/** Every (table, column, json path?) the rules mask with a strategy that must change values. */
function maskedTargets(rules: ScrubRules, catalog: DatabaseCatalog): { table: TableInfo; column: string; path?: string; rule: ColumnRule | JsonPathRule }[] {
  const targets: { table: TableInfo; column: string; path?: string; rule: ColumnRule | JsonPathRule }[] = [];
  for (const table of catalog.tables.values()) {
    for (const [column, rule] of Object.entries(columnRules(rules, table.name))) {
      if (!isMasked(rule) || !table.columns.some((c) => c.name === column)) continue;
      if (rule.strategy === "json") {
        for (const [path, pathRule] of Object.entries(rule.paths)) targets.push({ table, column, path, rule: pathRule });
      } else targets.push({ table, column, rule });
    }
  }
  return targets;
}

function valueSql(column: string, path?: string, alias?: string): string {
  const c = alias ? `${alias}.${ident(column)}` : ident(column);
  return path ? `(${c} #>> ${jsonPathArray(path)})` : `${c}::text`;
}

/** Strategies whose output never equals a real value by accident (compared with every sampled value, not only the same row's). */
const HIGH_ENTROPY = new Set(["email", "hash", "phone"]);
/**
 * Strategies compared with the same row's pre-scrub value: their output can never equal the input
 * (a shift moves every date by at least a day; lorem text is not what people write). Not name or
 * address: they pick from lists of 64, so a real "Marlow" maps to "Marlow" one time in 64 — and
 * deterministically so, on every run. Not fixed, null or sql: they can coincide with real data.
 */
const CHANGES_VALUE = new Set(["email", "hash", "phone", "text", "shift"]);

/**
 * Row counts, constraints and a sample (as digests) of every masked column: call it before the scrub
 * (tables an interrupted earlier run already scrubbed are counted but not sampled).
 */
export async function takeVerifySample(options: { databaseUrl: string; rules: ScrubRules; sampleSize?: number }): Promise<VerifySample> {
  const size = options.sampleSize ?? 100;
  const client = new Client({ connectionString: options.databaseUrl, application_name: "friday-verify" });
  await client.connect();
  try {
    const catalog = await readCatalog(client);
    const rowCounts: Record<string, number> = {};
    for (const table of catalog.tables.values()) {
      if (table.kind === "r" || table.kind === "p") rowCounts[table.name] = Number((await client.query(`SELECT count(*) AS n FROM ${table.sql}`)).rows[0].n);
    }
    // Tables an earlier (interrupted) run already scrubbed hold masked values: nothing to compare.
    const alreadyScrubbed = new Set((await readScrubState(client))?.keys() ?? []);
    const values: SampledColumn[] = [];
    for (const target of maskedTargets(options.rules, catalog)) {
      if (!CHANGES_VALUE.has(target.rule.strategy) || alreadyScrubbed.has(target.table.name)) continue;
      const pk = target.table.primaryKey.length === 1 ? target.table.primaryKey[0] : undefined;
      const sample = tableSampleClause(rowCounts[target.table.name] ?? 0, size);
      const value = valueSql(target.column, target.path);
      const result = await client.query<{ k: string | null; v: string }>(
        `SELECT ${pk ? `${ident(pk)}::text` : "NULL"} AS k, ${value} AS v FROM ${target.table.sql}${sample} WHERE ${value} IS NOT NULL AND ${value} <> '' LIMIT ${size}`,
      );
      values.push({
        table: target.table.name,
        column: target.column,
        path: target.path,
        keys: pk ? result.rows.map((r) => r.k as string) : undefined,
        digests: result.rows.map((r) => sha256(r.v)),
      });
    }
    const constraints = [
      ...catalog.foreignKeys.map((fk) => `${fk.table}.${fk.name}`),
      ...catalog.uniqueIndexes.filter((u) => !isTruncated(options.rules, u.table)).map((u) => `${u.table}.${u.name}`),
    ];
    return { rowCounts, constraints, values };
  } finally {
    await client.end();
  }
}

/** A SQL predicate that is true for a value of the strategy's shape (for text produced by the scrub). */
function shapeSql(rule: ColumnRule | JsonPathRule, v: string, emailDomain: string): string | undefined {
  const re = (pattern: string) => `${v} ~ ${literal(pattern)}`;
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const list = (values: readonly string[]) => `ARRAY[${values.map(literal).join(",")}]::text[]`;
  switch (rule.strategy) {
    case "email":
      return re(`^u[0-9a-f]{${EMAIL_HEX_LENGTH}}@${esc(rule.domain ?? emailDomain)}$`);
    case "hash":
      return re(`^[0-9a-f]{${rule.length ?? 32}}$`);
    case "phone":
      return re(`^${esc(PHONE_PREFIX)}[0-9]{7}$`);
    case "name": {
      const part = rule.part ?? "full";
      if (part === "first") return `${v} = ANY(${list(FIRST_NAMES)})`;
      if (part === "last") return `${v} = ANY(${list(LAST_NAMES)})`;
      return `split_part(${v}, ' ', 1) = ANY(${list(FIRST_NAMES)}) AND split_part(${v}, ' ', 2) = ANY(${list(LAST_NAMES)}) AND ${v} = split_part(${v}, ' ', 1) || ' ' || split_part(${v}, ' ', 2)`;
    }
    case "address":
      switch (rule.part ?? "line1") {
        case "line1":
          return `${v} ~ '^[0-9]+ [A-Za-z]+ [A-Za-z]+$' AND split_part(${v}, ' ', 2) = ANY(${list(STREETS)}) AND split_part(${v}, ' ', 3) = ANY(${list(STREET_SUFFIXES)})`;
        case "line2":
          return re(`^Apt [0-9]+$`);
        case "city":
          return `${v} = ANY(${list(CITIES)})`;
        case "postcode":
          return re(`^[0-9]{5}$`);
      }
      return undefined;
    case "text":
      return `${v} = rpad('', length(${v}), ${literal(LOREM)})`;
    case "fixed":
      return `${v} = ${literal(String(rule.value))}`;
    default:
      return undefined;
  }
}

async function check(name: string, checks: VerifyCheck[], run: (problems: string[]) => Promise<void>): Promise<void> {
  const problems: string[] = [];
  try {
    await run(problems);
  } catch (error) {
    problems.push(`could not run: ${(error as Error).message}`);
  }
  checks.push({ name, ok: problems.length === 0, problems });
}

/** Verifies a scrubbed database. Never throws for a failed check: read report.ok. */
export async function verifyScrub(options: VerifyOptions): Promise<VerifyReport> {
  const { rules, before } = options;
  const started = Date.now();
  const client = new Client({ connectionString: options.databaseUrl, application_name: "friday-verify" });
  await client.connect();
  const checks: VerifyCheck[] = [];
  try {
    const catalog = await readCatalog(client);
    const q = async (sql: string, params?: unknown[]) => (await client.query(sql, params)).rows;

    await check("coverage", checks, async (problems) => {
      problems.push(...checkRulesAgainstCatalog(rules, catalog, { coverageOnly: true }));
    });

    await check("scrub state", checks, async (problems) => {
      if (options.requireState === false) return;
      const state = await readScrubState(client);
      if (!state) {
        problems.push(`no ${SCRUB_SCHEMA}.state table: this database was not scrubbed by friday staging scrub`);
        return;
      }
      for (const table of catalog.tables.values()) {
        if (!isChangedByScrub(rules, table.name)) continue;
        const digest = state.get(table.name)?.rulesDigest;
        if (digest === undefined) problems.push(`${table.name} has masked columns but was not scrubbed (no entry in ${SCRUB_SCHEMA}.state)`);
        else if (digest !== rules.digest) problems.push(`${table.name} was scrubbed with other rules (digest ${digest.slice(0, 12)}, these are ${rules.digest.slice(0, 12)})`);
      }
      const pending = await q(`SELECT table_name || '.' || name AS fk FROM ${SCRUB_SCHEMA}.pending_foreign_keys`).catch(() => []);
      for (const row of pending) problems.push(`foreign key ${row.fk} was dropped for the scrub and not re-added: rerun the scrub to finish`);
      const pendingIndexes = await q(`SELECT table_name || '.' || name AS ix FROM ${SCRUB_SCHEMA}.pending_indexes`).catch(() => []);
      for (const row of pendingIndexes) problems.push(`index ${row.ix} was dropped for the scrub and not built again: rerun the scrub to finish`);
    });

    await check("row counts", checks, async (problems) => {
      for (const table of catalog.tables.values()) {
        if (table.kind !== "r" && table.kind !== "p") continue;
        const count = Number((await q(`SELECT count(*) AS n FROM ${table.sql}`))[0].n);
        if (isTruncated(rules, table.name)) {
          if (count !== 0) problems.push(`${table.name} should be truncated but has ${count} rows`);
        } else if (before && before.rowCounts[table.name] !== undefined && before.rowCounts[table.name] !== count) {
          problems.push(`${table.name} had ${before.rowCounts[table.name]} rows before the scrub and has ${count} now`);
        }
      }
    });

    await check("truncated tables", checks, async (problems) => {
      // TRUNCATE leaves the planner's statistics (most common values, histograms) behind.
      const truncated = [...catalog.tables.values()].filter((t) => isTruncated(rules, t.name));
      if (!truncated.length) return;
      const names = truncated.map((t) => t.name);
      const stats = await q(
        `SELECT schemaname || '.' || tablename AS t, attname AS c FROM pg_stats WHERE schemaname || '.' || tablename = ANY($1::text[])
          UNION ALL SELECT schemaname || '.' || tablename, 'statistics object ' || statistics_name FROM pg_stats_ext WHERE schemaname || '.' || tablename = ANY($1::text[])
          ORDER BY 1, 2`,
        [names],
      );
      for (const row of stats) problems.push(`${row.t} is truncated but still has statistics on ${row.c} (real values in pg_stats): rerun the scrub, or ALTER TABLE … ALTER COLUMN … TYPE <its own type> to clear them`);
    });

    await check("foreign keys", checks, async (problems) => {
      const present = new Set(catalog.foreignKeys.map((fk) => `${fk.table}.${fk.name}`));
      for (const name of before?.constraints ?? []) {
        if (!present.has(name) && !catalog.uniqueIndexes.some((u) => `${u.table}.${u.name}` === name)) problems.push(`${name} existed before the scrub and is gone`);
      }
      for (const fk of catalog.foreignKeys) {
        if (!fk.validated) problems.push(`foreign key ${fk.table}.${fk.name} is not validated`);
        const child = catalog.tables.get(fk.table);
        const parent = catalog.tables.get(fk.referencedTable);
        if (!child || !parent) continue;
        const notNull = fk.columns.map((c) => `c.${ident(c)} IS NOT NULL`).join(" AND ");
        const match = fk.columns.map((c, i) => `p.${ident(fk.referencedColumns[i])} = c.${ident(c)}`).join(" AND ");
        const orphans = Number((await q(`SELECT count(*) AS n FROM ${child.sql} c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${parent.sql} p WHERE ${match})`))[0].n);
        if (orphans > 0) problems.push(`foreign key ${fk.table}.${fk.name}: ${orphans} rows reference no row of ${fk.referencedTable}`);
      }
    });

    await check("unique indexes", checks, async (problems) => {
      for (const index of catalog.uniqueIndexes) {
        if (!index.valid) {
          problems.push(`unique index ${index.table}.${index.name} is invalid`);
          continue;
        }
        const table = catalog.tables.get(index.table);
        if (!table || index.hasExpressions || index.columns.length === 0) continue;
        const cols = index.columns.map(ident).join(", ");
        const dupes = Number(
          (await q(`SELECT count(*) AS n FROM (SELECT 1 FROM ${table.sql} WHERE ${index.columns.map((c) => `${ident(c)} IS NOT NULL`).join(" AND ")} GROUP BY ${cols} HAVING count(*) > 1) d`))[0].n,
        );
        if (dupes > 0) problems.push(`unique index ${index.table}.${index.name}: ${dupes} duplicated values`);
      }
    });

    await check("masked values", checks, async (problems) => {
      // One scan per table: every masked column's checks are FILTERed counts of the same query.
      const targets = maskedTargets(rules, catalog);
      for (const table of catalog.tables.values()) {
        const counts: { sql: string; problem: (n: number) => string }[] = [];
        const params: unknown[] = [];
        for (const target of targets.filter((t) => t.table === table)) {
          const where = `${table.name}.${target.column}${target.path ? ` at ${target.path}` : ""}`;
          const v = valueSql(target.column, target.path);
          const rule = target.rule;
          if (rule.strategy === "null") {
            const held = target.path ? `${ident(target.column)}::jsonb #> ${jsonPathArray(target.path)} <> 'null'::jsonb` : `${ident(target.column)} IS NOT NULL`;
            counts.push({ sql: held, problem: (n) => `${where} should be null but ${n} rows hold a value` });
            continue;
          }
          const column = table.columns.find((c) => c.name === target.column);
          // A fixed column value compares in the column's type (0 is 0.00 in numeric(10,2)).
          const shape =
            rule.strategy === "fixed" && !target.path && column
              ? `${ident(target.column)} = ${literal(String(rule.value))}::${column.type}`
              : shapeSql(rule, v, rules.emailDomain);
          if (shape) {
            counts.push({
              sql: `${v} IS NOT NULL AND NOT (${shape})`,
              problem: (n) => `${where}: ${n} values do not look masked by ${rule.strategy} (e.g. ${rule.strategy === "email" ? "an email outside the masking domain" : "not the masked shape"})`,
            });
          }
          const sampled = before?.values.find((b) => b.table === table.name && b.column === target.column && b.path === target.path);
          if (sampled && sampled.digests.length && HIGH_ENTROPY.has(rule.strategy)) {
            params.push(sampled.digests);
            counts.push({
              sql: `encode(sha256(convert_to(${v}, 'UTF8')), 'hex') = ANY($${params.length}::text[])`,
              problem: (n) => `${where}: ${n} rows still hold a value sampled before the scrub`,
            });
          }
        }
        // Anywhere in a masked JSON document (arrays, paths the rules do not list) and in columns an
        // sql expression rewrites: a string that looks like an email outside the masking domains is
        // personal data the rules missed.
        for (const [column, rule] of Object.entries(columnRules(rules, table.name))) {
          const info = table.columns.find((c) => c.name === column);
          if (!info) continue;
          if (rule.strategy === "json") {
            counts.push({
              sql: `jsonb_path_exists(${ident(column)}::jsonb, ${literal(`strict $.** ? (@.type() == "string" && @ like_regex "${jsonPathRegex(JSON_EMAIL_PATTERN)}" && !(@ like_regex "${jsonPathRegex(maskedDomainsPattern(rules))}"))`)})`,
              problem: (n) => `${table.name}.${column}: ${n} documents still hold an email outside the masking domain (at a path the rules do not list, or inside an array): add its path to the json rule`,
            });
          } else if (rule.strategy === "sql" && info.category === "S") {
            counts.push({
              sql: `${ident(column)} ~* ${literal(EMAIL_PATTERN)} AND ${ident(column)} !~* ${literal(maskedDomainsPattern(rules))}`,
              problem: (n) => `${table.name}.${column}: ${n} values written by its sql expression still look like emails outside the masking domain: mask them (e.g. use email)`,
            });
          }
        }
        if (counts.length) {
          const row = (await q(`SELECT ${counts.map((c, i) => `count(*) FILTER (WHERE ${c.sql}) AS c${i}`).join(", ")} FROM ${table.sql}`, params))[0];
          counts.forEach((c, i) => {
            const n = Number(row[`c${i}`]);
            if (n > 0) problems.push(c.problem(n));
          });
        }
        // Values that are not high-entropy pseudonyms: compared with the same row's value from before.
        for (const sampled of before?.values ?? []) {
          if (sampled.table !== table.name || !sampled.keys || table.primaryKey.length !== 1 || !sampled.digests.length) continue;
          const target = targets.find((t) => t.table === table && t.column === sampled.column && t.path === sampled.path);
          if (!target || HIGH_ENTROPY.has(target.rule.strategy)) continue;
          const where = `${sampled.table}.${sampled.column}${sampled.path ? ` at ${sampled.path}` : ""}`;
          const n = Number(
            (
              await q(
                `SELECT count(*) AS n FROM ${table.sql} t JOIN unnest($1::text[], $2::text[]) AS s(k, d) ON t.${ident(table.primaryKey[0])}::text = s.k
                  WHERE encode(sha256(convert_to(${valueSql(sampled.column, sampled.path, "t")}, 'UTF8')), 'hex') = s.d`,
                [sampled.keys, sampled.digests],
              )
            )[0].n,
          );
          if (n > 0) problems.push(`${where}: ${n} sampled rows still hold their value from before the scrub`);
        }
      }
    });
  } finally {
    await client.end();
  }
  const problems = checks.flatMap((c) => c.problems.map((p) => `${c.name}: ${p}`));
  return { ok: problems.length === 0, checks, problems, seconds: (Date.now() - started) / 1000 };
}

/** Lines for a human: one per check, then the problems. */
export function formatVerifyReport(report: VerifyReport): string {
  const lines = report.checks.map((c) => `${c.ok ? "ok  " : "FAIL"} ${c.name}${c.ok ? "" : ` (${c.problems.length})`}`);
  for (const p of report.problems) lines.push(`  - ${p}`);
  lines.push(report.ok ? `verify passed in ${report.seconds.toFixed(1)} s` : `verify FAILED: ${report.problems.length} problem${report.problems.length === 1 ? "" : "s"}`);
  return lines.join("\n");
}
