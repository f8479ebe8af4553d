import { Client } from "pg";
import { applyMigrations, ApplyOptions, MigrationError, readLedger } from "./apply";
import { connect, databaseUrlOn, formatSize, TableSize, tableSizes } from "./db";
import { loadMigrations, Migration, MigrationFolder, MigrationStatement, Phase } from "./files";
import { fillTables, FillProgress } from "./fill";
import { rewriteRulesFor, ruleInfo } from "./rules";
import { quoteIdent } from "./sql";
import { now, percentile, startTraffic, Traffic, TrafficOp, trafficTargets } from "./traffic";

/** What one statement did to the concurrent traffic. */
export interface StatementMeasurement {
  readonly migration: string;
  readonly file: string;
  readonly line: number;
  readonly statement: string;
  /** Tables it locks, with sizes at the start of the rehearsal (null = created during it). */
  readonly tables: { table: string; size: TableSize | null }[];
  /** How long the statement ran, ms. */
  readonly durationMs: number;
  /** How long the locks it took were held: from its start until its transaction ended (its own end outside a transaction), ms. */
  readonly lockHeldMs: number;
  /** How long the migration waited for a lock during this statement, ms. */
  readonly lockWaitMs: number;
  /** Total time traffic was blocked by the locks this statement took (until they were released at commit), ms. */
  readonly blockedMs: number;
  /** Longest uninterrupted stretch of that blocking, ms: what the budget is checked against (many 5 ms waits of a batched backfill are not one 5 s outage). */
  readonly longestBlockMs: number;
  /** Which traffic it blocked, e.g. ["writes to orders"]. */
  readonly blocked: string[];
  /** Concurrent traffic while the statement ran (and held its locks). */
  readonly traffic: { ops: number; errors: number; p50Ms: number; p99Ms: number; maxMs: number; firstError?: string };
  /** True when blockedMs exceeds the budget. */
  readonly overBudget: boolean;
  /** Safe rewrite for a statement over budget (from the lint rules that match it). */
  readonly safeRewrite?: string;
  /** Error the statement raised, if any. */
  readonly error?: string;
}

export interface RehearseOptions {
  readonly databaseUrl?: string;
  readonly dir?: string;
  readonly folder?: MigrationFolder;
  /** Phase to rehearse. @default "expand"; "all" only on throwaway databases (contract gating off). */
  readonly phase?: Phase | "all";
  readonly release?: string;
  /** Longest tolerated traffic block per statement, ms. @default 500 */
  readonly budgetMs?: number;
  readonly lockTimeoutMs?: number;
  readonly statementTimeoutMs?: number;
  readonly readersPerTable?: number;
  readonly writersPerTable?: number;
  /** Monitor sampling interval, ms. @default 10 */
  readonly sampleIntervalMs?: number;
  /** Warm touched tables and their indexes before measuring. @default true */
  readonly prewarm?: boolean;
  /** May create the pg_prewarm extension when absent (throwaway databases). @default false */
  readonly createPrewarmExtension?: boolean;
  readonly log?: (line: string) => void;
  readonly retry?: ApplyOptions["retry"];
}

export interface RehearseResult {
  readonly ok: boolean;
  readonly budgetMs: number;
  readonly applied: string[];
  /** The migration rolled back (transactional) or stopped at for exceeding the budget, if any. */
  readonly failedMigration?: string;
  readonly failure?: string;
  readonly prewarm: { method: "pg_prewarm" | "sequential-scan" | "none"; relations: number };
  readonly statements: StatementMeasurement[];
  readonly tableSizes: TableSize[];
  /** The synthetic traffic over the whole rehearsal. */
  readonly traffic: { tables: string[]; connections: number; ops: number; errors: number; p50Ms: number; p99Ms: number };
}

interface Step {
  migration: Migration;
  index: number;
  statement: MigrationStatement;
  start: number;
  end?: number;
  /** When its locks were released: the transaction's COMMIT/ROLLBACK, or the statement's end outside a transaction. */
  released?: number;
  error?: string;
}

interface Sample {
  at: number;
  step: number;
  migrationWaiting: boolean;
  blocked: { pid: number; relation: string | null }[];
}

/**
 * Applies the pending migrations of a phase while synthetic reads and writes run against every table
 * they touch, and measures per statement how long it held or waited for locks and what it did to
 * the traffic. A transactional migration that blocks traffic longer than the budget is rolled back
 * and nothing after it runs; the result says which statement, on which table (and its size), what it
 * blocked for how long, and the safe rewrite.
 */
export async function rehearseMigrations(options: RehearseOptions): Promise<RehearseResult> {
  const log = options.log ?? (() => undefined);
  const budgetMs = options.budgetMs ?? 500;
  const phase = options.phase ?? "expand";
  const folder = options.folder ?? loadMigrations(options.dir ?? "migrations");
  const monitor = await connect(options.databaseUrl, "friday-rehearse-monitor");
  let traffic: Traffic | undefined;
  let sampler: Promise<void> | undefined;
  let sampling = true;
  const steps: Step[] = [];
  const samples: Sample[] = [];
  const measurements: StatementMeasurement[] = [];
  let migrationPid = -1;
  try {
    const ledger = await readLedger(monitor);
    const applied = new Set(ledger.map((e) => e.id));
    const pending = folder.migrations.filter((m) => !applied.has(m.id) && (phase === "all" || m.phase === phase));
    const touched = [...new Set(pending.flatMap((m) => m.statements.flatMap((s) => s.tables)))];
    const sizes = await tableSizes(monitor, touched);
    const existing = touched.filter((t) => sizes.has(t));
    log(`rehearsing ${pending.length} ${phase === "all" ? "" : phase + " "}migration(s) touching ${touched.length} table(s): ${existing.map((t) => `${t} (${formatSize(sizes.get(t))})`).join(", ") || "none existing yet"}`);

    const prewarm = options.prewarm === false ? { method: "none" as const, relations: 0 } : await prewarmTables(monitor, existing, options.createPrewarmExtension ?? false, log);

    // Writers must not write a column the migrations drop, rename or retype (that would fail the synthetic traffic, not the app's).
    const changedColumns = pending.flatMap((m) =>
      m.statements.flatMap((st) => [...st.text.matchAll(/\b(?:DROP|RENAME|ALTER)\s+COLUMN\s+(?:IF\s+EXISTS\s+)?"?([A-Za-z_][A-Za-z0-9_$]*)"?/gi)].map((x) => x[1].toLowerCase())),
    );
    const targets = await trafficTargets(monitor, existing, 2000, changedColumns);
    traffic = await startTraffic({
      databaseUrl: options.databaseUrl,
      targets,
      readersPerTable: options.readersPerTable,
      writersPerTable: options.writersPerTable,
    });
    log(`synthetic traffic: ${traffic.pids.size} connection(s) on ${targets.map((t) => t.table).join(", ") || "no table"}`);
    const pids = [...traffic.pids.keys()];
    const interval = options.sampleIntervalMs ?? 10;
    sampler = (async () => {
      while (sampling) {
        if (migrationPid > 0) {
          const at = now();
          const { rows } = await monitor.query(
            `SELECT a.pid, a.wait_event_type, pg_blocking_pids(a.pid) AS blockers,
                    (SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE l.pid = a.pid AND NOT l.granted LIMIT 1) AS relation
               FROM pg_stat_activity a WHERE a.pid = ANY($1::int[])`,
            [[...pids, migrationPid]],
          );
          const blocked: Sample["blocked"] = [];
          let migrationWaiting = false;
          for (const row of rows) {
            if (row.pid === migrationPid) migrationWaiting = row.wait_event_type === "Lock";
            else if ((row.blockers as number[]).includes(migrationPid)) blocked.push({ pid: row.pid, relation: row.relation });
          }
          samples.push({ at, step: steps.length - 1, migrationWaiting, blocked });
        }
        await new Promise((resolve) => setTimeout(resolve, interval));
      }
    })();

    // Settle traffic for a moment so there is a baseline.
    await new Promise((resolve) => setTimeout(resolve, 200));

    const measureMigration = (migration: Migration) => {
      const own = steps.map((s, i) => ({ s, i })).filter(({ s }) => s.migration.id === migration.id);
      const result = own.map(({ s, i }) => measureStep(i, s, steps, samples, traffic!, sizes, budgetMs));
      measurements.push(...result);
      return result;
    };
    let failedMigration: string | undefined;
    let failure: string | undefined;
    let appliedIds: string[] = [];
    /** Measures a migration once the monitor has sampled past it; records the failure when a statement blocked traffic over the budget. */
    const blockedOverBudget = async (migration: Migration): Promise<boolean> => {
      await waitOneSample(samples, interval);
      const over = measureMigration(migration).filter((m) => m.overBudget);
      if (over.length === 0) return false;
      failedMigration = migration.id;
      failure = describeFailure(over, budgetMs);
      return true;
    };
    try {
      const result = await applyMigrations({
        databaseUrl: options.databaseUrl,
        folder,
        phase,
        release: options.release,
        // Queries queue behind a migration waiting for its lock: waiting longer than the budget is itself an outage.
        lockTimeoutMs: options.lockTimeoutMs ?? Math.min(1000, budgetMs),
        statementTimeoutMs: options.statementTimeoutMs,
        retry: options.retry,
        log,
        onConnected: (pid) => {
          migrationPid = pid;
        },
        hooks: {
          beforeStatement: (migration, index, statement) => {
            steps.push({ migration, index, statement, start: now() });
          },
          afterStatement: (_migration, _index, _statement, error) => {
            const step = steps[steps.length - 1];
            step.end = now();
            if (error) step.error = error instanceof Error ? error.message : String(error);
          },
          beforeCommit: async (migration) => !(await blockedOverBudget(migration)),
          afterCommit: async (migration) => {
            for (const step of steps) if (step.migration.id === migration.id) step.released = now();
            if (migration.transactional) return;
            if (await blockedOverBudget(migration)) {
              throw new MigrationError(`${migration.fileName} blocked traffic longer than the budget (it ran outside a transaction, so its statements stay applied).`, "budget");
            }
          },
        },
      });
      appliedIds = result.applied.map((a) => a.id);
    } catch (error) {
      if (!(error instanceof MigrationError)) throw error;
      appliedIds = error.applied.map((a) => a.id);
      if (error.reason !== "budget") {
        failure = error.message;
        const last = steps[steps.length - 1];
        if (last && !measurements.some((m) => m.migration === last.migration.id)) measureMigration(last.migration);
        failedMigration = last?.migration.id;
      }
    }
    sampling = false;
    await sampler;
    sampler = undefined;
    await traffic.stop();
    const latencies = traffic.ops.map((op) => op.end - op.start);
    const trafficSummary = {
      tables: targets.map((t) => t.table),
      connections: traffic.pids.size,
      ops: traffic.ops.length,
      errors: traffic.ops.filter((op) => op.error).length,
      p50Ms: round1(percentile(latencies, 50)),
      p99Ms: round1(percentile(latencies, 99)),
    };
    const trafficDone = traffic;
    traffic = undefined;
    // Measure again now that the traffic has stopped: queries a statement blocked only finish (and get a
    // latency) after its locks are released, which is after the commit decision above.
    const flagged = new Set(measurements.filter((m) => m.overBudget).map((m) => `${m.migration}:${m.line}`));
    const final = steps.map((step, i) => {
      const m = measureStep(i, step, steps, samples, trafficDone, sizes, budgetMs);
      return flagged.has(`${m.migration}:${m.line}`) ? { ...m, overBudget: true } : m;
    });
    const withRewrites = attachRewrites(final, folder);
    const result: RehearseResult = {
      ok: failure === undefined,
      budgetMs,
      applied: appliedIds,
      failedMigration,
      failure,
      prewarm,
      statements: withRewrites,
      tableSizes: [...sizes.values()],
      traffic: trafficSummary,
    };
    log(result.ok ? `rehearsal passed: ${appliedIds.length} migration(s), no statement blocked traffic over ${budgetMs} ms` : `rehearsal FAILED: ${failure}`);
    return result;
  } finally {
    sampling = false;
    await sampler?.catch(() => undefined);
    await traffic?.stop().catch(() => undefined);
    await monitor.end().catch(() => undefined);
  }
}

async function waitOneSample(samples: Sample[], interval: number): Promise<void> {
  const count = samples.length;
  const deadline = Date.now() + interval * 10 + 200;
  while (samples.length <= count + 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, interval));
}

function describeFailure(over: StatementMeasurement[], budgetMs: number): string {
  return over
    .map(
      (m) =>
        `${m.file}:${m.line} \`${m.statement}\` blocked ${m.blocked.join(" and ") || "traffic"} for ${m.longestBlockMs} ms (budget ${budgetMs} ms) on ` +
        m.tables.map((t) => `${t.table} (${formatSize(t.size ?? undefined)})`).join(", "),
    )
    .join("; ");
}

function measureStep(
  stepIndex: number,
  step: Step,
  steps: Step[],
  samples: Sample[],
  traffic: Traffic,
  sizes: Map<string, TableSize>,
  budgetMs: number,
): StatementMeasurement {
  const siblings = steps.map((s, i) => ({ s, i })).filter(({ s }) => s.migration.id === step.migration.id);
  let blockedMs = 0;
  let lockWaitMs = 0;
  let run = 0;
  let longestBlockMs = 0;
  const blockedKinds = new Set<string>();
  // Window: from this statement's start until the next statement of another migration starts (locks last until commit).
  const nextOther = steps.findIndex((s, i) => i > stepIndex && s.migration.id !== step.migration.id);
  const windowEnd = nextOther === -1 ? Infinity : steps[nextOther].start;
  for (let k = 0; k < samples.length; k++) {
    const sample = samples[k];
    if (sample.at < step.start || sample.at > windowEnd) continue;
    const dt = Math.min((samples[k + 1]?.at ?? sample.at) - sample.at, 100);
    if (sample.step === stepIndex && sample.migrationWaiting) lockWaitMs += dt;
    // Attribute each blocked connection to the earliest statement of this migration (up to the current one) that locks its relation.
    const current = sample.step;
    let mine = false;
    for (const b of sample.blocked) {
      const owner = !step.migration.transactional
        ? current
        : siblings.find(({ s, i }) => i <= current && b.relation !== null && s.statement.tables.includes(b.relation))?.i ??
        (siblings.some(({ i }) => i === current) ? current : -1);
      if (owner === stepIndex) {
        mine = true;
        const what = traffic.pids.get(b.pid);
        if (what && dt > 0) blockedKinds.add(`${what.kind === "read" ? "reads of" : "writes to"} ${what.table}`);
      }
    }
    if (mine) {
      blockedMs += dt;
      run += dt;
      longestBlockMs = Math.max(longestBlockMs, run);
    } else run = 0;
  }
  const end = step.end ?? now();
  const stepWindowEnd = Math.max(end, siblings.length > 0 ? (steps[siblings[siblings.length - 1].i].end ?? end) : end);
  const overlapping = traffic.ops.filter((op: TrafficOp) => op.end >= step.start && op.start <= stepWindowEnd);
  const latencies = overlapping.map((op) => op.end - op.start);
  return {
    migration: step.migration.id,
    file: step.migration.fileName,
    line: step.statement.line,
    statement: firstLine(step.statement.text),
    tables: step.statement.tables.map((t) => ({ table: t, size: sizes.get(t) ?? null })),
    durationMs: Math.round(end - step.start),
    lockHeldMs: Math.round((step.migration.transactional ? (step.released ?? end) : end) - step.start),
    lockWaitMs: Math.round(lockWaitMs),
    blockedMs: Math.round(blockedMs),
    longestBlockMs: Math.round(longestBlockMs),
    blocked: [...blockedKinds].sort(),
    traffic: {
      ops: overlapping.length,
      errors: overlapping.filter((op) => op.error).length,
      p50Ms: round1(percentile(latencies, 50)),
      p99Ms: round1(percentile(latencies, 99)),
      // A loop, not Math.max(...latencies): a long statement overlaps hundreds of thousands of queries.
      maxMs: round1(latencies.reduce((max, l) => (l > max ? l : max), 0)),
      firstError: overlapping.find((op) => op.error)?.error,
    },
    overBudget: longestBlockMs > budgetMs,
    error: step.error,
  };
}

const round1 = (n: number) => Math.round(n * 10) / 10;

function firstLine(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 100 ? `${line.slice(0, 97)}...` : line;
}

/** Adds the safe rewrite (from the rules matching the statement's shape) to statements over budget. */
function attachRewrites(measurements: StatementMeasurement[], folder: MigrationFolder): StatementMeasurement[] {
  return measurements.map((m) => {
    if (!m.overBudget) return m;
    const statement = folder.migrations.find((x) => x.id === m.migration)?.statements.find((s) => s.line === m.line);
    const rules = statement ? rewriteRulesFor(statement.text) : [];
    const rewrite = rules.map((rule) => `[${rule}] ${ruleInfo(rule).safeRewrite}`).join(" ");
    return { ...m, safeRewrite: rewrite || "Split the statement so no lock on a busy table is held for a scan or rewrite: see docs/runbooks/migrations.md." };
  });
}

/** Warms tables and their indexes: pg_prewarm when installed (RDS offers it), else a sequential read of each table. */
export async function prewarmTables(
  client: Client,
  tables: readonly string[],
  createExtension: boolean,
  log: (line: string) => void = () => undefined,
): Promise<{ method: "pg_prewarm" | "sequential-scan" | "none"; relations: number }> {
  if (tables.length === 0) return { method: "none", relations: 0 };
  let installed = (await client.query(`SELECT 1 FROM pg_extension WHERE extname = 'pg_prewarm'`)).rows.length > 0;
  if (!installed && createExtension) {
    try {
      await client.query(`CREATE EXTENSION IF NOT EXISTS pg_prewarm`);
      installed = true;
    } catch {
      installed = false;
    }
  }
  const started = Date.now();
  if (installed) {
    const { rows } = await client.query(
      `SELECT c.relname, pg_prewarm(c.oid) AS blocks FROM pg_class c
        WHERE c.oid IN (SELECT to_regclass(t) FROM unnest($1::text[]) t)
           OR c.oid IN (SELECT i.indexrelid FROM pg_index i WHERE i.indrelid IN (SELECT to_regclass(t) FROM unnest($1::text[]) t))`,
      [tables.map(quoteIdent)],
    );
    const blocks = rows.reduce((sum, r) => sum + Number(r.blocks), 0);
    log(`prewarmed ${rows.length} relation(s), ${blocks} block(s) with pg_prewarm in ${Date.now() - started} ms`);
    return { method: "pg_prewarm", relations: rows.length };
  }
  for (const table of tables) await client.query(`SELECT count(*) FROM ${quoteIdent(table)}`);
  log(`prewarmed ${tables.length} table(s) by sequential scan in ${Date.now() - started} ms (install pg_prewarm to warm indexes too)`);
  return { method: "sequential-scan", relations: tables.length };
}

/** Text report of a rehearsal. */
export function formatRehearsal(result: RehearseResult): string {
  const lines: string[] = [];
  lines.push(`prewarm: ${result.prewarm.method} (${result.prewarm.relations} relation(s))`);
  lines.push(
    `traffic: ${result.traffic.connections} connection(s) on ${result.traffic.tables.join(", ") || "no table"}: ${result.traffic.ops} queries, ${result.traffic.errors} errors, p50 ${result.traffic.p50Ms} ms, p99 ${result.traffic.p99Ms} ms`,
  );
  lines.push("statement | ran ms | locks held ms | lock wait ms | traffic blocked ms (longest/total) | traffic p50/p99 ms | errors");
  for (const m of result.statements) {
    lines.push(
      `${m.overBudget ? "!!" : "ok"} ${m.file}:${m.line} ${m.statement} | ${m.durationMs} | ${m.lockHeldMs} | ${m.lockWaitMs} | ${m.longestBlockMs}/${m.blockedMs}${m.blocked.length ? ` (${m.blocked.join(", ")})` : ""} | ${m.traffic.p50Ms}/${m.traffic.p99Ms} | ${m.traffic.errors}`,
    );
    if (m.overBudget) {
      lines.push(`   on ${m.tables.map((t) => `${t.table} (${formatSize(t.size ?? undefined)})`).join(", ")}`);
      if (m.safeRewrite) lines.push(`   safe rewrite: ${m.safeRewrite}`);
    }
    if (m.error) lines.push(`   error: ${m.error}`);
    if (m.traffic.firstError) lines.push(`   traffic error: ${m.traffic.firstError}`);
  }
  lines.push(result.ok ? `PASS: ${result.applied.length} migration(s) applied, every statement within the ${result.budgetMs} ms budget` : `FAIL: ${result.failure}`);
  return lines.join("\n");
}

/** Options for a rehearsal on a throwaway embedded PostgreSQL. */
export interface LocalRehearseOptions extends Omit<RehearseOptions, "databaseUrl" | "phase"> {
  /** Synthetic rows per touched table. @default 100000 */
  readonly rows?: number;
  /** Reuse a running server (tests); otherwise an embedded PostgreSQL is started and stopped. */
  readonly serverUrl?: string;
  readonly onFill?: (progress: FillProgress) => void;
}

/**
 * `friday migrate rehearse --local --rows N`: starts an embedded PostgreSQL at the RDS engine's major
 * version, then walks the migrations in order: before each one, every table it touches that exists
 * and is still empty is filled with N synthetic rows; then that migration is rehearsed under traffic.
 */
export async function rehearseLocal(options: LocalRehearseOptions): Promise<RehearseResult> {
  const log = options.log ?? (() => undefined);
  const folder = options.folder ?? loadMigrations(options.dir ?? "migrations");
  let stop: (() => Promise<void>) | undefined;
  let serverUrl = options.serverUrl;
  if (!serverUrl) {
    const { startEmbeddedPostgres } = await import("../lib/embedded-postgres");
    log("starting embedded PostgreSQL");
    const server = await startEmbeddedPostgres();
    log(`embedded PostgreSQL ${server.majorVersion} started`);
    serverUrl = server.url;
    stop = () => server.stop();
  }
  const dbName = `rehearsal_${Date.now().toString(36)}`;
  const admin = await connect(serverUrl);
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const databaseUrl = databaseUrlOn(serverUrl, dbName);
  const rows = options.rows ?? 100_000;
  const merged: StatementMeasurement[] = [];
  const applied: string[] = [];
  const sizes = new Map<string, TableSize>();
  let prewarm: RehearseResult["prewarm"] = { method: "none", relations: 0 };
  const traffic: RehearseResult["traffic"] = { tables: [], connections: 0, ops: 0, errors: 0, p50Ms: 0, p99Ms: 0 };
  const addTraffic = (t: RehearseResult["traffic"]) => {
    for (const table of t.tables) if (!traffic.tables.includes(table)) traffic.tables.push(table);
    traffic.connections = Math.max(traffic.connections, t.connections);
    traffic.ops += t.ops;
    traffic.errors += t.errors;
    traffic.p50Ms = Math.max(traffic.p50Ms, t.p50Ms);
    traffic.p99Ms = Math.max(traffic.p99Ms, t.p99Ms);
  };
  try {
    for (let i = 0; i < folder.migrations.length; i++) {
      const migration = folder.migrations[i];
      const slice: MigrationFolder = { ...folder, migrations: folder.migrations.slice(0, i + 1) };
      const client = await connect(databaseUrl);
      try {
        const existing = await tableSizes(client, [...new Set(migration.statements.flatMap((s) => s.tables))]);
        const empty = [...existing.values()].filter((s) => s.rows === 0).map((s) => s.table);
        if (empty.length > 0) await fillTables(client, empty, rows, { log, onProgress: options.onFill });
      } finally {
        await client.end();
      }
      const result = await rehearseMigrations({ ...options, databaseUrl, folder: slice, phase: "all", createPrewarmExtension: true, log });
      merged.push(...result.statements);
      applied.push(...result.applied);
      for (const s of result.tableSizes) sizes.set(s.table, s);
      if (result.prewarm.method !== "none") prewarm = result.prewarm;
      addTraffic(result.traffic);
      if (!result.ok) {
        return { ...result, statements: merged, applied, tableSizes: [...sizes.values()], prewarm, traffic };
      }
    }
    return { ok: true, budgetMs: options.budgetMs ?? 500, applied, prewarm, statements: merged, tableSizes: [...sizes.values()], traffic };
  } finally {
    const admin2 = await connect(serverUrl);
    await admin2.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    await admin2.end();
    if (stop) await stop();
  }
}
