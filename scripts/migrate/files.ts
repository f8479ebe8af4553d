import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { describeStatement, splitStatements, SqlStatement, StatementInfo } from "./sql";

/**
 * Migration files (the convention, documented in docs/runbooks/migrations.md):
 *
 *   <NNNN>_<description>.<phase>.sql      phase = expand | contract
 *
 * ordered by file name. A contract migration names the expand it finishes with a header line
 *
 *   -- friday:contract-of <NNNN>_<description>
 *
 * A file is applied in one transaction unless it contains a statement PostgreSQL refuses to run in a
 * transaction block (CREATE INDEX CONCURRENTLY, …); such a file runs statement by statement.
 */
export type Phase = "expand" | "contract";

export const PHASES: readonly Phase[] = ["expand", "contract"];

/** Ledger table (in the target database) recording applied migrations. */
export const LEDGER_TABLE = "friday_schema_migrations";

export const FILE_PATTERN = /^(\d+)_([a-z0-9_]+)\.(expand|contract)\.sql$/;

/** One statement of a migration, with what the runner needs to know about it. */
export interface MigrationStatement extends SqlStatement, StatementInfo {}

/** One migration file. */
export interface Migration {
  /** `<NNNN>_<description>`: the ledger key; unique across phases. */
  readonly id: string;
  readonly phase: Phase;
  /** File name, e.g. `0006_users_full_name.expand.sql`. */
  readonly fileName: string;
  /** Absolute path. */
  readonly path: string;
  readonly sql: string;
  /** sha256 of the file (line endings normalised), stored in the ledger. */
  readonly checksum: string;
  readonly statements: MigrationStatement[];
  /** False when any statement must run outside a transaction block (the file then runs statement by statement). */
  readonly transactional: boolean;
  /** For contract migrations: the id of the expand migration it finishes. */
  readonly contractOf?: string;
  /** 1-based line of the `friday:contract-of` header, when present. */
  readonly contractOfLine?: number;
}

/** A problem with the migration folder itself (bad names, duplicate ids, missing headers). */
export interface FolderProblem {
  readonly file: string;
  readonly line: number;
  readonly rule: string;
  readonly message: string;
  readonly fix: string;
}

export interface MigrationFolder {
  readonly dir: string;
  readonly migrations: Migration[];
  readonly problems: FolderProblem[];
}

export function checksumOf(sql: string): string {
  return createHash("sha256").update(sql.replace(/\r\n/g, "\n")).digest("hex");
}

/** Parses one migration from its file name and contents (no file system access). */
export function parseMigration(fileName: string, sql: string, path = fileName): Migration | FolderProblem {
  const m = FILE_PATTERN.exec(fileName);
  if (!m) {
    return {
      file: fileName,
      line: 1,
      rule: "file-name",
      message: `"${fileName}" does not follow <NNNN>_<description>.<expand|contract>.sql, so its phase and order are unknown.`,
      fix: `Rename it, e.g. "0007_add_orders_status.expand.sql" (lower-case description, phase before .sql).`,
    };
  }
  const header = /^--\s*friday:contract-of\s+(\S+)\s*$/m.exec(sql);
  const contractOfLine = header ? sql.slice(0, header.index).split("\n").length : undefined;
  const statements = splitStatements(sql).map((s) => ({ ...s, ...describeStatement(s.text) }));
  return {
    id: `${m[1]}_${m[2]}`,
    phase: m[3] as Phase,
    fileName,
    path,
    sql,
    checksum: checksumOf(sql),
    statements,
    transactional: !statements.some((s) => s.nonTransactional) && !/^--\s*friday:no-transaction\s*$/m.test(sql),
    contractOf: header ? header[1].replace(/\.(expand|contract)(\.sql)?$/, "") : undefined,
    contractOfLine,
  };
}

/** Reads every `*.sql` file of a folder, in file-name order, and reports naming problems. */
export function loadMigrations(dir: string): MigrationFolder {
  const absolute = resolve(dir);
  if (!existsSync(absolute) || !statSync(absolute).isDirectory()) {
    throw new Error(`Migrations folder "${dir}" not found (resolved to ${absolute}): pass --dir <folder> or run from the app's root.`);
  }
  const migrations: Migration[] = [];
  const problems: FolderProblem[] = [];
  const names = readdirSync(absolute).filter((f) => f.endsWith(".sql")).sort();
  const seen = new Map<string, string>();
  for (const fileName of names) {
    const path = join(absolute, fileName);
    const parsed = parseMigration(fileName, readFileSync(path, "utf8"), path);
    if (!("id" in parsed)) {
      problems.push(parsed);
      continue;
    }
    const other = seen.get(parsed.id);
    if (other) {
      problems.push({
        file: fileName,
        line: 1,
        rule: "duplicate-id",
        message: `"${fileName}" and "${other}" share the id ${parsed.id}; the ledger could not tell them apart.`,
        fix: "Give one of them a new number and description.",
      });
      continue;
    }
    seen.set(parsed.id, fileName);
    migrations.push(parsed);
  }
  for (const migration of migrations) problems.push(...contractHeaderProblems(migration, migrations));
  return { dir: absolute, migrations, problems };
}

/** A contract must name an expand migration that exists and sorts before it. */
export function contractHeaderProblems(migration: Migration, all: readonly Migration[]): FolderProblem[] {
  if (migration.phase !== "contract") return [];
  if (!migration.contractOf) {
    return [
      {
        file: migration.fileName,
        line: 1,
        rule: "contract-without-expand",
        message: `Contract migration ${migration.id} does not say which expand migration it finishes, so nothing proves the code that needed the old schema is gone.`,
        fix: `Add a first line "-- friday:contract-of <NNNN>_<description>" naming the earlier expand migration.`,
      },
    ];
  }
  const expand = all.find((m) => m.id === migration.contractOf);
  if (!expand || expand.phase !== "expand") {
    return [
      {
        file: migration.fileName,
        line: migration.contractOfLine ?? 1,
        rule: "contract-without-expand",
        message: `Contract migration ${migration.id} names ${migration.contractOf}, which is not an expand migration in this folder.`,
        fix: `Point "-- friday:contract-of" at the expand migration (file <id>.expand.sql) that introduced the replacement.`,
      },
    ];
  }
  if (expand.id >= migration.id) {
    return [
      {
        file: migration.fileName,
        line: migration.contractOfLine ?? 1,
        rule: "contract-before-expand",
        message: `Contract migration ${migration.id} sorts before its expand ${expand.id}; it must come in a later release.`,
        fix: "Renumber the contract so it sorts after the expand, and ship it in a later release.",
      },
    ];
  }
  return [];
}

/** Short label for messages, e.g. "0006_users_full_name (expand)". */
export function label(migration: Pick<Migration, "id" | "phase">): string {
  return `${migration.id} (${migration.phase})`;
}
