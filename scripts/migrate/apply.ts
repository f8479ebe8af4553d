import { Client } from "pg";
import { connect, LOCK_NOT_AVAILABLE, pgCode } from "./db";
import { label, LEDGER_TABLE, loadMigrations, Migration, MigrationFolder, MigrationStatement, Phase, PHASES } from "./files";
import { quoteIdent } from "./sql";

/** Key of the session advisory lock every runner takes, so two runners never migrate at once ("frid"). */
export const ADVISORY_LOCK_KEY = 1718774116;

/** A refusal or failure with a message naming what is wrong and the fix. Nothing was applied unless `applied` says so. */
export class MigrationError extends Error {
  constructor(
    message: string,
    readonly reason: "folder" | "integrity" | "gating" | "busy" | "lock-timeout" | "failed" | "budget",
    readonly applied: readonly AppliedMigration[] = [],
  ) {
    super(message);
    this.name = "MigrationError";
  }
}

/** A ledger row. */
export interface LedgerEntry {
  readonly id: string;
  readonly phase: Phase;
  readonly fileName: string;
  readonly checksum: string;
  readonly release: string | null;
  readonly appliedAt: string;
  readonly durationMs: number;
  readonly attempts: number;
}

export interface AppliedMigration {
  readonly id: string;
  readonly phase: Phase;
  readonly durationMs: number;
  /** Attempts it took (lock timeouts are retried). */
  readonly attempts: number;
  readonly statements: number;
}

/** Retry policy for lock timeouts: capped exponential backoff with jitter. */
export interface RetryPolicy {
  /** Attempts per migration (transactional file) or per statement (non-transactional file). @default 8 */
  readonly maxAttempts: number;
  /** First backoff, ms. @default 200 */
  readonly baseDelayMs: number;
  /** Backoff cap, ms. @default 10000 */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 10_000 };

/** Delay before retry `attempt` (1-based): half fixed, half random ("equal jitter"), capped. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Observers the rehearsal uses to measure each statement; the runner works without them. */
export interface StatementHooks {
  beforeStatement?(migration: Migration, index: number, statement: MigrationStatement): Promise<void> | void;
  afterStatement?(migration: Migration, index: number, statement: MigrationStatement, error?: unknown): Promise<void> | void;
  /** Called for a transactional file after its statements and before COMMIT; returning false rolls it back. */
  beforeCommit?(migration: Migration): Promise<boolean> | boolean;
  afterCommit?(migration: Migration): Promise<void> | void;
}

export interface ApplyOptions {
  /** Connection string; undefined → libpq PG* environment variables. */
  readonly databaseUrl?: string;
  /** Migrations folder. @default "migrations" */
  readonly dir?: string;
  /** Already loaded folder (overrides `dir`). */
  readonly folder?: MigrationFolder;
  /** Phase to apply; "all" applies both in file order with contract gating off (throwaway rehearsal databases only). */
  readonly phase: Phase | "all";
  /** Release being deployed (commit SHA or image digest), recorded in the ledger; required for contract. */
  readonly release?: string;
  /** lock_timeout per statement, ms. @default 1000 */
  readonly lockTimeoutMs?: number;
  /** statement_timeout per statement, ms. @default 900000 (15 min; concurrent index builds on big tables take minutes) */
  readonly statementTimeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  /** How long to wait for another runner's advisory lock, ms; 0 = give up at once. @default 600000 */
  readonly advisoryLockWaitMs?: number;
  /** Progress lines (stderr in the CLI). */
  readonly log?: (line: string) => void;
  /** For tests: jitter source and sleep. */
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly hooks?: StatementHooks;
  /** For rehearsal: receives the migrating connection's backend pid once connected. */
  readonly onConnected?: (pid: number) => void | Promise<void>;
}

export interface ApplyResult {
  readonly phase: Phase | "all";
  readonly release: string | null;
  readonly applied: AppliedMigration[];
  /** Lock-timeout retries that happened (each then succeeded or exhausted the attempts). */
  readonly retries: { id: string; statementLine: number; attempt: number; delayMs: number }[];
  /** Pending migrations of the other phase, left for their own run. */
  readonly leftPending: string[];
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Creates the ledger table when missing. */
export async function ensureLedger(client: Client): Promise<void> {
  await client.query(`CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (
    id text PRIMARY KEY,
    phase text NOT NULL CHECK (phase IN ('expand', 'contract')),
    file_name text NOT NULL,
    checksum text NOT NULL,
    release text,
    applied_at timestamptz NOT NULL DEFAULT now(),
    duration_ms integer NOT NULL,
    attempts integer NOT NULL,
    applied_by text NOT NULL DEFAULT current_user
  )`);
}

/** Reads the ledger; an empty list when the table does not exist yet. */
export async function readLedger(client: Client): Promise<LedgerEntry[]> {
  const exists = await client.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [LEDGER_TABLE]);
  if (!exists.rows[0].present) return [];
  const { rows } = await client.query(
    `SELECT id, phase, file_name, checksum, release, applied_at, duration_ms, attempts FROM ${LEDGER_TABLE} ORDER BY id`,
  );
  return rows.map((r) => ({
    id: r.id,
    phase: r.phase,
    fileName: r.file_name,
    checksum: r.checksum,
    release: r.release,
    appliedAt: new Date(r.applied_at).toISOString(),
    durationMs: r.duration_ms,
    attempts: r.attempts,
  }));
}

/** Ledger rows that disagree with the files: edited, missing or re-phased migrations. */
export function integrityProblems(ledger: readonly LedgerEntry[], migrations: readonly Migration[]): string[] {
  const problems: string[] = [];
  const byId = new Map(migrations.map((m) => [m.id, m]));
  for (const entry of ledger) {
    const file = byId.get(entry.id);
    if (!file) {
      problems.push(
        `${entry.id} (${entry.fileName}) is in the ledger but its file is missing: restore the file from git (applied migrations are never deleted).`,
      );
    } else if (file.checksum !== entry.checksum) {
      problems.push(
        `${file.fileName} was edited after it was applied (ledger checksum ${entry.checksum.slice(0, 12)}…, file ${file.checksum.slice(0, 12)}…): ` +
          `restore the applied version and put the change in a new migration.`,
      );
    } else if (file.phase !== entry.phase) {
      problems.push(`${file.fileName} was applied as ${entry.phase} but is now named ${file.phase}: restore its original name.`);
    }
  }
  return problems;
}

/** Contract gating: every pending contract's expand must be in the ledger from an earlier release. */
export function gatingProblems(contracts: readonly Migration[], ledger: readonly LedgerEntry[], release: string | undefined): string[] {
  if (contracts.length === 0) return [];
  if (!release) {
    return [`Contract migrations need --release <id> (the commit SHA or image digest being deployed) to prove their expand shipped in an earlier release.`];
  }
  const problems: string[] = [];
  const applied = new Map(ledger.map((e) => [e.id, e]));
  for (const contract of contracts) {
    const expand = contract.contractOf ? applied.get(contract.contractOf) : undefined;
    if (!contract.contractOf) {
      problems.push(`${contract.fileName} has no "-- friday:contract-of <expand id>" header.`);
    } else if (!expand) {
      problems.push(
        `${contract.fileName} finishes ${contract.contractOf}, which has not been applied to this database: ship the expand (and the code that stops using the old schema) in an earlier release first.`,
      );
    } else if (expand.phase !== "expand") {
      problems.push(`${contract.fileName} names ${contract.contractOf}, which was applied as ${expand.phase}, not expand.`);
    } else if (!expand.release || expand.release === release) {
      problems.push(
        `${contract.fileName} finishes ${contract.contractOf}, applied in ${expand.release ? `this same release (${release})` : "no recorded release"}: ` +
          `the contract must come in a later deploy than its expand, once the code that needed the old schema is gone.`,
      );
    }
  }
  return problems;
}

/** Takes the session advisory lock, polling until `waitMs` has passed. Returns false when another runner keeps it. */
export async function acquireRunnerLock(client: Client, waitMs: number, log: (line: string) => void, sleep = sleepFor): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  let announced = false;
  for (;;) {
    const { rows } = await client.query(`SELECT pg_try_advisory_lock($1) AS ok`, [ADVISORY_LOCK_KEY]);
    if (rows[0].ok) return true;
    if (Date.now() >= deadline) return false;
    if (!announced) {
      log(`another migration runner holds the advisory lock; waiting up to ${Math.round(waitMs / 1000)} s`);
      announced = true;
    }
    await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
  }
}

/** Applies the pending migrations of one phase. See ApplyOptions. */
export async function applyMigrations(options: ApplyOptions): Promise<ApplyResult> {
  const log = options.log ?? (() => undefined);
  const folder = options.folder ?? loadMigrations(options.dir ?? "migrations");
  if (folder.problems.length > 0) {
    throw new MigrationError(
      `Migrations folder ${folder.dir} has problems; nothing applied:\n` + folder.problems.map((p) => `  ${p.file}: ${p.message} ${p.fix}`).join("\n"),
      "folder",
    );
  }
  if (options.phase !== "all" && !PHASES.includes(options.phase)) {
    throw new MigrationError(`--phase must be expand or contract (got "${options.phase}").`, "folder");
  }
  const client = await connect(options.databaseUrl);
  try {
    const pid = (await client.query(`SELECT pg_backend_pid() AS pid`)).rows[0].pid as number;
    if (options.onConnected) await options.onConnected(pid);
    const waitMs = options.advisoryLockWaitMs ?? 600_000;
    if (!(await acquireRunnerLock(client, waitMs, log, options.sleep ?? sleepFor))) {
      throw new MigrationError(
        `Another migration runner holds the advisory lock (key ${ADVISORY_LOCK_KEY}) and did not finish within ${Math.round(waitMs / 1000)} s; nothing applied. ` +
          `Let it finish (see pg_stat_activity, application_name friday-migrate), then run again.`,
        "busy",
      );
    }
    try {
      return await applyLocked(client, folder, options, log);
    } finally {
      await client.query(`SELECT pg_advisory_unlock($1)`, [ADVISORY_LOCK_KEY]).catch(() => undefined);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function applyLocked(client: Client, folder: MigrationFolder, options: ApplyOptions, log: (line: string) => void): Promise<ApplyResult> {
  const lockTimeoutMs = options.lockTimeoutMs ?? 1000;
  const statementTimeoutMs = options.statementTimeoutMs ?? 900_000;
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  await setTimeouts(client, lockTimeoutMs, statementTimeoutMs);
  await withLockRetry(() => ensureLedger(client), policy, options, () => undefined);
  const ledger = await readLedger(client);
  const integrity = integrityProblems(ledger, folder.migrations);
  if (integrity.length > 0) {
    throw new MigrationError(`The ledger disagrees with the migration files; nothing applied:\n  ${integrity.join("\n  ")}`, "integrity");
  }
  const appliedIds = new Set(ledger.map((e) => e.id));
  const pending = folder.migrations.filter((m) => !appliedIds.has(m.id));
  const selected = options.phase === "all" ? pending : pending.filter((m) => m.phase === options.phase);
  const leftPending = pending.filter((m) => !selected.includes(m)).map((m) => m.id);
  if (options.phase === "contract") {
    const gating = gatingProblems(selected, ledger, options.release);
    if (gating.length > 0) {
      throw new MigrationError(`Contract migrations refused; nothing applied:\n  ${gating.join("\n  ")}`, "gating");
    }
  }
  log(`${selected.length} pending ${options.phase === "all" ? "" : options.phase + " "}migration(s)${leftPending.length ? `, ${leftPending.length} of the other phase left pending` : ""}`);
  const applied: AppliedMigration[] = [];
  const retries: ApplyResult["retries"] = [];
  for (const migration of selected) {
    const started = Date.now();
    log(`applying ${label(migration)}: ${migration.statements.length} statement(s), ${migration.transactional ? "one transaction" : "no transaction (statement by statement)"}`);
    let attempts: number;
    try {
      await setTimeouts(client, lockTimeoutMs, statementTimeoutMs);
      attempts = migration.transactional
        ? await applyTransactional(client, migration, options, policy, retries, log)
        : await applyNonTransactional(client, migration, options, policy, retries, log);
    } catch (error) {
      if (error instanceof MigrationError) throw new MigrationError(error.message, error.reason, applied);
      const where = error instanceof StatementFailure ? ` at line ${error.statement.line} (${firstLine(error.statement.text)})` : "";
      const cause = error instanceof StatementFailure ? error.cause : error;
      throw new MigrationError(
        `${migration.fileName} failed${where}: ${cause instanceof Error ? cause.message : String(cause)}. ` +
          `${applied.length} migration(s) applied before it are kept; ${migration.transactional ? "this one was rolled back" : "its completed statements are kept (they must be idempotent; fix and re-run)"}.`,
        "failed",
        applied,
      );
    }
    const durationMs = Date.now() - started;
    if (!migration.transactional) await recordApplied(client, migration, options.release, durationMs, attempts);
    applied.push({ id: migration.id, phase: migration.phase, durationMs, attempts, statements: migration.statements.length });
    log(`applied ${label(migration)} in ${durationMs} ms${attempts > 1 ? ` after ${attempts} attempts` : ""}`);
  }
  return { phase: options.phase, release: options.release ?? null, applied, retries, leftPending };
}

class StatementFailure extends Error {
  constructor(
    readonly statement: MigrationStatement,
    readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

class RolledBack extends Error {}

function firstLine(text: string): string {
  const line = text.split("\n")[0];
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}

async function setTimeouts(client: Client, lockTimeoutMs: number, statementTimeoutMs: number): Promise<void> {
  await client.query(`SET lock_timeout = ${Math.round(lockTimeoutMs)}; SET statement_timeout = ${Math.round(statementTimeoutMs)}`);
}

async function recordApplied(client: Client, migration: Migration, release: string | undefined, durationMs: number, attempts: number): Promise<void> {
  await client.query(
    `INSERT INTO ${LEDGER_TABLE} (id, phase, file_name, checksum, release, duration_ms, attempts) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [migration.id, migration.phase, migration.fileName, migration.checksum, release ?? null, durationMs, attempts],
  );
}

/**
 * Runs `work`; on lock_timeout waits (capped backoff + jitter) and tries again. `work` must leave no
 * lock held when it throws (the transactional path rolls back first), so the runner never sits on one
 * lock while waiting for another.
 */
async function withLockRetry<T>(
  work: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  options: ApplyOptions,
  onRetry: (attempt: number, delayMs: number, error: unknown) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      const cause = error instanceof StatementFailure ? error.cause : error;
      if (pgCode(cause) !== LOCK_NOT_AVAILABLE) throw error;
      if (attempt >= policy.maxAttempts) {
        throw new MigrationError(
          `${error instanceof StatementFailure ? `line ${error.statement.line} (${firstLine(error.statement.text)}): ` : ""}could not get its lock within lock_timeout after ${attempt} attempts ` +
            `(${cause instanceof Error ? cause.message : String(cause)}). Nothing from the failed attempt is held or kept. ` +
            `Find the long transaction blocking it (pg_stat_activity) or retry at a quieter time.`,
          "lock-timeout",
        );
      }
      const delayMs = backoffDelay(attempt, policy, options.random);
      onRetry(attempt, delayMs, cause);
      await (options.sleep ?? sleepFor)(delayMs);
    }
  }
}

async function applyTransactional(
  client: Client,
  migration: Migration,
  options: ApplyOptions,
  policy: RetryPolicy,
  retries: ApplyResult["retries"],
  log: (line: string) => void,
): Promise<number> {
  let attempts = 0;
  const started = Date.now();
  await withLockRetry(
    async (attempt) => {
      attempts = attempt;
      await client.query("BEGIN");
      try {
        for (const [index, statement] of migration.statements.entries()) {
          await runStatement(client, migration, index, statement, options.hooks);
        }
        const commit = options.hooks?.beforeCommit ? await options.hooks.beforeCommit(migration) : true;
        if (!commit) throw new RolledBack();
        await recordApplied(client, migration, options.release, Date.now() - started, attempt);
        await client.query("COMMIT");
        if (options.hooks?.afterCommit) await options.hooks.afterCommit(migration);
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        if (options.hooks?.afterCommit) await options.hooks.afterCommit(migration);
        if (error instanceof RolledBack) {
          throw new MigrationError(`${migration.fileName} was rolled back: it blocked traffic longer than the budget.`, "budget");
        }
        throw error;
      }
    },
    policy,
    options,
    (attempt, delayMs, cause) => {
      retries.push({ id: migration.id, statementLine: 0, attempt, delayMs });
      log(`  lock_timeout on attempt ${attempt} (${cause instanceof Error ? cause.message : cause}); rolled back, retrying in ${delayMs} ms`);
    },
  );
  return attempts;
}

async function applyNonTransactional(
  client: Client,
  migration: Migration,
  options: ApplyOptions,
  policy: RetryPolicy,
  retries: ApplyResult["retries"],
  log: (line: string) => void,
): Promise<number> {
  let maxAttempts = 1;
  for (const [index, statement] of migration.statements.entries()) {
    await withLockRetry(
      async (attempt) => {
        maxAttempts = Math.max(maxAttempts, attempt);
        if (statement.concurrentIndexName) await dropInvalidIndex(client, statement.concurrentIndexName, log);
        const started = Date.now();
        try {
          await runStatement(client, migration, index, statement, options.hooks);
          log(`  line ${statement.line}: ${firstLine(statement.text)} (${Date.now() - started} ms)`);
        } catch (error) {
          // A failed CREATE INDEX CONCURRENTLY leaves an INVALID index behind that still slows writes.
          if (statement.concurrentIndexName) await dropInvalidIndex(client, statement.concurrentIndexName, log).catch(() => undefined);
          throw error;
        }
      },
      policy,
      options,
      (attempt, delayMs, cause) => {
        retries.push({ id: migration.id, statementLine: statement.line, attempt, delayMs });
        log(`  line ${statement.line}: lock_timeout on attempt ${attempt} (${cause instanceof Error ? cause.message : cause}); retrying in ${delayMs} ms`);
      },
    );
  }
  if (options.hooks?.afterCommit) await options.hooks.afterCommit(migration);
  return maxAttempts;
}

async function runStatement(client: Client, migration: Migration, index: number, statement: MigrationStatement, hooks?: StatementHooks): Promise<void> {
  if (hooks?.beforeStatement) await hooks.beforeStatement(migration, index, statement);
  try {
    await client.query(statement.text);
  } catch (error) {
    if (hooks?.afterStatement) await hooks.afterStatement(migration, index, statement, error);
    throw new StatementFailure(statement, error);
  }
  if (hooks?.afterStatement) await hooks.afterStatement(migration, index, statement);
}

/** Drops an INVALID index of that name (left by an interrupted CREATE INDEX CONCURRENTLY). Valid indexes are kept. */
export async function dropInvalidIndex(client: Client, name: string, log: (line: string) => void = () => undefined): Promise<boolean> {
  const { rows } = await client.query(
    `SELECT n.nspname AS schema FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = $1 AND NOT i.indisvalid AND n.nspname = ANY(current_schemas(false))`,
    [name],
  );
  if (rows.length === 0) return false;
  log(`  dropping invalid index ${name} left by an interrupted concurrent build`);
  await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(rows[0].schema)}.${quoteIdent(name)}`);
  return true;
}

/** What `friday migrate status` reports. */
export interface MigrationStatus {
  readonly dir: string;
  readonly applied: LedgerEntry[];
  readonly pending: Record<Phase, string[]>;
  /** Folder and ledger problems (edited/missing files, bad names). */
  readonly problems: string[];
}

/** Applied and pending migrations per phase, plus any integrity problems. Read-only. */
export async function migrationStatus(options: { databaseUrl?: string; dir?: string; folder?: MigrationFolder }): Promise<MigrationStatus> {
  const folder = options.folder ?? loadMigrations(options.dir ?? "migrations");
  const client = await connect(options.databaseUrl);
  try {
    const ledger = await readLedger(client);
    const appliedIds = new Set(ledger.map((e) => e.id));
    const pending: Record<Phase, string[]> = { expand: [], contract: [] };
    for (const m of folder.migrations) if (!appliedIds.has(m.id)) pending[m.phase].push(m.id);
    return {
      dir: folder.dir,
      applied: ledger,
      pending,
      problems: [...folder.problems.map((p) => `${p.file}: ${p.message} ${p.fix}`), ...integrityProblems(ledger, folder.migrations)],
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}
