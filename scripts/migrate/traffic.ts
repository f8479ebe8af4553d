import { Client } from "pg";
import { connect } from "./db";
import { quoteIdent } from "./sql";

/** One synthetic query the traffic generator ran. */
export interface TrafficOp {
  readonly table: string;
  readonly kind: "read" | "write";
  readonly pid: number;
  /** ms since the epoch (performance-corrected wall clock). */
  readonly start: number;
  readonly end: number;
  readonly error?: string;
}

/** A table the generator can address by primary key. */
export interface TrafficTarget {
  readonly table: string;
  readonly pkColumn: string;
  /** Column the writers set to itself (not generated, not an identity, preferably not indexed); undefined → no writers. */
  readonly writeColumn?: string;
  /** Keys to pick from (a sample of existing primary keys). */
  readonly keys: readonly (string | number)[];
}

export interface TrafficOptions {
  readonly databaseUrl?: string;
  readonly targets: readonly TrafficTarget[];
  /** Reading connections per table. @default 2 */
  readonly readersPerTable?: number;
  /** Writing connections per table. @default 1 */
  readonly writersPerTable?: number;
  /** Pause between one connection's queries, ms (keeps a 2-core box responsive). @default 2 */
  readonly thinkMs?: number;
  /** statement_timeout for traffic queries, ms: long enough to see any realistic block. @default 120000 */
  readonly queryTimeoutMs?: number;
}

/** Running synthetic traffic: reads by primary key and no-op updates (SET col = col) that take the same locks real writes take. */
export interface Traffic {
  /** Backend pid → what that connection does. */
  readonly pids: Map<number, { table: string; kind: "read" | "write" }>;
  readonly ops: TrafficOp[];
  stop(): Promise<void>;
}

export const now = (): number => performance.timeOrigin + performance.now();

/** Finds each table's single-column primary key and samples up to `sample` keys. Tables without one (or empty) are skipped. */
export async function trafficTargets(client: Client, tables: readonly string[], sample = 2000, avoidColumns: readonly string[] = []): Promise<TrafficTarget[]> {
  const targets: TrafficTarget[] = [];
  for (const table of tables) {
    const pk = await client.query<{ column: string }>(
      `SELECT a.attname AS column FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = to_regclass($1) AND i.indisprimary AND i.indnatts = 1`,
      [quoteIdent(table)],
    );
    if (pk.rows.length === 0) continue;
    const column = pk.rows[0].column;
    const writable = await client.query<{ column: string }>(
      `SELECT a.attname AS column FROM pg_attribute a
        WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped AND a.attidentity = '' AND a.attgenerated = ''
          AND a.attname <> ALL($2::text[])
        ORDER BY EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND a.attnum = ANY(i.indkey)), a.attnum
        LIMIT 1`,
      [quoteIdent(table), avoidColumns],
    );
    const keys = await client.query(`SELECT ${quoteIdent(column)} AS k FROM ${quoteIdent(table)} TABLESAMPLE SYSTEM (1) LIMIT ${sample}`);
    let values = keys.rows.map((r) => r.k);
    if (values.length < 10) values = (await client.query(`SELECT ${quoteIdent(column)} AS k FROM ${quoteIdent(table)} LIMIT ${sample}`)).rows.map((r) => r.k);
    if (values.length === 0) continue;
    targets.push({ table, pkColumn: column, writeColumn: writable.rows[0]?.column, keys: values });
  }
  return targets;
}

/** Starts the connections and their query loops. */
export async function startTraffic(options: TrafficOptions): Promise<Traffic> {
  const pids = new Map<number, { table: string; kind: "read" | "write" }>();
  const ops: TrafficOp[] = [];
  const clients: Client[] = [];
  const loops: Promise<void>[] = [];
  let running = true;
  const think = options.thinkMs ?? 2;
  for (const target of options.targets) {
    const plan: ("read" | "write")[] = [
      ...Array.from({ length: options.readersPerTable ?? 2 }, () => "read" as const),
      ...Array.from({ length: options.writersPerTable ?? 1 }, () => "write" as const),
    ];
    for (const kind of plan.filter((k) => k === "read" || target.writeColumn)) {
      const client = await connect(options.databaseUrl, "friday-rehearse-traffic");
      clients.push(client);
      await client.query(`SET statement_timeout = ${options.queryTimeoutMs ?? 120_000}`);
      const pid = (await client.query(`SELECT pg_backend_pid() AS pid`)).rows[0].pid as number;
      pids.set(pid, { table: target.table, kind });
      const table = quoteIdent(target.table);
      const pk = quoteIdent(target.pkColumn);
      const sql = kind === "read" ? `SELECT * FROM ${table} WHERE ${pk} = $1` : `UPDATE ${table} SET ${quoteIdent(target.writeColumn!)} = ${quoteIdent(target.writeColumn!)} WHERE ${pk} = $1`;
      loops.push(
        (async () => {
          while (running) {
            const key = target.keys[Math.floor(Math.random() * target.keys.length)];
            const start = now();
            try {
              await client.query(sql, [key]);
              ops.push({ table: target.table, kind, pid, start, end: now() });
            } catch (error) {
              if (!running) break;
              ops.push({ table: target.table, kind, pid, start, end: now(), error: error instanceof Error ? error.message : String(error) });
            }
            if (think > 0) await new Promise((resolve) => setTimeout(resolve, think));
          }
        })(),
      );
    }
  }
  return {
    pids,
    ops,
    async stop() {
      running = false;
      await Promise.all(loops);
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    },
  };
}

/** p-th percentile (0..100) of a list of numbers; 0 for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}
