import { Client } from "pg";
import { ident } from "./scrub-sql";

/**
 * Prewarms a database restored from a snapshot: RDS loads a restored volume's blocks from S3 the
 * first time they are read, so the first queries on a fresh restore are slow. Reading every table
 * once (a sequential scan of the heap, no index) pulls its blocks in before the app needs them.
 * Only reads: nothing is created, not even an extension.
 */
export async function prewarmDatabase(input: { databaseUrl: string; onTable?: (table: string, rows: number) => void }): Promise<{ tables: number; rows: number }> {
  const client = new Client({ connectionString: input.databaseUrl });
  await client.connect();
  try {
    await client.query("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
    await client.query("SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off");
    const { rows: tables } = await client.query<{ schema: string; name: string }>(
      `SELECT n.nspname AS schema, c.relname AS name
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
        ORDER BY pg_total_relation_size(c.oid) DESC, n.nspname, c.relname`,
    );
    let total = 0;
    for (const t of tables) {
      const qualified = `${ident(t.schema)}.${ident(t.name)}`;
      const { rows } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ONLY ${qualified}`);
      const count = Number(rows[0].n);
      total += count;
      input.onTable?.(`${t.schema}.${t.name}`, count);
    }
    return { tables: tables.length, rows: total };
  } finally {
    await client.end();
  }
}
