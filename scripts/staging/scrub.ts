import { Client } from "pg";
import { checkRulesAgainstCatalog, columnRules, DatabaseCatalog, ForeignKeyInfo, isMasked, isTruncated, readCatalog, readScrubState, SCRUB_SCHEMA, ScrubStateRow, TableInfo } from "./catalog";
import { ScrubRules } from "./scrub-rules";
import { columnMaskSql, deriveKeyMaterial, HELPER_FUNCTIONS_SQL, ident, KEY_SETTINGS, literal, ScrubKeyMaterial } from "./scrub-sql";
import { runTasks, Task } from "./task-graph";

/**
 * `friday staging scrub`: masks a database in place, by the rules, with set-based SQL.
 *
 * Before anything changes, the rules are checked against the database (every table and column
 * classified, strategies fit their columns, unique indexes and foreign keys can still hold); any
 * problem stops the job with one line per problem and NOTHING changed.
 *
 * Then, per table, ONE rewrite: `ALTER TABLE t ALTER COLUMN c TYPE <same type> USING <mask>, ...`.
 * PostgreSQL writes a new heap in a single pass with every masked column computed from the old row,
 * and rebuilds the table's indexes in bulk afterwards (faster than maintaining them row by row), while
 * the table keeps its identity: grants, triggers, defaults, identity sequences, comments, check
 * constraints and the foreign keys that point at it stay exactly as they were. Each table's rewrite
 * is one transaction. `truncate` tables are emptied first.
 *
 * The work runs as a small task graph on `concurrency` connections, costliest ready task first:
 * the rewrites; the plain and unique indexes no constraint uses, dropped in the rewrite's transaction
 * and built again right after it as tasks of their own (a rewrite would build them one after the
 * other; as tasks they run beside other work); and the foreign keys between masked columns, dropped
 * before and added back (so validated) as soon as both of their tables are done.
 *
 * Progress is recorded in friday_scrub (finished tables, indexes and foreign keys still to build) in
 * the same transaction as each step, so a rerun after a crash skips what is done (never masking a
 * value twice), builds what is pending and refuses to continue with different rules or a different key.
 */

export interface ScrubTableProgress {
  /** "schema.table". */
  readonly table: string;
  readonly phase: "start" | "done" | "skipped";
  /** rewritten | truncated | kept | already done */
  readonly action: string;
  readonly rows?: number;
  readonly seconds?: number;
  readonly rowsPerSecond?: number;
  /** A human line: "public.users: 120000 rows in 1.2 s (100000 rows/s)". */
  readonly message: string;
}

export interface ScrubOptions {
  /** Connection string of the database to scrub (the isolated copy, never prod). */
  readonly databaseUrl: string;
  /** Validated rules (loadScrubRules / parseScrubRules). */
  readonly rules: ScrubRules;
  /** The secret HMAC key (from Secrets Manager). Never logged, never sent as SQL text. */
  readonly key: string | Buffer;
  /** Tables rewritten at the same time. @default 2 */
  readonly concurrency?: number;
  /** Called at the start and end of each table. */
  readonly onProgress?: (progress: ScrubTableProgress) => void;
  /** maintenance_work_mem for the index rebuilds, per connection. @default "256MB" */
  readonly maintenanceWorkMem?: string;
  /**
   * max_parallel_maintenance_workers for the index rebuilds, per connection (0..64). With tables in
   * parallel each table already has a core; parallel index workers on top only compete for them
   * (measured: slower, and more CPU) — to use more cores, raise `concurrency`.
   * @default 0 when `concurrency` > 1, else the server's setting
   */
  readonly maintenanceWorkers?: number;
  /** How long to wait for a table lock before failing. @default "60s" */
  readonly lockTimeout?: string;
}

export interface ScrubTableResult {
  readonly table: string;
  readonly action: "rewritten" | "truncated" | "kept" | "already done";
  readonly maskedColumns: readonly string[];
  readonly rows: number;
  readonly seconds: number;
  readonly rowsPerSecond: number;
}

export interface ScrubSummary {
  readonly tables: readonly ScrubTableResult[];
  /** Rows in rewritten tables. */
  readonly rows: number;
  readonly seconds: number;
  readonly rowsPerSecond: number;
  readonly concurrency: number;
  /** Foreign keys dropped before the rewrites and re-added (validated) after. */
  readonly foreignKeysRevalidated: readonly string[];
  /** Indexes dropped before their table's rewrite and built again after it, as tasks of their own. */
  readonly indexesRebuilt: readonly string[];
  readonly rulesDigest: string;
  readonly keyFingerprint: string;
}

/** The rules do not fit the database: nothing was changed. */
export class ScrubPreflightError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`scrub stopped before changing anything (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ScrubPreflightError";
  }
}

/** One table's plan: the ALTER TABLE (or undefined when every column is kept). */
export interface TablePlan {
  readonly table: TableInfo;
  readonly maskedColumns: readonly string[];
  /** The mask expression of each masked column, in maskedColumns' order. */
  readonly expressions: readonly string[];
  readonly sql?: string;
}

/** The single ALTER TABLE that rewrites a table with its masked columns, or undefined if none. */
export function planTable(table: TableInfo, rules: ScrubRules): TablePlan {
  const tableRules = columnRules(rules, table.name);
  const clauses: string[] = [];
  const masked: string[] = [];
  const expressions: string[] = [];
  for (const column of table.columns) {
    const rule = tableRules[column.name];
    if (!rule || !isMasked(rule)) continue;
    const by = rule.strategy === "shift" && rule.by ? table.columns.find((c) => c.name === rule.by) : undefined;
    const expr = columnMaskSql(rule, column, rules.emailDomain, by);
    if (!expr) continue;
    masked.push(column.name);
    expressions.push(expr);
    const collate = column.collation ? ` COLLATE ${column.collation}` : "";
    clauses.push(`ALTER COLUMN ${ident(column.name)} TYPE ${column.type}${collate} USING ${expr}`);
  }
  return { table, maskedColumns: masked, expressions, sql: clauses.length ? `ALTER TABLE ${table.sql}\n  ${clauses.join(",\n  ")}` : undefined };
}

/**
 * Plans every mask expression (EXPLAIN, which reads no row) in a transaction that is rolled back:
 * an `sql` expression that does not compile or a `fixed` value that does not cast to its column fails
 * here, naming the column, instead of in the middle of the run.
 */
async function dryRunMasks(client: Client, plans: readonly TablePlan[], rules: ScrubRules): Promise<string[]> {
  const problems: string[] = [];
  await client.query("BEGIN");
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${SCRUB_SCHEMA}`);
    await client.query(HELPER_FUNCTIONS_SQL);
    for (const plan of plans) {
      if (!plan.sql || isTruncated(rules, plan.table.name)) continue;
      for (const [i, expression] of plan.expressions.entries()) {
        await client.query("SAVEPOINT mask");
        try {
          await client.query(`EXPLAIN SELECT ${expression} FROM ${plan.table.sql}`);
        } catch (error) {
          const rule = columnRules(rules, plan.table.name)[plan.maskedColumns[i]];
          problems.push(`${plan.table.name}.${plan.maskedColumns[i]}: its ${rule?.strategy ?? ""} mask does not work on this column: ${(error as Error).message} — fix the rule in ${rules.source}`);
        }
        await client.query("ROLLBACK TO SAVEPOINT mask");
      }
    }
  } finally {
    await client.query("ROLLBACK");
  }
  return problems;
}

/** Foreign keys whose columns are masked on either side: dropped before, re-added after. */
export function foreignKeysToRevalidate(catalog: DatabaseCatalog, rules: ScrubRules): ForeignKeyInfo[] {
  return catalog.foreignKeys.filter(
    (fk) =>
      !isTruncated(rules, fk.table) &&
      (fk.columns.some((c) => isMasked(columnRules(rules, fk.table)[c])) || fk.referencedColumns.some((c) => isMasked(columnRules(rules, fk.referencedTable)[c]))),
  );
}

const STATE_SQL = `
CREATE SCHEMA IF NOT EXISTS ${SCRUB_SCHEMA};
CREATE TABLE IF NOT EXISTS ${SCRUB_SCHEMA}.state (
  table_name text PRIMARY KEY,
  action text NOT NULL,
  rules_digest text NOT NULL,
  key_fingerprint text NOT NULL,
  rows bigint NOT NULL,
  seconds double precision NOT NULL,
  finished_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ${SCRUB_SCHEMA}.pending_foreign_keys (
  table_name text NOT NULL,
  table_sql text NOT NULL,
  name text NOT NULL,
  definition text NOT NULL,
  PRIMARY KEY (table_name, name)
);
ALTER TABLE ${SCRUB_SCHEMA}.pending_foreign_keys ADD COLUMN IF NOT EXISTS referenced_table text;
CREATE TABLE IF NOT EXISTS ${SCRUB_SCHEMA}.pending_indexes (
  index_sql text PRIMARY KEY,
  table_name text NOT NULL,
  name text NOT NULL,
  definition text NOT NULL
);`;

/**
 * The derived key goes to the server as bind parameters, which PostgreSQL writes into its log with
 * the statement when it logs every statement (log_statement = all, log_min_duration_statement = 0).
 * Ask it not to log parameter values; where the role may not (a superuser setting), refuse rather
 * than leak: with the key, anyone who reads the log can re-identify people from their pseudonyms.
 */
async function keepKeyOutOfServerLog(client: Client): Promise<void> {
  await client.query("SET log_parameter_max_length = 0").catch(() => undefined);
  const { rows } = await client.query(
    `SELECT current_setting('log_statement') AS statement, current_setting('log_min_duration_statement')::int AS duration, current_setting('log_parameter_max_length')::int AS parameters`,
  );
  const { statement, duration, parameters } = rows[0] as { statement: string; duration: number; parameters: number };
  if (parameters !== 0 && (statement === "all" || duration === 0)) {
    await client.end().catch(() => undefined);
    throw new Error(
      `the server logs every statement with its parameters (log_statement = ${statement}, log_min_duration_statement = ${duration}) and this role may not turn that off: the scrub's key would be written to the database log. Set log_parameter_max_length = 0 (or log_statement = none and log_min_duration_statement above 0) in the database's parameter group, then run again`,
    );
  }
}

async function connect(url: string, material: ScrubKeyMaterial, options: ScrubOptions): Promise<Client> {
  const client = new Client({ connectionString: url, application_name: "friday-scrub" });
  await client.connect();
  await keepKeyOutOfServerLog(client);
  await client.query(
    `SELECT set_config($1, $2, false), set_config($3, $4, false), set_config($5, $6, false),
            set_config('maintenance_work_mem', $7, false), set_config('lock_timeout', $8, false), set_config('statement_timeout', '0', false),
            set_config('client_encoding', 'UTF8', false)`,
    [KEY_SETTINGS.innerPad, material.innerPadHex, KEY_SETTINGS.outerPad, material.outerPadHex, KEY_SETTINGS.seed, material.seed, options.maintenanceWorkMem ?? "256MB", options.lockTimeout ?? "60s"],
  );
  return client;
}

function rate(rows: number, seconds: number): number {
  return seconds > 0 ? Math.round(rows / seconds) : rows;
}

function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/**
 * PostgreSQL's data exceptions (SQLSTATE class 22) quote the offending value — from an unscrubbed row
 * here — after a colon: `invalid input syntax for type date: "1984-13-01"`. The job's log and the SNS
 * notice get the message without it.
 */
export function withoutData(error: Error & { code?: string }): string {
  if (!error.code?.startsWith("22")) return error.message;
  const colon = error.message.indexOf(": ");
  return `${colon >= 0 ? error.message.slice(0, colon) : error.message} (SQLSTATE ${error.code}; the value is not shown)`;
}

/** Scrubs the database in place. Throws ScrubPreflightError (nothing changed) when the rules do not fit. */
export async function scrubDatabase(options: ScrubOptions): Promise<ScrubSummary> {
  const { rules } = options;
  const concurrency = options.concurrency ?? 2;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) {
    throw new Error(`scrub concurrency is ${concurrency}: use an integer 1..32`);
  }
  const maintenanceWorkers = options.maintenanceWorkers ?? (concurrency > 1 ? 0 : undefined);
  if (maintenanceWorkers !== undefined && (!Number.isInteger(maintenanceWorkers) || maintenanceWorkers < 0 || maintenanceWorkers > 64)) {
    throw new Error(`scrub maintenanceWorkers is ${maintenanceWorkers}: use an integer 0..64 (max_parallel_maintenance_workers)`);
  }
  const material = deriveKeyMaterial(options.key);
  const report = options.onProgress ?? (() => undefined);
  const started = process.hrtime.bigint();
  const elapsed = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;

  const main = await connect(options.databaseUrl, material, options);
  const results: ScrubTableResult[] = [];
  try {
    // 1. Preflight: nothing is written until the rules are known to fit.
    const catalog = await readCatalog(main);
    const problems = checkRulesAgainstCatalog(rules, catalog);
    const done = (await readScrubState(main)) ?? new Map<string, ScrubStateRow>();
    for (const [table, row] of done) {
      if (row.rulesDigest !== rules.digest || row.keyFingerprint !== material.fingerprint) {
        problems.push(
          `${table} was already scrubbed with ${row.rulesDigest !== rules.digest ? "different rules" : "a different key"}: a scrubbed database cannot be scrubbed again; restore a fresh copy and scrub that`,
        );
        break;
      }
    }
    const plans = [...catalog.tables.values()].map((t) => planTable(t, rules));
    if (!problems.length) problems.push(...(await dryRunMasks(main, plans, rules)));
    if (problems.length) throw new ScrubPreflightError(problems);
    const fks = foreignKeysToRevalidate(catalog, rules);

    // 2. State schema, helper functions (no key in them), truncations, foreign keys set aside.
    await main.query(STATE_SQL);
    await main.query(HELPER_FUNCTIONS_SQL);
    const record = (table: string, action: string, rows: number, seconds: number) =>
      `INSERT INTO ${SCRUB_SCHEMA}.state (table_name, action, rules_digest, key_fingerprint, rows, seconds)
       VALUES (${literal(table)}, ${literal(action)}, ${literal(rules.digest)}, ${literal(material.fingerprint)}, ${rows}, ${seconds})`;
    const truncate = plans.filter((p) => isTruncated(rules, p.table.name) && !done.has(p.table.name));
    if (truncate.length) {
      const t0 = process.hrtime.bigint();
      for (const p of truncate) report({ table: p.table.name, phase: "start", action: "truncated", message: `${p.table.name}: truncating` });
      await main.query("BEGIN");
      await main.query(`TRUNCATE ${truncate.map((p) => p.table.sql).join(", ")}`);
      // TRUNCATE keeps the planner's statistics — most common values and histograms, real data — and
      // ANALYZE of an empty table does not clear them. Retyping a column to its own type does
      // (instant on an empty table); verify reports any that stay.
      for (const p of truncate) {
        const columns = p.table.columns.filter((c) => !c.generated);
        if (p.table.kind !== "r" || !columns.length) continue;
        const retype = columns.map((c) => `ALTER COLUMN ${ident(c.name)} TYPE ${c.type}${c.collation ? ` COLLATE ${c.collation}` : ""} USING ${ident(c.name)}`);
        await main.query("SAVEPOINT clear_statistics");
        try {
          await main.query(`ALTER TABLE ${p.table.sql} ${retype.join(", ")}`);
          await main.query("RELEASE SAVEPOINT clear_statistics");
        } catch {
          // e.g. a view uses a column: keep the table as it is; verify names the statistics left.
          await main.query("ROLLBACK TO SAVEPOINT clear_statistics");
        }
      }
      for (const p of truncate) await main.query(record(p.table.name, "truncated", 0, elapsed(t0)));
      await main.query("COMMIT");
      for (const p of truncate) {
        results.push({ table: p.table.name, action: "truncated", maskedColumns: [], rows: 0, seconds: elapsed(t0), rowsPerSecond: 0 });
        report({ table: p.table.name, phase: "done", action: "truncated", rows: 0, seconds: elapsed(t0), message: `${p.table.name}: truncated` });
      }
    }
    const pending = (await main.query(`SELECT name FROM ${SCRUB_SCHEMA}.pending_foreign_keys`)).rows.map((r) => r.name as string);
    const toDrop = fks.filter((fk) => !pending.includes(fk.name));
    if (toDrop.length) {
      await main.query("BEGIN");
      for (const fk of toDrop) {
        const tableSql = catalog.tables.get(fk.table)?.sql as string;
        await main.query(
          `INSERT INTO ${SCRUB_SCHEMA}.pending_foreign_keys (table_name, table_sql, name, definition, referenced_table) VALUES ($1, $2, $3, $4, $5)`,
          [fk.table, tableSql, fk.name, fk.definition, fk.referencedTable],
        );
        await main.query(`ALTER TABLE ${tableSql} DROP CONSTRAINT ${ident(fk.name)}`);
      }
      await main.query("COMMIT");
    }

    // 3. One rewrite per table, in parallel, largest first — by bytes on disk (heap, TOAST and
    // indexes: what a rewrite reads, writes and re-sorts), not rows, so the workers finish together
    // instead of one big, wide or heavily indexed table starting last.
    const work = plans
      .filter((p) => !isTruncated(rules, p.table.name))
      .sort((a, b) => b.table.totalBytes - a.table.totalBytes || b.table.estimatedRows - a.table.estimatedRows);
    for (const plan of [...plans.filter((p) => isTruncated(rules, p.table.name) && done.has(p.table.name)), ...work.filter((p) => done.has(p.table.name) || !p.sql)]) {
      const prior = done.get(plan.table.name);
      const action = prior ? "already done" : "kept";
      results.push({ table: plan.table.name, action, maskedColumns: plan.maskedColumns, rows: prior?.rows ?? 0, seconds: 0, rowsPerSecond: 0 });
      report({ table: plan.table.name, phase: "skipped", action, message: `${plan.table.name}: ${prior ? "already scrubbed by an earlier run" : "every column kept"}` });
    }
    const rewrites = work.filter((p) => !done.has(p.table.name) && p.sql);
    const rewritten = new Set(rewrites.map((p) => p.table.name));
    // Indexes dropped before a rewrite and built after it as tasks of their own: the rewrite of a
    // table would rebuild them one after the other anyway; as tasks they run beside the other tables'
    // work. An earlier run's pending ones (its table is done) are built first.
    const detached = catalog.detachableIndexes.filter((i) => rewritten.has(i.table) && catalog.tables.get(i.table)?.kind === "r");
    const pendingIndexes = (await main.query(`SELECT table_name, name, index_sql, definition FROM ${SCRUB_SCHEMA}.pending_indexes ORDER BY 1, 2`)).rows.map(
      (r) => ({ table: r.table_name as string, name: r.name as string, sql: r.index_sql as string, definition: r.definition as string, bytes: 0 }),
    );
    const pendingForeignKeys = (
      await main.query(`SELECT table_name, table_sql, name, definition, referenced_table FROM ${SCRUB_SCHEMA}.pending_foreign_keys ORDER BY table_name, name`)
    ).rows.map((r) => ({ table: r.table_name as string, tableSql: r.table_sql as string, name: r.name as string, definition: r.definition as string, referencedTable: r.referenced_table as string | null }));

    const tasks: Task[] = [];
    const taskTable = new Map<string, string>();
    const pool: Client[] = [];
    const withPoolClient = async (work: (client: Client) => Promise<void>) => {
      const client = pool.pop() as Client;
      try {
        await work(client);
      } finally {
        pool.push(client);
      }
    };
    const inTransaction = async (client: Client, what: string, work: () => Promise<void>) => {
      await client.query("BEGIN");
      try {
        await work();
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw new Error(`${what} failed (rolled back; a rerun picks up here): ${withoutData(error as Error & { code?: string })}`);
      }
    };
    for (const plan of rewrites) {
      const name = plan.table.name;
      const ownIndexes = detached.filter((i) => i.table === name);
      const id = `rewrite ${name}`;
      taskTable.set(id, name);
      tasks.push({
        id,
        cost: plan.table.totalBytes - ownIndexes.reduce((sum, i) => sum + i.bytes, 0),
        run: () =>
          withPoolClient(async (client) => {
            report({ table: name, phase: "start", action: "rewritten", message: `${name}: masking ${plan.maskedColumns.join(", ")}` });
            const t0 = process.hrtime.bigint();
            let rows = 0;
            await inTransaction(client, `scrubbing ${name}`, async () => {
              for (const index of ownIndexes) {
                await client.query(`INSERT INTO ${SCRUB_SCHEMA}.pending_indexes (table_name, name, index_sql, definition) VALUES ($1, $2, $3, $4)`, [
                  name,
                  index.name,
                  index.sql,
                  index.definition,
                ]);
                await client.query(`DROP INDEX ${index.sql}`);
              }
              await client.query(plan.sql as string);
              // Rebuilding the indexes set reltuples to the exact row count; without an index (or for a
              // partitioned table, whose partitions hold the rows), count.
              const hasIndex =
                plan.table.kind === "r" && ((await client.query(`SELECT EXISTS (SELECT 1 FROM pg_index WHERE indrelid = ${plan.table.oid}) AS has`)).rows[0].has as boolean);
              rows = Math.max(
                0,
                Number((await client.query(hasIndex ? `SELECT reltuples::bigint AS n FROM pg_class WHERE oid = ${plan.table.oid}` : `SELECT count(*) AS n FROM ${plan.table.sql}`)).rows[0].n),
              );
              await client.query(record(name, "rewritten", rows, elapsed(t0)));
            });
            // The masked columns lost their statistics with the rewrite (the others keep theirs):
            // gather them again from a small sample — pseudonyms are uniform, 3,000 rows describe them.
            await client.query(`SET default_statistics_target = 10`);
            await client.query(`ANALYZE ${plan.table.sql} (${plan.maskedColumns.map(ident).join(", ")})`);
            await client.query(`RESET default_statistics_target`);
            const total = elapsed(t0);
            const result: ScrubTableResult = { table: name, action: "rewritten", maskedColumns: plan.maskedColumns, rows, seconds: total, rowsPerSecond: rate(rows, total) };
            results.push(result);
            report({
              table: name,
              phase: "done",
              action: "rewritten",
              rows,
              seconds: total,
              rowsPerSecond: result.rowsPerSecond,
              message: `${name}: ${formatCount(rows)} rows in ${total.toFixed(1)} s (${formatCount(result.rowsPerSecond)} rows/s)`,
            });
          }),
      });
    }
    const indexesRebuilt: string[] = [];
    for (const index of [...pendingIndexes, ...detached]) {
      const id = `index ${index.sql}`;
      taskTable.set(id, index.table);
      tasks.push({
        id,
        after: rewritten.has(index.table) ? [`rewrite ${index.table}`] : [],
        cost: index.bytes,
        run: () =>
          withPoolClient(async (client) => {
            const t0 = process.hrtime.bigint();
            await inTransaction(client, `building index ${index.name} of ${index.table}`, async () => {
              await client.query(index.definition);
              await client.query(`DELETE FROM ${SCRUB_SCHEMA}.pending_indexes WHERE index_sql = $1`, [index.sql]);
            });
            indexesRebuilt.push(`${index.table}.${index.name}`);
            const seconds = elapsed(t0);
            report({ table: index.table, phase: "done", action: "index built", seconds, message: `${index.table}: index ${index.name} built in ${seconds.toFixed(1)} s` });
          }),
      });
    }
    // A foreign key is added back (and so validated) as soon as everything on both of its tables is
    // done, beside the other tables' work. ADD FOREIGN KEY locks both tables in SHARE ROW EXCLUSIVE
    // mode, which waits for a CREATE INDEX on either and for another ADD FOREIGN KEY on either, so it
    // waits for every task on its tables and the foreign keys go one at a time. (One recorded by an
    // older version, with no referenced table, waits for everything.)
    let previousForeignKey: string | undefined;
    for (const fk of pendingForeignKeys) {
      const waitsFor = (id: string) => {
        const table = taskTable.get(id);
        return table !== undefined && (!fk.referencedTable || table === fk.table || table === fk.referencedTable);
      };
      const after = [...tasks.map((t) => t.id).filter(waitsFor), ...(previousForeignKey ? [previousForeignKey] : [])];
      previousForeignKey = `foreign key ${fk.table}.${fk.name}`;
      tasks.push({
        id: previousForeignKey,
        after,
        run: () =>
          withPoolClient(async (client) => {
            const t0 = process.hrtime.bigint();
            await inTransaction(client, `validating foreign key ${fk.name} of ${fk.table}`, async () => {
              await client.query(`ALTER TABLE ${fk.tableSql} ADD CONSTRAINT ${ident(fk.name)} ${fk.definition}`);
              await client.query(`DELETE FROM ${SCRUB_SCHEMA}.pending_foreign_keys WHERE table_name = $1 AND name = $2`, [fk.table, fk.name]);
            });
            const seconds = elapsed(t0);
            report({ table: fk.table, phase: "done", action: "foreign key validated", seconds, message: `${fk.table}: foreign key ${fk.name} validated in ${seconds.toFixed(1)} s` });
          }),
      });
    }
    try {
      for (let i = 0; i < Math.min(concurrency, tasks.length); i++) {
        const client = await connect(options.databaseUrl, material, options);
        pool.push(client);
        if (maintenanceWorkers !== undefined) await client.query(`SELECT set_config('max_parallel_maintenance_workers', $1, false)`, [String(maintenanceWorkers)]);
      }
      await runTasks(tasks, concurrency);
    } finally {
      await Promise.all(pool.map((c) => c.end().catch(() => undefined)));
    }
    const seconds = elapsed(started);
    const rows = results.filter((r) => r.action === "rewritten").reduce((sum, r) => sum + r.rows, 0);
    return {
      tables: results.sort((a, b) => a.table.localeCompare(b.table)),
      rows,
      seconds,
      rowsPerSecond: rate(rows, seconds),
      concurrency,
      foreignKeysRevalidated: pendingForeignKeys.map((fk) => `${fk.table}.${fk.name}`),
      indexesRebuilt: indexesRebuilt.sort(),
      rulesDigest: rules.digest,
      keyFingerprint: material.fingerprint,
    };
  } catch (error) {
    await main.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    await main.end().catch(() => undefined);
  }
}

/** One line summing up a scrub. */
export function formatScrubSummary(summary: ScrubSummary): string {
  const counts = new Map<string, number>();
  for (const t of summary.tables) counts.set(t.action, (counts.get(t.action) ?? 0) + 1);
  const parts = [...counts].map(([action, n]) => `${n} ${action}`).join(", ");
  const rebuilt = [
    summary.indexesRebuilt.length ? `${summary.indexesRebuilt.length} index${summary.indexesRebuilt.length === 1 ? "" : "es"} built as tasks of their own` : "",
    summary.foreignKeysRevalidated.length ? `${summary.foreignKeysRevalidated.length} foreign key${summary.foreignKeysRevalidated.length === 1 ? "" : "s"} validated again` : "",
  ].filter(Boolean);
  return `scrubbed ${summary.tables.length} tables (${parts}): ${formatCount(summary.rows)} rows rewritten in ${summary.seconds.toFixed(1)} s (${formatCount(summary.rowsPerSecond)} rows/s, ${summary.concurrency} in parallel)${rebuilt.length ? `; ${rebuilt.join(", ")}` : ""}`;
}
