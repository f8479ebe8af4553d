import { Client } from "pg";
import { quoteIdent } from "./sql";

/** Progress of a synthetic fill. */
export interface FillProgress {
  readonly table: string;
  readonly rows: number;
  readonly total: number;
  readonly rowsPerSecond: number;
}

interface ColumnInfo {
  name: string;
  type: string;
  typtype: string;
  notNull: boolean;
  skip: boolean;
  checkLiteral?: string;
  /** CHECK expressions that involve only this column (tried against candidate values). */
  checks: string[];
}

interface ForeignKey {
  column: string;
  parent: string;
}

async function columns(client: Client, table: string): Promise<ColumnInfo[]> {
  const { rows } = await client.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typtype, a.attnotnull AS not_null,
            (a.attidentity <> '' OR a.attgenerated <> '' OR a.atthasdef) AS skip,
            (SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
              WHERE c.conrelid = a.attrelid AND c.contype = 'c' AND a.attnum = ANY(c.conkey) LIMIT 1) AS check_def,
            ARRAY(SELECT pg_get_expr(c.conbin, c.conrelid) FROM pg_constraint c
              WHERE c.conrelid = a.attrelid AND c.contype = 'c' AND c.conkey = ARRAY[a.attnum]) AS checks
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [quoteIdent(table)],
  );
  return rows.map((r) => {
    const literal = r.check_def ? /'((?:[^']|'')*)'/.exec(r.check_def)?.[1] : undefined;
    return { name: r.name, type: r.type, typtype: r.typtype, notNull: r.not_null, skip: r.skip, checkLiteral: literal, checks: r.checks ?? [] };
  });
}

async function foreignKeys(client: Client, table: string): Promise<ForeignKey[]> {
  const { rows } = await client.query(
    `SELECT a.attname AS column, c.confrelid::regclass::text AS parent
       FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
      WHERE c.conrelid = to_regclass($1) AND c.contype = 'f' AND array_length(c.conkey, 1) = 1`,
    [quoteIdent(table)],
  );
  return rows.map((r) => ({ column: r.column, parent: r.parent.replace(/^"|"$/g, "") }));
}

/**
 * For a column with CHECK constraints of its own, the first candidate expression whose values for a
 * few rows satisfy them all (e.g. 'AA' for `country ~ '^[A-Z]{2}$'`); the first candidate when none do.
 */
async function satisfyChecks(client: Client, column: ColumnInfo, candidates: string[]): Promise<string> {
  if (column.checks.length === 0) return candidates[0];
  const condition = column.checks.map((c) => `coalesce((${c}), true)`).join(" AND ");
  for (const candidate of candidates) {
    try {
      const { rows } = await client.query(
        `SELECT bool_and(${condition}) AS ok FROM (SELECT ${candidate} AS ${quoteIdent(column.name)} FROM generate_series(1, 3) AS g) AS s`,
      );
      if (rows[0].ok) return candidate;
    } catch {
      // Not a valid value of this type: try the next one.
    }
  }
  return candidates[0];
}

/** SQL expression producing a value of the column's type for row number `g` (1-based). */
function valueFor(column: ColumnInfo, fk: ForeignKey | undefined, parentRows: number): string | undefined {
  const type = column.type.toLowerCase();
  if (fk) return `(1 + (g - 1) % ${Math.max(1, parentRows)})::${type}`;
  if (column.checkLiteral !== undefined && /text|char/.test(type)) return `'${column.checkLiteral}'::${type}`;
  if (column.typtype === "e") return `enum_first(NULL::${type})`;
  if (/^(bigint|integer|numeric|real|double precision)/.test(type)) return `g::${type}`;
  if (type === "smallint") return `(g % 32000)::smallint`;
  if (type === "boolean") return `(g % 2 = 0)`;
  if (/^(text|character varying|character)/.test(type)) {
    if (/email/.test(column.name)) return `('user' || g || '@example.com')::${type}`;
    return `('${column.name.slice(0, 4)}-' || g)::${type}`;
  }
  if (/^timestamp/.test(type)) return `(now() - g * interval '1 second')::${type}`;
  if (type === "date") return `(current_date - (g % 3650)::int)`;
  if (type === "uuid") return `gen_random_uuid()`;
  if (type === "jsonb" || type === "json") return `jsonb_build_object('n', g, 'kind', 'synthetic')::${type}`;
  if (type === "bytea") return `'\\x00'::bytea`;
  if (type === "inet") return `'10.0.0.1'::inet`;
  if (type.endsWith("[]")) return `'{}'::${type}`;
  if (!column.notNull) return "NULL";
  return undefined;
}

async function rowCount(client: Client, table: string): Promise<number> {
  const { rows } = await client.query(`SELECT count(*)::bigint AS n FROM ${quoteIdent(table)}`);
  return Number(rows[0].n);
}

/**
 * Fills empty tables with `rows` synthetic rows each (parents of foreign keys first), in batches with
 * progress, then VACUUM ANALYZE so the planner and the size statistics see them. Generic over column
 * types; a column it cannot generate a value for (NOT NULL of an unknown type without a default) is an
 * error naming the table and column.
 */
export async function fillTables(
  client: Client,
  tables: readonly string[],
  rows: number,
  options: { log?: (line: string) => void; onProgress?: (p: FillProgress) => void; batchSize?: number } = {},
): Promise<void> {
  const log = options.log ?? (() => undefined);
  const done = new Set<string>();
  const visiting = new Set<string>();
  const fill = async (table: string): Promise<void> => {
    if (done.has(table) || visiting.has(table)) return;
    visiting.add(table);
    const fks = await foreignKeys(client, table);
    const parentRows = new Map<string, number>();
    for (const fk of fks) {
      if (fk.parent !== table && (await rowCount(client, fk.parent)) === 0) await fill(fk.parent);
      parentRows.set(fk.parent, fk.parent === table ? 0 : await rowCount(client, fk.parent));
    }
    if ((await rowCount(client, table)) > 0) {
      done.add(table);
      return;
    }
    const cols = (await columns(client, table)).filter((c) => !c.skip);
    const exprs: { name: string; expr: string }[] = [];
    for (const c of cols) {
      const fk = fks.find((f) => f.column === c.name && f.parent !== table);
      const expr = fk && (parentRows.get(fk.parent) ?? 0) === 0 ? (c.notNull ? undefined : "NULL") : valueFor(c, fk, parentRows.get(fk?.parent ?? "") ?? 0);
      if (expr === undefined) {
        throw new Error(`Cannot generate synthetic rows for ${table}.${c.name} (${c.type}, NOT NULL, no default): give it a default or fill ${table} yourself before rehearsing.`);
      }
      const type = c.type.toLowerCase();
      const candidates = [expr, ...(/text|char/.test(type) ? ["'AA'", "'A'", "'a'", "'aa'", "'x-' || g"].map((v) => `(${v})::${type}`) : ["0", "1", "-1"].map((v) => `(${v})::${type}`))];
      exprs.push({ name: c.name, expr: fk ? expr : await satisfyChecks(client, c, candidates) });
    }
    const batch = options.batchSize ?? 250_000;
    const started = Date.now();
    for (let from = 1; from <= rows; from += batch) {
      const to = Math.min(rows, from + batch - 1);
      const colList = exprs.map((e) => quoteIdent(e.name)).join(", ");
      const sql =
        exprs.length > 0
          ? `INSERT INTO ${quoteIdent(table)} (${colList}) SELECT ${exprs.map((e) => e.expr).join(", ")} FROM generate_series(${from}, ${to}) AS g`
          : `INSERT INTO ${quoteIdent(table)} SELECT FROM generate_series(${from}, ${to}) AS g`;
      try {
        await client.query(sql);
      } catch (error) {
        throw new Error(
          `Cannot generate synthetic rows for ${table}: ${error instanceof Error ? error.message : String(error)}. ` +
            `Fill ${table} yourself before rehearsing (or rehearse against a restored, scrubbed snapshot with --database-url).`,
        );
      }
      const seconds = Math.max(0.001, (Date.now() - started) / 1000);
      const progress = { table, rows: to, total: rows, rowsPerSecond: Math.round(to / seconds) };
      options.onProgress?.(progress);
      log(`  filled ${table}: ${to.toLocaleString("en-US")}/${rows.toLocaleString("en-US")} rows (${progress.rowsPerSecond.toLocaleString("en-US")} rows/s)`);
    }
    await client.query(`VACUUM ANALYZE ${quoteIdent(table)}`);
    visiting.delete(table);
    done.add(table);
  };
  for (const table of tables) await fill(table);
}
