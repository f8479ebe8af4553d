/**
 * The rule book: for every rule (squawk's and friday's own) why it is dangerous, how it is judged,
 * and the safe rewrite printed beside each finding. docs/runbooks/migrations.md has the full recipes.
 */

import { addedConstraints, scansToValidate } from "./constraints";

/** How a finding's verdict is reached. */
export type RuleKind =
  /** Takes a lock for as long as the table takes to scan or rewrite: the verdict depends on the table's size. */
  | "lock"
  /** Breaks the code that is running now, whatever the size: always an error in an expand migration. */
  | "compat"
  /** Breaks the expand/contract discipline or the runner's guarantees: always an error. */
  | "discipline"
  /** Schema style (squawk's prefer-* rules): a warning. */
  | "style";

export interface RuleInfo {
  readonly kind: RuleKind;
  /** The safe rewrite, shown with the finding. */
  readonly safeRewrite: string;
}

const NOT_VALID_ROUTE =
  "ALTER TABLE t ADD CONSTRAINT c ... NOT VALID; in this migration (instant), then ALTER TABLE t VALIDATE CONSTRAINT c; in the next migration " +
  "(scans under SHARE UPDATE EXCLUSIVE: reads and writes continue).";

const PRIMARY_KEY_ROUTE =
  "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_pkey_idx ON t (id); in its own migration, then ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX t_pkey_idx; " +
  "(instant when id is already NOT NULL; otherwise make it NOT NULL first by the CHECK … NOT VALID route, or the USING INDEX step scans the table).";

export const RULES: Record<string, RuleInfo> = {
  // friday's own rules
  "expand-drop": {
    kind: "compat",
    safeRewrite:
      "Stop using it in code first, then drop it in a contract migration (<NNNN>_<what>.contract.sql with a first line " +
      '"-- friday:contract-of <expand id>") shipped in a later release than the expand that replaced it.',
  },
  "expand-rename": {
    kind: "compat",
    safeRewrite:
      "Expand: ADD COLUMN new (nullable), a trigger that copies old→new on write, backfill new in batches; release code that reads new and writes both; " +
      "contract (later release): DROP the trigger and the old column. For a table: create the new table or a view, never RENAME under running code.",
  },
  "expand-type-change": {
    kind: "compat",
    safeRewrite:
      "Expand: ADD COLUMN col_new <new type>, a dual-write trigger, backfill in batches, switch reads in code; contract (later release): DROP the old column. " +
      "Changing a type rewrites the table under ACCESS EXCLUSIVE and can break the running code's reads.",
  },
  "expand-set-not-null": {
    kind: "lock",
    safeRewrite:
      "ALTER TABLE t ADD CONSTRAINT t_col_not_null CHECK (col IS NOT NULL) NOT VALID; → next migration: ALTER TABLE t VALIDATE CONSTRAINT t_col_not_null; → " +
      "next migration: ALTER TABLE t ALTER COLUMN col SET NOT NULL; (PostgreSQL 12+ uses the validated check and skips the scan) and ALTER TABLE t DROP CONSTRAINT t_col_not_null;",
  },
  "unbatched-backfill": {
    kind: "lock",
    safeRewrite:
      "Backfill in batches by primary key in a '-- friday:no-transaction' migration (a DO block that updates e.g. 5,000 rows per loop and COMMITs each batch), " +
      "so no transaction holds row locks on the whole table or builds one huge WAL burst.",
  },
  "non-transactional-not-idempotent": {
    kind: "discipline",
    safeRewrite:
      "A file run outside a transaction is re-run from the top after a failure: write CREATE INDEX CONCURRENTLY IF NOT EXISTS / DROP INDEX CONCURRENTLY IF EXISTS.",
  },
  "mixed-non-transactional": {
    kind: "discipline",
    safeRewrite: "Put each CREATE INDEX CONCURRENTLY (and similar) in its own migration file; keep transactional DDL in another file so it stays atomic.",
  },
  "transaction-control": {
    kind: "discipline",
    safeRewrite:
      "Remove BEGIN/COMMIT: the runner wraps each file in one transaction (or none, for files with CONCURRENTLY or a '-- friday:no-transaction' header).",
  },
  "runner-timeout-override": {
    kind: "discipline",
    safeRewrite:
      "Remove SET lock_timeout: the runner sets it (friday migrate up --lock-timeout, default 1 s) and retries with backoff. A longer statement_timeout for a long backfill is fine.",
  },
  "contract-without-expand": {
    kind: "discipline",
    safeRewrite: 'Start the contract file with "-- friday:contract-of <NNNN>_<description>" naming the earlier expand migration it finishes.',
  },
  "contract-before-expand": {
    kind: "discipline",
    safeRewrite: "Number the contract after its expand and ship it in a later release.",
  },
  "contract-not-removal": {
    kind: "discipline",
    safeRewrite: "A contract migration only removes (DROP COLUMN/TABLE/INDEX/TRIGGER/FUNCTION/CONSTRAINT, DROP DEFAULT): move additive changes into an expand migration.",
  },
  "contract-unrelated-drop": {
    kind: "discipline",
    safeRewrite:
      "A contract may only remove what its expand made obsolete: name the expand that introduced the replacement (its SQL mentions the old object) in '-- friday:contract-of', " +
      "or write the expand first.",
  },
  "contract-expand-not-released": {
    kind: "discipline",
    safeRewrite: "Ship the expand migration (and the code that stops using the old schema) in a release first; the contract goes in a later release.",
  },
  "file-name": { kind: "discipline", safeRewrite: 'Name files "<NNNN>_<description>.<expand|contract>.sql".' },
  "duplicate-id": { kind: "discipline", safeRewrite: "Give each migration its own number and description." },
  "syntax-error": { kind: "discipline", safeRewrite: "Fix the SQL syntax (squawk could not parse the file)." },

  // squawk's rules (https://squawkhq.com/docs/rules), judged with friday's verdicts
  "require-concurrent-index-creation": {
    kind: "lock",
    safeRewrite:
      "CREATE INDEX CONCURRENTLY IF NOT EXISTS name ON t (...); in a migration file of its own (it runs outside a transaction; the runner drops an invalid index left by a failed build before retrying).",
  },
  "require-concurrent-index-deletion": { kind: "lock", safeRewrite: "DROP INDEX CONCURRENTLY IF EXISTS name; in a migration file of its own." },
  "constraint-missing-not-valid": { kind: "lock", safeRewrite: NOT_VALID_ROUTE },
  "adding-foreign-key-constraint": {
    kind: "lock",
    safeRewrite:
      "ALTER TABLE child ADD CONSTRAINT fk FOREIGN KEY (col) REFERENCES parent (id) NOT VALID; then, in the next migration, ALTER TABLE child VALIDATE CONSTRAINT fk; " +
      "(SHARE UPDATE EXCLUSIVE on child, ROW SHARE on parent: traffic continues).",
  },
  "disallowed-unique-constraint": {
    kind: "lock",
    safeRewrite:
      "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_col_key ON t (col); in its own migration, then ALTER TABLE t ADD CONSTRAINT t_col_key UNIQUE USING INDEX t_col_key; (instant).",
  },
  "adding-field-with-default": {
    kind: "lock",
    safeRewrite: "ADD COLUMN without the volatile default (or with a constant default: instant on PostgreSQL 11+), then backfill in batches and set the default for new rows.",
  },
  "adding-required-field": {
    kind: "compat",
    safeRewrite: "ADD COLUMN nullable or with a constant DEFAULT so the running code's INSERTs keep working; enforce NOT NULL later via the CHECK … NOT VALID route.",
  },
  "adding-serial-primary-key-field": {
    kind: "lock",
    safeRewrite: PRIMARY_KEY_ROUTE,
  },
  "adding-primary-key-constraint": { kind: "lock", safeRewrite: PRIMARY_KEY_ROUTE },
  "add-column-check": {
    kind: "lock",
    safeRewrite:
      "ALTER TABLE t ADD COLUMN col <type>; (instant) and ALTER TABLE t ADD CONSTRAINT t_col_check CHECK (...) NOT VALID; in this migration, " +
      "then ALTER TABLE t VALIDATE CONSTRAINT t_col_check; in the next migration (scans under SHARE UPDATE EXCLUSIVE: reads and writes continue).",
  },
  "adding-exclusion-constraint": {
    kind: "lock",
    safeRewrite:
      "There is no online form: PostgreSQL cannot add an EXCLUDE constraint NOT VALID or USING INDEX. Declare it when the table is created (empty), " +
      "or rehearse it at production size (friday migrate rehearse) and run it in a window where a write outage of that length is acceptable.",
  },
  "primary-key-using-index-nullable": {
    kind: "lock",
    safeRewrite:
      "Make the key columns NOT NULL first without a scan under ACCESS EXCLUSIVE: ADD CONSTRAINT t_id_not_null CHECK (id IS NOT NULL) NOT VALID; → next migration: " +
      "VALIDATE CONSTRAINT t_id_not_null; → next migration: ALTER COLUMN id SET NOT NULL; (instant with the validated check), then ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX t_pkey_idx;",
  },
  "ban-alter-domain-with-add-constraint": { kind: "lock", safeRewrite: "Add the check to the columns with CHECK … NOT VALID and VALIDATE it in a later migration." },
  "ban-concurrent-index-creation-in-transaction": {
    kind: "discipline",
    safeRewrite: "Put the CONCURRENTLY statement in its own file; the runner then runs it outside a transaction.",
  },
  "ban-drop-not-null": { kind: "compat", safeRewrite: "Keep NOT NULL until the code no longer relies on it; drop it in a contract migration." },
  "ban-drop-database": { kind: "compat", safeRewrite: "Never drop a database from a migration." },
  "ban-truncate-cascade": { kind: "compat", safeRewrite: "Delete the rows you mean explicitly, in batches." },
  "ban-char-field": { kind: "style", safeRewrite: "Use text (with a CHECK on length if needed)." },
  "prefer-text-field": { kind: "lock", safeRewrite: "Use text with a CHECK (length(col) <= n) constraint added NOT VALID; widening varchar later needs no rewrite but narrowing does." },
  "prefer-bigint-over-int": { kind: "style", safeRewrite: "Use bigint for ids and counters: growing an int column later rewrites the table." },
  "prefer-bigint-over-smallint": { kind: "style", safeRewrite: "Use bigint." },
  "prefer-identity": { kind: "style", safeRewrite: "Use bigint GENERATED ALWAYS AS IDENTITY instead of serial." },
  "prefer-timestamptz": { kind: "style", safeRewrite: "Use timestamptz." },
  "prefer-robust-stmts": { kind: "style", safeRewrite: "Use IF NOT EXISTS / IF EXISTS so the migration can be re-run." },
};

/** Squawk rules that friday's own phase-aware rules replace (squawk cannot know the phase or earlier files). */
export const SUPERSEDED_SQUAWK_RULES: Record<string, string> = {
  "ban-drop-column": "expand-drop",
  "ban-drop-table": "expand-drop",
  "renaming-column": "expand-rename",
  "renaming-table": "expand-rename",
  "changing-column-type": "expand-type-change",
  "adding-not-nullable-field": "expand-set-not-null",
};

/** A rule's verdict and rewrite; a squawk rule friday supersedes answers with friday's rule. */
export function ruleInfo(rule: string): RuleInfo {
  return RULES[SUPERSEDED_SQUAWK_RULES[rule] ?? rule] ?? { kind: "style", safeRewrite: `See https://squawkhq.com/docs/${rule}` };
}

/**
 * Rules whose safe rewrite applies to a statement, from its shape alone (no squawk, no files): the
 * rehearsal attaches these to a statement that blocked traffic over the budget.
 */
export function rewriteRulesFor(statementSql: string): string[] {
  const sql = statementSql.replace(/--[^\n]*/g, " ").replace(/\s+/g, " ").trim().toUpperCase();
  const rules: string[] = [];
  const add = (rule: string, when: boolean) => {
    if (when && !rules.includes(rule)) rules.push(rule);
  };
  add("require-concurrent-index-creation", /^CREATE (UNIQUE )?INDEX (?!CONCURRENTLY)/.test(sql));
  add("require-concurrent-index-deletion", /^DROP INDEX (?!CONCURRENTLY)/.test(sql));
  const alter = /^ALTER TABLE /.test(sql);
  const constraints = addedConstraints(statementSql);
  add("adding-foreign-key-constraint", constraints.some((c) => c.kind === "foreign-key" && scansToValidate(c)));
  add("constraint-missing-not-valid", constraints.some((c) => c.kind === "check" && !c.newColumn && scansToValidate(c)));
  add("add-column-check", constraints.some((c) => c.kind === "check" && c.newColumn !== undefined));
  add("disallowed-unique-constraint", constraints.some((c) => c.kind === "unique" && !c.usingIndex));
  add("adding-primary-key-constraint", constraints.some((c) => c.kind === "primary-key" && !c.usingIndex));
  add("adding-exclusion-constraint", constraints.some((c) => c.kind === "exclude"));
  add("expand-type-change", alter && /ALTER (COLUMN )?\S+ (SET DATA )?TYPE /.test(sql));
  add("expand-set-not-null", alter && /SET NOT NULL/.test(sql));
  add("adding-field-with-default", alter && /ADD (COLUMN )?.*DEFAULT .*\(/.test(sql) && /GEN_RANDOM_UUID|RANDOM\(|CLOCK_TIMESTAMP|UUID_GENERATE|TIMEOFDAY|NEXTVAL/.test(sql));
  add("unbatched-backfill", /^(UPDATE|DELETE FROM) /.test(sql));
  add("expand-rename", alter && / RENAME /.test(sql));
  return rules;
}
