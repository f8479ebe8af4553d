/**
 * npm run bench:migrations [-- --rows 1000000 | --ten-million] [--budget 500] [--only <pattern>[,<pattern>…]]
 *
 * For each dangerous migration pattern and its safe rewrite, at production-like size: how long the
 * statement ran and how long concurrent traffic (reads and writes by primary key on the touched
 * tables) was blocked, measured by the same rehearsal `friday migrate rehearse` runs. Each variant
 * runs on a fresh copy (CREATE DATABASE … TEMPLATE) of one filled database, on an embedded
 * PostgreSQL at the RDS engine's major version. Prints a Markdown table for docs/benchmarks.md.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem, tmpdir } from "node:os";
import { join } from "node:path";
import { startEmbeddedPostgres } from "../scripts/lib/embedded-postgres";
import { databaseUrlOn, withClient } from "../scripts/migrate/db";
import { loadMigrations } from "../scripts/migrate/files";
import { rehearseMigrations, StatementMeasurement } from "../scripts/migrate/rehearse";

interface Variant {
  readonly label: string;
  readonly files: Record<string, string>;
}

interface Pattern {
  readonly name: string;
  readonly dangerous: Variant;
  readonly safe: Variant;
}

const BATCHED = (set: string, where: string) => `-- friday:no-transaction
DO $$
DECLARE last_id bigint := 0; max_id bigint;
BEGIN
  SELECT coalesce(max(id), 0) INTO max_id FROM orders;
  WHILE last_id < max_id LOOP
    UPDATE orders SET ${set} WHERE id > last_id AND id <= last_id + 10000 AND ${where};
    last_id := last_id + 10000;
    COMMIT;
  END LOOP;
END $$;`;

const PATTERNS: Pattern[] = [
  {
    name: "add an index",
    dangerous: { label: "CREATE INDEX", files: { "0001_idx.expand.sql": "CREATE INDEX orders_status_idx ON orders (status);" } },
    safe: { label: "CREATE INDEX CONCURRENTLY", files: { "0001_idx.expand.sql": "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_status_idx ON orders (status);" } },
  },
  {
    name: "add a foreign key",
    dangerous: { label: "ADD FOREIGN KEY", files: { "0001_fk.expand.sql": "ALTER TABLE orders ADD CONSTRAINT orders_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id);" } },
    safe: {
      label: "NOT VALID, then VALIDATE",
      files: {
        "0001_fk.expand.sql": "ALTER TABLE orders ADD CONSTRAINT orders_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID;",
        "0002_fk_validate.expand.sql": "ALTER TABLE orders VALIDATE CONSTRAINT orders_account_fk;",
      },
    },
  },
  {
    name: "add a CHECK constraint",
    dangerous: { label: "ADD CHECK", files: { "0001_check.expand.sql": "ALTER TABLE orders ADD CONSTRAINT orders_total_non_negative CHECK (total_cents >= 0);" } },
    safe: {
      label: "NOT VALID, then VALIDATE",
      files: {
        "0001_check.expand.sql": "ALTER TABLE orders ADD CONSTRAINT orders_total_non_negative CHECK (total_cents >= 0) NOT VALID;",
        "0002_check_validate.expand.sql": "ALTER TABLE orders VALIDATE CONSTRAINT orders_total_non_negative;",
      },
    },
  },
  {
    name: "add NOT NULL",
    dangerous: { label: "SET NOT NULL", files: { "0001_nn.expand.sql": "ALTER TABLE orders ALTER COLUMN note SET NOT NULL;" } },
    safe: {
      label: "CHECK NOT VALID, VALIDATE, SET NOT NULL",
      files: {
        "0001_nn.expand.sql": "ALTER TABLE orders ADD CONSTRAINT orders_note_not_null CHECK (note IS NOT NULL) NOT VALID;",
        "0002_nn_validate.expand.sql": "ALTER TABLE orders VALIDATE CONSTRAINT orders_note_not_null;",
        "0003_nn_set.expand.sql": "ALTER TABLE orders ALTER COLUMN note SET NOT NULL;\nALTER TABLE orders DROP CONSTRAINT orders_note_not_null;",
      },
    },
  },
  {
    name: "add a unique constraint",
    dangerous: { label: "ADD UNIQUE", files: { "0001_unique.expand.sql": "ALTER TABLE orders ADD CONSTRAINT orders_reference_key UNIQUE (reference);" } },
    safe: {
      label: "UNIQUE INDEX CONCURRENTLY, then USING INDEX",
      files: {
        "0001_unique.expand.sql": "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS orders_reference_key ON orders (reference);",
        "0002_unique_constraint.expand.sql": "ALTER TABLE orders ADD CONSTRAINT orders_reference_key UNIQUE USING INDEX orders_reference_key;",
      },
    },
  },
  {
    name: "validate in the same transaction",
    dangerous: {
      label: "NOT VALID + VALIDATE in one file",
      files: {
        "0001_fk.expand.sql":
          "ALTER TABLE orders ADD CONSTRAINT orders_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_account_fk;",
      },
    },
    safe: {
      label: "VALIDATE in the next file",
      files: {
        "0001_fk.expand.sql": "ALTER TABLE orders ADD CONSTRAINT orders_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id) NOT VALID;",
        "0002_fk_validate.expand.sql": "ALTER TABLE orders VALIDATE CONSTRAINT orders_account_fk;",
      },
    },
  },
  {
    name: "add a foreign key on a new column",
    dangerous: { label: "ADD COLUMN … DEFAULT 1 REFERENCES", files: { "0001_fk.expand.sql": "ALTER TABLE orders ADD COLUMN owner_id bigint DEFAULT 1 REFERENCES accounts (id);" } },
    safe: { label: "ADD COLUMN … REFERENCES (no default: all NULL)", files: { "0001_fk.expand.sql": "ALTER TABLE orders ADD COLUMN owner_id bigint REFERENCES accounts (id);" } },
  },
  {
    name: "add a CHECK on a new column",
    dangerous: { label: "ADD COLUMN … CHECK", files: { "0001_check.expand.sql": "ALTER TABLE orders ADD COLUMN weight integer CHECK (weight > 0);" } },
    safe: {
      label: "ADD COLUMN, CHECK NOT VALID, then VALIDATE",
      files: {
        "0001_check.expand.sql": "ALTER TABLE orders ADD COLUMN weight integer;\nALTER TABLE orders ADD CONSTRAINT orders_weight_positive CHECK (weight > 0) NOT VALID;",
        "0002_check_validate.expand.sql": "ALTER TABLE orders VALIDATE CONSTRAINT orders_weight_positive;",
      },
    },
  },
  {
    // shipments has no primary key yet, so the traffic generator (which addresses rows by primary
    // key) leaves it alone: read "statement ran" as how long the ACCESS EXCLUSIVE lock is held.
    name: "add a primary key (shipments, no traffic)",
    dangerous: { label: "ADD PRIMARY KEY", files: { "0001_pkey.expand.sql": "ALTER TABLE shipments ADD CONSTRAINT shipments_pkey PRIMARY KEY (id);" } },
    safe: {
      label: "UNIQUE INDEX CONCURRENTLY, then USING INDEX",
      files: {
        "0001_pkey.expand.sql": "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS shipments_pkey_idx ON shipments (id);",
        "0002_pkey_constraint.expand.sql": "ALTER TABLE shipments ADD CONSTRAINT shipments_pkey PRIMARY KEY USING INDEX shipments_pkey_idx;",
      },
    },
  },
  {
    name: "primary key USING INDEX on a nullable column (shipments, no traffic)",
    dangerous: {
      label: "USING INDEX on nullable ref",
      files: {
        "0001_pkey.expand.sql": "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS shipments_ref_idx ON shipments (ref);",
        "0002_pkey_constraint.expand.sql": "ALTER TABLE shipments ADD CONSTRAINT shipments_pkey PRIMARY KEY USING INDEX shipments_ref_idx;",
      },
    },
    safe: {
      label: "NOT NULL by validated CHECK first",
      files: {
        "0001_pkey.expand.sql": "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS shipments_ref_idx ON shipments (ref);",
        "0002_ref_check.expand.sql": "ALTER TABLE shipments ADD CONSTRAINT shipments_ref_not_null CHECK (ref IS NOT NULL) NOT VALID;",
        "0003_ref_validate.expand.sql": "ALTER TABLE shipments VALIDATE CONSTRAINT shipments_ref_not_null;",
        "0004_ref_required.expand.sql": "ALTER TABLE shipments ALTER COLUMN ref SET NOT NULL;",
        "0005_pkey_constraint.expand.sql": "ALTER TABLE shipments ADD CONSTRAINT shipments_pkey PRIMARY KEY USING INDEX shipments_ref_idx;",
      },
    },
  },
  {
    name: "change a column type (int → bigint)",
    dangerous: { label: "ALTER COLUMN TYPE", files: { "0001_type.expand.sql": "ALTER TABLE orders ALTER COLUMN total_cents TYPE bigint;" } },
    safe: {
      label: "new column + batched backfill",
      files: {
        "0001_type.expand.sql": "ALTER TABLE orders ADD COLUMN total_cents_v2 bigint;",
        "0002_type_backfill.expand.sql": BATCHED("total_cents_v2 = total_cents", "total_cents_v2 IS NULL"),
      },
    },
  },
  {
    name: "add a column with a volatile default",
    dangerous: { label: "ADD COLUMN … DEFAULT gen_random_uuid()", files: { "0001_token.expand.sql": "ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid();" } },
    safe: {
      label: "ADD COLUMN, then SET DEFAULT (new rows)",
      files: { "0001_token.expand.sql": "ALTER TABLE orders ADD COLUMN token uuid;\nALTER TABLE orders ALTER COLUMN token SET DEFAULT gen_random_uuid();" },
    },
  },
  {
    name: "backfill a column",
    dangerous: { label: "one UPDATE", files: { "0001_backfill.expand.sql": "UPDATE orders SET note = upper(note);" } },
    safe: { label: "batches of 10,000, COMMIT each", files: { "0001_backfill.expand.sql": BATCHED("note = upper(note)", "note <> upper(note)") } },
  },
];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

const log = (line: string) => process.stderr.write(`${line}\n`);

async function query(url: string, sql: string): Promise<void> {
  await withClient(url, (client) => client.query(sql));
}

async function buildBase(serverUrl: string, rows: number): Promise<void> {
  await query(serverUrl, "CREATE DATABASE bench_base");
  const accounts = Math.max(1000, Math.floor(rows / 100));
  await withClient(databaseUrlOn(serverUrl, "bench_base"), async (client) => {
    await client.query(`CREATE TABLE accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
      CREATE TABLE orders (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id bigint NOT NULL,
        status text NOT NULL,
        total_cents integer NOT NULL,
        reference text,
        note text,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX orders_account_id_idx ON orders (account_id);
      CREATE TABLE shipments (id bigint NOT NULL, ref text);`);
    await client.query(`INSERT INTO accounts (name) SELECT 'account ' || g FROM generate_series(1, ${accounts}) g`);
    const batch = 500_000;
    const started = Date.now();
    for (let from = 1; from <= rows; from += batch) {
      const to = Math.min(rows, from + batch - 1);
      await client.query(
        `INSERT INTO orders (account_id, status, total_cents, reference, note)
         SELECT 1 + g % ${accounts}, (ARRAY['pending', 'paid', 'shipped'])[1 + g % 3], g % 100000, 'ref-' || g, 'note ' || g
           FROM generate_series(${from}, ${to}) g`,
      );
      const rate = Math.round(to / Math.max(0.001, (Date.now() - started) / 1000));
      log(`  filled orders: ${to.toLocaleString("en-US")}/${rows.toLocaleString("en-US")} rows (${rate.toLocaleString("en-US")} rows/s)`);
    }
    await client.query(`INSERT INTO shipments (id, ref) SELECT g, 'ship-' || g FROM generate_series(1, ${rows}) g`);
    log(`  filled shipments: ${rows.toLocaleString("en-US")} rows`);
    await client.query("VACUUM ANALYZE shipments");
    await client.query("VACUUM ANALYZE accounts");
    await client.query("VACUUM ANALYZE orders");
    const size = await client.query(`SELECT pg_size_pretty(pg_total_relation_size('orders')) AS s`);
    log(`base database ready: orders ${rows.toLocaleString("en-US")} rows, ${size.rows[0].s}; accounts ${accounts.toLocaleString("en-US")} rows`);
  });
}

interface Row {
  pattern: string;
  variant: string;
  kind: "dangerous" | "safe";
  statements: StatementMeasurement[];
  ok: boolean;
}

async function runVariant(serverUrl: string, pattern: Pattern, kind: "dangerous" | "safe", budgetMs: number, n: number): Promise<Row> {
  const variant = pattern[kind];
  const name = `bench_case_${n}`;
  await query(serverUrl, `CREATE DATABASE ${name} TEMPLATE bench_base`);
  const dir = mkdtempSync(join(tmpdir(), "friday-bench-migrations-"));
  try {
    for (const [file, sql] of Object.entries(variant.files)) writeFileSync(join(dir, file), sql);
    const url = databaseUrlOn(serverUrl, name);
    const started = Date.now();
    const result = await rehearseMigrations({ databaseUrl: url, folder: loadMigrations(dir), budgetMs, createPrewarmExtension: true, statementTimeoutMs: 3_600_000 });
    log(`  ${pattern.name} / ${variant.label}: ${result.ok ? "within budget" : "OVER BUDGET"} (${Math.round((Date.now() - started) / 1000)} s)`);
    for (const s of result.statements) {
      log(`    ${s.statement}: ran ${fmt(s.durationMs)}, traffic blocked ${fmt(s.longestBlockMs)} (${s.blocked.join(", ") || "nothing"}), p99 ${fmt(s.traffic.p99Ms)}, slowest ${fmt(s.traffic.maxMs)}`);
    }
    return { pattern: pattern.name, variant: variant.label, kind, statements: result.statements, ok: result.ok };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await query(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

function fmt(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms).toLocaleString("en-US")} ms`;
}

async function main(): Promise<void> {
  const rows = process.argv.includes("--ten-million") ? 10_000_000 : Number(arg("--rows") ?? 1_000_000);
  const budgetMs = Number(arg("--budget") ?? 500);
  const only = arg("--only");
  if (!Number.isInteger(rows) || rows < 1000) throw new Error(`--rows must be a whole number >= 1000 (got ${arg("--rows")}).`);
  log(`bench:migrations — ${rows.toLocaleString("en-US")} rows, budget ${budgetMs} ms, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
  const server = await startEmbeddedPostgres();
  log(`embedded PostgreSQL ${server.majorVersion} started`);
  const results: Row[] = [];
  try {
    await buildBase(server.url, rows);
    let n = 0;
    for (const pattern of PATTERNS) {
      if (only && !only.split(",").some((o) => pattern.name.includes(o.trim()))) continue;
      for (const kind of ["dangerous", "safe"] as const) results.push(await runVariant(server.url, pattern, kind, budgetMs, n++));
    }
  } finally {
    await server.stop();
  }
  const lines = [
    `| pattern | variant | statement | statement ran | traffic blocked (longest) | blocked | traffic p99 / slowest query | verdict (budget ${budgetMs} ms) |`,
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    for (const [i, s] of r.statements.entries()) {
      lines.push(
        `| ${i === 0 ? r.pattern : ""} | ${i === 0 ? `${r.kind === "dangerous" ? "⚠ " : "✓ "}${r.variant}` : ""} | \`${s.statement.replace(/\|/g, "\\|")}\` | ${fmt(s.durationMs)} | ${fmt(s.longestBlockMs)} | ${s.blocked.join(", ") || "nothing"} | ${fmt(s.traffic.p99Ms)} / ${fmt(s.traffic.maxMs)} | ${s.overBudget ? "**FAIL**" : "pass"} |`,
      );
    }
  }
  process.stdout.write(`\n${rows.toLocaleString("en-US")} rows in orders:\n\n${lines.join("\n")}\n`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
