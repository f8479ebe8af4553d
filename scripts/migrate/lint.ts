import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { readLedger } from "./apply";
import { connect, formatSize, TableSize, tableSizes } from "./db";
import { loadMigrations, Migration, MigrationFolder, MigrationStatement } from "./files";
import { ruleInfo, RuleKind, SUPERSEDED_SQUAWK_RULES } from "./rules";
import { addedConstraints, indexColumns, notNullColumnsOfCreate, scansToValidate } from "./constraints";
import { createdTable, IDENT, normalise, QUALIFIED, unqualify } from "./sql";

/** One lint finding: where, which rule, why it is dangerous, the safe rewrite, and the table's size when known. */
export interface LintFinding {
  readonly file: string;
  readonly line: number;
  readonly rule: string;
  readonly source: "squawk" | "friday";
  readonly level: "error" | "warning";
  /** Why it is dangerous. */
  readonly message: string;
  readonly safeRewrite: string;
  /** First line of the statement. */
  readonly statement?: string;
  /** The table the statement locks. */
  readonly table?: string;
  /** Size from the database's statistics (with --database-url); null when the table does not exist yet. */
  readonly tableSize?: TableSize | null;
  /** How the size changed the verdict, e.g. "12 rows, 16 kB: lock is brief". */
  readonly sizeNote?: string;
}

export interface LintOptions {
  /** Migrations folder. @default "migrations" */
  readonly dir?: string;
  readonly folder?: MigrationFolder;
  /** With a database: size-aware verdicts, already-applied files skipped, contract release checks. */
  readonly databaseUrl?: string;
  /** Use the database (a URL, or libpq PG* variables when the URL is undefined). @default Boolean(databaseUrl) */
  readonly useDatabase?: boolean;
  /** squawk config file. @default the nearest .squawk.toml from the folder upwards, else the repo's */
  readonly squawkConfig?: string;
  /** Tables with fewer estimated rows than this (and under smallTableBytes) get warnings, not errors, for lock rules. @default 10000 */
  readonly smallTableRows?: number;
  /** @default 64 MiB */
  readonly smallTableBytes?: number;
}

export interface LintResult {
  readonly dir: string;
  readonly filesChecked: string[];
  /** Files skipped because the ledger shows them applied. */
  readonly filesSkipped: string[];
  readonly findings: LintFinding[];
  readonly errors: number;
  readonly warnings: number;
  /** Whether sizes came from a database. */
  readonly sizeAware: boolean;
}

const REPO_ROOT = resolve(__dirname, "..", "..");

/**
 * Path of the squawk binary from the pinned squawk-cli package: resolved from this module, then from
 * the current directory (the bundled CLI runs from elsewhere than the checkout it lints), then
 * node_modules/.bin, then `squawk` on PATH.
 */
export function squawkBinary(cwd: string = process.cwd()): string {
  const platformPackage = `@squawk-cli/${process.platform}-${process.arch}/bin/squawk`;
  for (const resolveFrom of [require, createRequire(join(cwd, "package.json"))]) {
    try {
      return resolveFrom.resolve(platformPackage);
    } catch {
      // try the next place
    }
  }
  for (const root of [cwd, REPO_ROOT]) {
    const bin = join(root, "node_modules", ".bin", "squawk");
    if (existsSync(bin)) return bin;
  }
  return "squawk";
}

function findSquawkConfig(dir: string): string | undefined {
  let current = resolve(dir);
  for (;;) {
    const candidate = join(current, ".squawk.toml");
    if (existsSync(candidate)) return candidate;
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  const repo = join(REPO_ROOT, ".squawk.toml");
  return existsSync(repo) ? repo : undefined;
}

interface SquawkViolation {
  file: string;
  line: number;
  column: number;
  level: string;
  message: string;
  help: string | null;
  rule_name: string;
}

/** Runs squawk over files; transactional files with --assume-in-transaction (that is how the runner applies them). */
export function runSquawk(files: { path: string; transactional: boolean }[], config: string | undefined): SquawkViolation[] {
  const violations: SquawkViolation[] = [];
  for (const transactional of [true, false]) {
    const paths = files.filter((f) => f.transactional === transactional).map((f) => f.path);
    if (paths.length === 0) continue;
    const args = ["--reporter", "json", transactional ? "--assume-in-transaction" : "--no-assume-in-transaction"];
    if (config) args.push("--config", config);
    const run = spawnSync(squawkBinary(), [...args, ...paths], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (run.error) {
      throw new Error(`squawk could not run (${run.error.message}): it comes with the pinned dev dependency squawk-cli — run npm ci in the checkout being linted.`);
    }
    const out = run.stdout.trim();
    let parsed: SquawkViolation[];
    try {
      parsed = out ? JSON.parse(out) : [];
    } catch {
      throw new Error(`squawk failed (exit ${run.status}): ${(run.stderr || out).trim().slice(0, 500)}`);
    }
    violations.push(...parsed);
  }
  return violations;
}

/** Lints a migrations folder: squawk + friday's phase rules, size-aware with a database. Sets no exit code. */
export async function lintMigrations(options: LintOptions = {}): Promise<LintResult> {
  const folder = options.folder ?? loadMigrations(options.dir ?? "migrations");
  const useDatabase = options.useDatabase ?? Boolean(options.databaseUrl);
  const findings: LintFinding[] = folder.problems.map((p) => ({
    file: p.file,
    line: p.line,
    rule: p.rule,
    source: "friday" as const,
    level: "error" as const,
    message: p.message,
    safeRewrite: p.fix,
  }));

  let appliedIds = new Set<string>();
  let ledgerReleases = new Map<string, string | null>();
  let sizes = new Map<string, TableSize>();
  const client = useDatabase ? await connect(options.databaseUrl, "friday-migrate-lint") : undefined;
  try {
    if (client) {
      const ledger = await readLedger(client);
      appliedIds = new Set(ledger.map((e) => e.id));
      ledgerReleases = new Map(ledger.map((e) => [e.id, e.release]));
    }
    const toCheck = folder.migrations.filter((m) => !appliedIds.has(m.id));
    const skipped = folder.migrations.filter((m) => appliedIds.has(m.id)).map((m) => m.fileName);

    // friday's rules
    for (const migration of toCheck) findings.push(...phaseFindings(migration, folder.migrations));
    if (client) {
      for (const migration of toCheck) {
        if (migration.phase === "contract" && migration.contractOf && !ledgerReleases.has(migration.contractOf)) {
          findings.push(
            friday(migration, migration.contractOfLine ?? 1, "contract-expand-not-released", `Contract ${migration.id} finishes ${migration.contractOf}, which this database has not applied yet: it cannot ship in the same release as its expand.`),
          );
        }
      }
    }

    // squawk
    const config = options.squawkConfig ?? findSquawkConfig(folder.dir);
    const violations = runSquawk(toCheck.map((m) => ({ path: m.path, transactional: m.transactional })), config);
    const byPath = new Map(toCheck.map((m) => [resolve(m.path), m]));
    for (const v of violations) {
      const migration = byPath.get(resolve(v.file)) ?? toCheck.find((m) => m.path.endsWith(v.file));
      if (!migration) continue;
      const line = v.line + 1;
      if (v.rule_name in SUPERSEDED_SQUAWK_RULES) continue;
      // Relaxing NOT NULL is a removal: it belongs in (and is allowed in) a contract migration.
      if (migration.phase === "contract" && v.rule_name === "ban-drop-not-null") continue;
      const statement = statementAt(migration, line);
      if (statement && squawkOverstates(v, statement)) continue;
      const info = ruleInfo(v.rule_name);
      findings.push({
        file: migration.fileName,
        line: statement?.line ?? line,
        rule: v.rule_name,
        source: "squawk",
        level: info.kind === "style" ? "warning" : "error",
        message: v.message,
        safeRewrite: info.safeRewrite || v.help || "",
        statement: statement ? firstLine(statement.text) : undefined,
        table: statement?.tables[0],
      });
    }

    // size-aware verdicts
    const created = createdByPending(toCheck);
    if (client) {
      const tables = [...new Set(findings.map((f) => f.table).filter((t): t is string => Boolean(t)))];
      sizes = await tableSizes(client, tables);
    }
    const judged = findings.map((f) => judge(f, { sizes, sizeAware: Boolean(client), created, options }));
    judged.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.rule.localeCompare(b.rule));
    return {
      dir: folder.dir,
      filesChecked: toCheck.map((m) => m.fileName),
      filesSkipped: skipped,
      findings: judged,
      errors: judged.filter((f) => f.level === "error").length,
      warnings: judged.filter((f) => f.level === "warning").length,
      sizeAware: Boolean(client),
    };
  } finally {
    await client?.end().catch(() => undefined);
  }
}

/**
 * Squawk findings the statement's shape shows to be wrong or said better by another finding:
 * - constraint-missing-not-valid on a statement whose constraints cannot be NOT VALID (UNIQUE,
 *   PRIMARY KEY, EXCLUDE) or are already reported as a foreign key: its "add NOT VALID" advice
 *   would be a syntax error or a duplicate; disallowed-unique-constraint and friends say what to do.
 * - adding-foreign-key-constraint on a column the same statement adds without a DEFAULT: every
 *   existing row is NULL there, PostgreSQL skips the validating scan, and the column
 *   constraint cannot be NOT VALID anyway (bench:migrations measures it).
 * Squawk's "NOT VALID and VALIDATE in the same transaction" finding is kept as is.
 */
function squawkOverstates(v: SquawkViolation, statement: MigrationStatement): boolean {
  const constraints = addedConstraints(statement.text);
  if (constraints.length === 0) return false;
  if (v.rule_name === "constraint-missing-not-valid" && !/same transaction/i.test(v.message)) {
    return !constraints.some((c) => c.kind === "check" && scansToValidate(c) && !c.newColumn);
  }
  if (v.rule_name === "adding-foreign-key-constraint") {
    return !constraints.some((c) => c.kind === "foreign-key" && scansToValidate(c));
  }
  return false;
}

function kindOf(rule: string): RuleKind {
  return ruleInfo(rule).kind;
}

function judge(
  finding: LintFinding,
  context: { sizes: Map<string, TableSize>; sizeAware: boolean; created: Map<string, string>; options: LintOptions },
): LintFinding {
  if (kindOf(finding.rule) !== "lock" || !finding.table) return finding;
  const createdBy = context.created.get(finding.table);
  if (!context.sizeAware) {
    // Without a database nothing says whether the creating migration ran long ago: judge as if the table were big.
    return { ...finding, sizeNote: "size unknown (lint with --database-url for a size-aware verdict)" };
  }
  const size = context.sizes.get(finding.table);
  if (!size) {
    return { ...finding, level: "warning", tableSize: null, sizeNote: createdBy ? `new table (created by ${createdBy}): empty when this runs` : "table not found in the database" };
  }
  const smallRows = context.options.smallTableRows ?? 10_000;
  const smallBytes = context.options.smallTableBytes ?? 64 * 1024 * 1024;
  if (size.rows < smallRows && size.bytes < smallBytes) {
    return { ...finding, level: "warning", tableSize: size, sizeNote: `${formatSize(size)}: small, the lock is brief here (it will not be at scale)` };
  }
  return { ...finding, level: "error", tableSize: size, sizeNote: `${formatSize(size)}: the lock lasts as long as the scan or rewrite of this table` };
}

/** Tables created by the files being checked → the creating file's name. */
function createdByPending(migrations: readonly Migration[]): Map<string, string> {
  const created = new Map<string, string>();
  for (const m of migrations) {
    for (const s of m.statements) {
      const t = createdTable(s.text);
      if (t && !created.has(t)) created.set(t, m.fileName);
    }
  }
  return created;
}

function statementAt(migration: Migration, line: number): MigrationStatement | undefined {
  return migration.statements.find((s) => line >= s.line && line <= s.endLine) ?? migration.statements.find((s) => s.line >= line);
}

function firstLine(text: string): string {
  const line = text.split("\n")[0].trim();
  return line.length > 100 ? `${line.slice(0, 97)}...` : line;
}

function friday(migration: Migration, line: number, rule: string, message: string, statement?: MigrationStatement): LintFinding {
  const info = ruleInfo(rule);
  return {
    file: migration.fileName,
    line,
    rule,
    source: "friday",
    level: info.kind === "style" ? "warning" : "error",
    message,
    safeRewrite: info.safeRewrite,
    statement: statement ? firstLine(statement.text) : undefined,
    table: statement?.tables[0],
  };
}

/** Lines `friday:allow <rule>` exempts (on the statement or the three lines before it). */
function allowed(migration: Migration, statement: MigrationStatement, rule: string): boolean {
  const lines = migration.sql.split("\n").slice(Math.max(0, statement.line - 4), statement.endLine);
  return lines.some((l) => new RegExp(`friday:allow\\s+${rule}\\b`).test(l));
}

/** friday's phase rules for one migration (`all` = every migration in the folder, for cross-file checks). */
export function phaseFindings(migration: Migration, all: readonly Migration[]): LintFinding[] {
  const out: LintFinding[] = [];
  const earlier = all.filter((m) => m.id < migration.id);
  const add = (statement: MigrationStatement, rule: string, message: string) => {
    if (!allowed(migration, statement, rule)) out.push(friday(migration, statement.line, rule, message, statement));
  };
  const createdHere = new Set<string>();
  for (const statement of migration.statements) {
    const t = createdTable(statement.text);
    if (t) createdHere.add(t);
  }
  const nonTransactional = !migration.transactional;
  for (const [index, statement] of migration.statements.entries()) {
    const sql = normalise(statement.text);
    const upper = sql.toUpperCase();
    const table = statement.tables[0];

    if (/^(BEGIN|COMMIT|START TRANSACTION|ROLLBACK|END)\b/.test(upper)) {
      add(statement, "transaction-control", "The file controls its own transaction, which defeats the runner's one-transaction-per-file, retry and rollback handling.");
      continue;
    }
    if (/^SET (SESSION |LOCAL )?LOCK_TIMEOUT\b/.test(upper)) {
      add(statement, "runner-timeout-override", "Overriding lock_timeout lets a statement queue behind a long transaction while every later query queues behind it.");
      continue;
    }
    if (nonTransactional) {
      if (/^CREATE (UNIQUE )?INDEX CONCURRENTLY (?!IF NOT EXISTS)/.test(upper) || /^DROP INDEX CONCURRENTLY (?!IF EXISTS)/.test(upper)) {
        add(statement, "non-transactional-not-idempotent", "This file runs outside a transaction; after a failure it is re-run from the top and this statement would fail on the object it already made.");
      }
      if (
        migration.statements.some((s) => s.nonTransactional) &&
        !statement.nonTransactional &&
        !/^(SET|RESET|DO|ANALYZE|SELECT|ALTER TABLE \S+ VALIDATE CONSTRAINT|ALTER TABLE \S+ ADD CONSTRAINT \S+ (UNIQUE|PRIMARY KEY) USING INDEX)\b/.test(upper)
      ) {
        add(statement, "mixed-non-transactional", "This file has a CONCURRENTLY statement, so none of it runs in a transaction: a failure here leaves the earlier statements applied.");
      }
    }

    if (/^UPDATE /.test(upper) && !/ WHERE /.test(upper) && table && !createdHere.has(table)) {
      add(statement, "unbatched-backfill", `UPDATE of every row of ${table} in one statement: it locks each row until the migration commits and rewrites the whole table's tuples in one transaction.`);
    }
    if (/^DELETE FROM /.test(upper) && !/ WHERE /.test(upper) && table && !createdHere.has(table)) {
      add(statement, "unbatched-backfill", `DELETE of every row of ${table} in one statement: it holds row locks on all of them until commit.`);
    }

    if (migration.phase === "expand") {
      expandRules(migration, statement, index, upper, sql, earlier, createdHere, add);
    } else {
      contractRules(migration, statement, upper, sql, all, add);
    }
  }
  return out;
}

function expandRules(
  migration: Migration,
  statement: MigrationStatement,
  index: number,
  upper: string,
  sql: string,
  earlier: readonly Migration[],
  createdHere: Set<string>,
  add: (statement: MigrationStatement, rule: string, message: string) => void,
): void {
  const table = statement.tables[0];
  const dropObject = /^DROP (TABLE|VIEW|MATERIALIZED VIEW|TYPE|SCHEMA|SEQUENCE|FUNCTION|TRIGGER|INDEX)\b(?: CONCURRENTLY)?(?: IF EXISTS)? (\S+)/.exec(upper);
  if (dropObject) {
    const named = new RegExp(String.raw`^DROP (?:TABLE|VIEW|MATERIALIZED VIEW|TYPE|SCHEMA|SEQUENCE|FUNCTION|TRIGGER|INDEX)(?: CONCURRENTLY)?(?: IF EXISTS)? (${IDENT})`, "i").exec(sql);
    const name = named ? unqualify(named[1]) : "";
    const recreatedHere = migration.statements.some((s, i) => i > index && new RegExp(`\\b${escapeRe(name)}\\b`, "i").test(normalise(s.text)) && /^CREATE /i.test(normalise(s.text)));
    if (!((dropObject[1] === "TRIGGER" || dropObject[1] === "FUNCTION" || dropObject[1] === "INDEX") && recreatedHere)) {
      add(statement, "expand-drop", `An expand migration must keep the previous release working, and that code may still use what DROP ${dropObject[1]} removes.`);
    }
  }
  const actions = upper.replace(/^ALTER TABLE (IF EXISTS )?(ONLY )?\S+ /, "");
  if (/^ALTER TABLE /.test(upper) && /(^|, ?)DROP (COLUMN )?(IF EXISTS )?(?!CONSTRAINT\b|DEFAULT\b|NOT NULL\b|IDENTITY\b|EXPRESSION\b)\S/.test(actions) && table && !createdHere.has(table)) {
    add(statement, "expand-drop", `Dropping a column of ${table} breaks the previous release's code, which still reads or writes it.`);
  }
  if (/^ALTER (TABLE|VIEW|MATERIALIZED VIEW) .* RENAME (COLUMN |TO )?/.test(upper) && !/ RENAME CONSTRAINT /.test(upper) && table && !createdHere.has(table)) {
    add(statement, "expand-rename", `Renaming breaks the previous release's code, which still uses the old name of ${table} or its column.`);
  }
  if (/^ALTER TABLE .* ALTER (COLUMN )?\S+ (SET DATA )?TYPE /.test(upper) && table && !createdHere.has(table)) {
    add(statement, "expand-type-change", `Changing a column type of ${table} rewrites the table under an ACCESS EXCLUSIVE lock and can break the previous release's reads and writes.`);
  }
  if (table && !createdHere.has(table)) constraintRules(migration, statement, index, table, earlier, add);
  const setNotNull = new RegExp(String.raw`ALTER (?:COLUMN )?(${IDENT}) SET NOT NULL`, "i").exec(sql);
  if (setNotNull && table && !createdHere.has(table)) {
    const column = unqualify(setNotNull[1]);
    if (!hasValidatedNotNullCheck(table, column, earlier)) {
      add(
        statement,
        "expand-set-not-null",
        `SET NOT NULL on ${table}.${column} scans the whole table under an ACCESS EXCLUSIVE lock (reads and writes wait) unless an earlier migration validated CHECK (${column} IS NOT NULL).`,
      );
    }
  }
}

/** The ADD CONSTRAINT forms squawk does not see (on a table that already exists). */
function constraintRules(
  migration: Migration,
  statement: MigrationStatement,
  index: number,
  table: string,
  earlier: readonly Migration[],
  add: (statement: MigrationStatement, rule: string, message: string) => void,
): void {
  for (const c of addedConstraints(statement.text)) {
    if (c.kind === "check" && c.newColumn) {
      add(
        statement,
        "add-column-check",
        `ADD COLUMN ${c.newColumn} with a CHECK makes PostgreSQL scan every row of ${table} under the ACCESS EXCLUSIVE lock (reads and writes wait), and a column constraint cannot be NOT VALID.`,
      );
    }
    if (c.kind === "exclude") {
      add(statement, "adding-exclusion-constraint", `ADD … EXCLUDE builds its index on ${table} under an ACCESS EXCLUSIVE lock; exclusion constraints have no NOT VALID or USING INDEX form.`);
    }
    if (c.kind === "primary-key" && c.usingIndex) {
      const prior = [...earlier.flatMap((m) => m.statements), ...migration.statements.slice(0, index)];
      const definition = prior.map((s) => indexColumns(s.text, c.usingIndex!)).filter((d) => d !== undefined).pop();
      if (!definition) continue; // made outside this folder: its columns are not known here
      const nullable = definition.columns.filter((column) => !knownNotNull(definition.table, column, prior, earlier));
      if (nullable.length > 0) {
        add(
          statement,
          "primary-key-using-index-nullable",
          `PRIMARY KEY USING INDEX ${c.usingIndex} sets NOT NULL on ${nullable.join(", ")}, which scans all of ${definition.table} under the ACCESS EXCLUSIVE lock unless the column is already NOT NULL.`,
        );
      }
    }
  }
}

/** Whether earlier statements made `table.column` NOT NULL (declared so, SET NOT NULL, or a validated CHECK (column IS NOT NULL)). */
function knownNotNull(table: string, column: string, prior: readonly MigrationStatement[], earlier: readonly Migration[]): boolean {
  for (const s of prior) {
    if (notNullColumnsOfCreate(s.text, table)?.includes(column)) return true;
    if (s.tables[0] !== table) continue;
    const sql = normalise(s.text);
    if (new RegExp(String.raw`ALTER (?:COLUMN )?"?${escapeRe(column)}"? SET NOT NULL`, "i").test(sql)) return true;
    if (new RegExp(String.raw`ADD (?:COLUMN )?(?:IF NOT EXISTS )?"?${escapeRe(column)}"? [^,]*\b(NOT NULL|PRIMARY KEY)\b`, "i").test(sql)) return true;
  }
  return hasValidatedNotNullCheck(table, column, earlier);
}

/** True when an earlier migration added CHECK (column IS NOT NULL) NOT VALID on the table and a later-or-same earlier one validated it. */
function hasValidatedNotNullCheck(table: string, column: string, earlier: readonly Migration[]): boolean {
  const constraints: string[] = [];
  const re = new RegExp(String.raw`^ALTER TABLE (?:ONLY )?\S+ ADD CONSTRAINT (${IDENT}) CHECK \(\s*\(?\s*"?${escapeRe(column)}"?\s*\)? IS NOT NULL\s*\)`, "i");
  for (const m of earlier) {
    for (const s of m.statements) {
      const sql = normalise(s.text);
      if (s.tables[0] !== table) continue;
      const added = re.exec(sql);
      if (added) constraints.push(unqualify(added[1]));
      const validated = new RegExp(String.raw`VALIDATE CONSTRAINT (${IDENT})`, "i").exec(sql);
      if (validated && constraints.includes(unqualify(validated[1]))) return true;
    }
  }
  return false;
}

function contractRules(
  migration: Migration,
  statement: MigrationStatement,
  upper: string,
  sql: string,
  all: readonly Migration[],
  add: (statement: MigrationStatement, rule: string, message: string) => void,
): void {
  if (statement.sessionControl) return;
  const removal =
    /^DROP (TABLE|VIEW|MATERIALIZED VIEW|TYPE|SEQUENCE|FUNCTION|TRIGGER|INDEX)\b/.test(upper) ||
    /^ALTER TABLE \S+( IF EXISTS)? (DROP (COLUMN |CONSTRAINT )?|ALTER (COLUMN )?\S+ DROP (DEFAULT|NOT NULL))/.test(upper.replace(/^ALTER TABLE (IF EXISTS )?(ONLY )?/, "ALTER TABLE "));
  if (!removal) {
    add(statement, "contract-not-removal", "A contract migration only removes what an earlier expand made obsolete; anything else belongs in an expand migration, released and rehearsed on its own.");
    return;
  }
  const expand = all.find((m) => m.id === migration.contractOf && m.phase === "expand");
  if (!expand) return; // reported by contract-without-expand
  // What the expand replaced: objects its SQL uses (a backfill or sync trigger reads the old column) or names in a
  // "-- friday:replaces items.note, items.legacy_code" header.
  const replaces = [...expand.sql.matchAll(/^--\s*friday:replaces\s+(.+)$/gm)].map((m) => m[1].replace(/[.,]/g, " "));
  const expandText = `${normalise(expand.sql)} ${replaces.join(" ")}`.toLowerCase();
  const names: string[] = [];
  const column = new RegExp(String.raw`DROP (?:COLUMN )?(?:IF EXISTS )?(${IDENT})`, "i").exec(sql.replace(/^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?\S+ /i, ""));
  if (/^ALTER TABLE/i.test(sql) && column && !/^(CONSTRAINT|DEFAULT|NOT)$/i.test(column[1])) names.push(unqualify(column[1]));
  const object = new RegExp(String.raw`^DROP (?:TABLE|VIEW|MATERIALIZED VIEW|TYPE|SEQUENCE|FUNCTION|TRIGGER|INDEX)(?: CONCURRENTLY)?(?: IF EXISTS)? (${QUALIFIED})`, "i").exec(sql);
  if (object) names.push(unqualify(object[1]));
  if (statement.tables[0] && /^ALTER TABLE/i.test(sql)) names.push(statement.tables[0]);
  const missing = names.filter((n) => !new RegExp(`\\b${escapeRe(n.toLowerCase())}\\b`).test(expandText));
  if (missing.length > 0) {
    add(
      statement,
      "contract-unrelated-drop",
      `It removes ${missing.join(", ")}, which expand ${expand.id} never mentions: nothing shows that expand replaced it, so the running code may still use it.`,
    );
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Human-readable report. */
export function formatLintReport(result: LintResult, cwd = process.cwd()): string {
  const lines: string[] = [];
  for (const f of result.findings) {
    lines.push(`${relative(cwd, join(result.dir, f.file)) || f.file}:${f.line}: ${f.level} [${f.rule}]${f.table ? ` on ${f.table}` : ""}${f.sizeNote ? ` (${f.sizeNote})` : ""}`);
    if (f.statement) lines.push(`    ${f.statement}`);
    lines.push(`    why: ${f.message}`);
    if (f.safeRewrite) lines.push(`    safe rewrite: ${f.safeRewrite}`);
  }
  lines.push(
    `${result.errors} error(s), ${result.warnings} warning(s) in ${result.filesChecked.length} file(s)` +
      (result.filesSkipped.length ? `, ${result.filesSkipped.length} already applied and skipped` : "") +
      (result.sizeAware ? " (sizes from the database's statistics)" : " (no database: lock findings judged without sizes)"),
  );
  return lines.join("\n");
}
