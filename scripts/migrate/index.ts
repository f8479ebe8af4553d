/**
 * The migrations toolkit as plain functions, for the pipeline and other scripts. Each takes a
 * connection string (undefined → the libpq PG* variables) and returns a result object; none of them
 * print or set an exit code (the `friday migrate …` commands in ./command.ts do that).
 */
export { applyMigrations, migrationStatus, MigrationError, backoffDelay, ADVISORY_LOCK_KEY } from "./apply";
export type { ApplyOptions, ApplyResult, AppliedMigration, LedgerEntry, MigrationStatus, RetryPolicy } from "./apply";
export { lintMigrations, formatLintReport } from "./lint";
export type { LintFinding, LintOptions, LintResult } from "./lint";
export { rehearseMigrations, rehearseLocal, formatRehearsal } from "./rehearse";
export type { RehearseOptions, RehearseResult, StatementMeasurement, LocalRehearseOptions } from "./rehearse";
export { loadMigrations, LEDGER_TABLE } from "./files";
export type { Migration, MigrationFolder, Phase } from "./files";
export { registerMigrate, databaseUrlFrom } from "./command";
