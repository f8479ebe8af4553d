import { Command, Option } from "commander";
import { applyMigrations, migrationStatus, MigrationError } from "./apply";
import { loadMigrations } from "./files";
import { formatLintReport, lintMigrations } from "./lint";
import { formatRehearsal, rehearseLocal, rehearseMigrations } from "./rehearse";

/** Connection string from --database-url, else $DATABASE_URL, else undefined (pg then reads PGHOST, PGUSER, … ). */
export function databaseUrlFrom(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return option || env.DATABASE_URL || undefined;
}

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive whole number (got "${value}").`);
    return n;
  };
}

/** --wait: seconds >= 0 (0: exit at once when another runner holds the lock). */
function waitSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) throw new Error(`--wait must be a number of seconds >= 0 (got "${value}").`);
  return n;
}

const stderr = (line: string) => process.stderr.write(`${line}\n`);

function fail(json: boolean, error: unknown, extra: Record<string, unknown> = {}): void {
  const message = error instanceof Error ? error.message : String(error);
  if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: message, ...(error instanceof MigrationError ? { reason: error.reason, applied: error.applied } : {}), ...extra }, null, 2)}\n`);
  else process.stderr.write(`${message}\n`);
  process.exitCode = 1;
}

/** Registers `friday migrate lint|up|status|rehearse`. */
export function registerMigrate(program: Command): void {
  const migrate = program
    .command("migrate")
    .description("Expand/contract migrations: lint them, apply them safely, show status, rehearse them under traffic at production scale.");

  const dbOption = () => new Option("--database-url <url>", "PostgreSQL connection string (default $DATABASE_URL, else the PG* environment variables)");
  const dirOption = () => new Option("--dir <folder>", "migrations folder").default("migrations");

  migrate
    .command("lint [dir]")
    .description("Run squawk and friday's phase rules over the migrations; with a database, judge lock findings by table size.")
    .addOption(dirOption())
    .addOption(dbOption())
    .option("--squawk-config <file>", "squawk config file (default: nearest .squawk.toml)")
    .option("--json", "machine-readable output")
    .action(async (dirArg: string | undefined, opts: { dir: string; databaseUrl?: string; squawkConfig?: string; json?: boolean }) => {
      try {
        const databaseUrl = databaseUrlFrom(opts.databaseUrl);
        const result = await lintMigrations({ dir: dirArg ?? opts.dir, databaseUrl, useDatabase: Boolean(databaseUrl), squawkConfig: opts.squawkConfig });
        if (opts.json) process.stdout.write(`${JSON.stringify({ ok: result.errors === 0, ...result }, null, 2)}\n`);
        else process.stdout.write(`${formatLintReport(result)}\n`);
        if (result.errors > 0) process.exitCode = 1;
      } catch (error) {
        fail(Boolean(opts.json), error);
      }
    });

  migrate
    .command("up")
    .description("Apply pending migrations of one phase, each under lock_timeout with retries; contract only after its expand shipped in an earlier release.")
    .addOption(new Option("--phase <phase>", "expand or contract").choices(["expand", "contract"]).makeOptionMandatory())
    .option("--release <id>", "release being deployed (commit SHA or image digest), recorded in the ledger")
    .addOption(dirOption())
    .addOption(dbOption())
    .option("--lock-timeout <ms>", "lock_timeout per statement, ms", positiveInt("--lock-timeout"), 1000)
    .option("--statement-timeout <ms>", "statement_timeout per statement, ms", positiveInt("--statement-timeout"), 900_000)
    .option("--max-attempts <n>", "attempts per migration on lock timeout", positiveInt("--max-attempts"), 8)
    .option("--wait <seconds>", "how long to wait for another runner's advisory lock", waitSeconds, 600)
    .option("--json", "machine-readable output")
    .action(async (opts: { phase: "expand" | "contract"; release?: string; dir: string; databaseUrl?: string; lockTimeout: number; statementTimeout: number; maxAttempts: number; wait: number; json?: boolean }) => {
      try {
        const result = await applyMigrations({
          databaseUrl: databaseUrlFrom(opts.databaseUrl),
          dir: opts.dir,
          phase: opts.phase,
          release: opts.release,
          lockTimeoutMs: opts.lockTimeout,
          statementTimeoutMs: opts.statementTimeout,
          retry: { maxAttempts: opts.maxAttempts },
          advisoryLockWaitMs: opts.wait * 1000,
          log: stderr,
        });
        if (opts.json) process.stdout.write(`${JSON.stringify({ ok: true, ...result }, null, 2)}\n`);
        else process.stdout.write(`${result.applied.length} ${opts.phase} migration(s) applied${result.applied.length ? ": " + result.applied.map((a) => a.id).join(", ") : ""}\n`);
      } catch (error) {
        fail(Boolean(opts.json), error);
      }
    });

  migrate
    .command("status")
    .description("Show applied and pending migrations per phase, and any disagreement between the ledger and the files.")
    .addOption(dirOption())
    .addOption(dbOption())
    .option("--json", "machine-readable output")
    .action(async (opts: { dir: string; databaseUrl?: string; json?: boolean }) => {
      try {
        const status = await migrationStatus({ databaseUrl: databaseUrlFrom(opts.databaseUrl), dir: opts.dir });
        if (opts.json) process.stdout.write(`${JSON.stringify({ ok: status.problems.length === 0, ...status }, null, 2)}\n`);
        else {
          const lines = [`applied: ${status.applied.length}`];
          for (const e of status.applied) lines.push(`  ${e.id} (${e.phase}) release ${e.release ?? "-"} at ${e.appliedAt}`);
          for (const phase of ["expand", "contract"] as const) {
            lines.push(`pending ${phase}: ${status.pending[phase].length}`);
            for (const id of status.pending[phase]) lines.push(`  ${id}`);
          }
          for (const p of status.problems) lines.push(`PROBLEM: ${p}`);
          process.stdout.write(`${lines.join("\n")}\n`);
        }
        if (status.problems.length > 0) process.exitCode = 1;
      } catch (error) {
        fail(Boolean(opts.json), error);
      }
    });

  migrate
    .command("rehearse")
    .description("Apply pending migrations while synthetic traffic runs on the tables they touch; fail when a statement blocks traffic over the budget.")
    .addOption(dirOption())
    .addOption(dbOption())
    .addOption(new Option("--phase <phase>", "phase to rehearse").choices(["expand", "contract"]).default("expand"))
    .option("--release <id>", "release being deployed, recorded in the ledger")
    .option("--budget <ms>", "longest tolerated traffic block per statement, ms", positiveInt("--budget"), 500)
    .option("--local", "rehearse on an embedded PostgreSQL (the RDS engine's major) filled with synthetic rows")
    .option("--rows <n>", "synthetic rows per touched table with --local", positiveInt("--rows"), 100_000)
    .option("--lock-timeout <ms>", "lock_timeout per statement, ms (default: 1000 or the budget, whichever is smaller)", positiveInt("--lock-timeout"))
    .option("--json", "machine-readable output")
    .action(async (opts: { dir: string; databaseUrl?: string; phase: "expand" | "contract"; release?: string; budget: number; local?: boolean; rows: number; lockTimeout?: number; json?: boolean }) => {
      try {
        if (opts.local && (opts.databaseUrl || opts.phase !== "expand" || opts.release)) {
          throw new Error("--local rehearses every migration on a throwaway embedded PostgreSQL: drop --database-url, --phase and --release (or drop --local to rehearse a real database).");
        }
        const folder = loadMigrations(opts.dir);
        const common = { folder, budgetMs: opts.budget, lockTimeoutMs: opts.lockTimeout, log: stderr };
        const result = opts.local
          ? await rehearseLocal({ ...common, rows: opts.rows })
          : await rehearseMigrations({ ...common, databaseUrl: databaseUrlFrom(opts.databaseUrl), phase: opts.phase, release: opts.release });
        if (opts.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        else process.stdout.write(`${formatRehearsal(result)}\n`);
        if (!result.ok) process.exitCode = 1;
      } catch (error) {
        fail(Boolean(opts.json), error);
      }
    });
}
