import { readFileSync } from "node:fs";
import { Client, ClientConfig } from "pg";

const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

/**
 * TLS settings from PGSSLMODE / PGSSLROOTCERT with libpq's meanings. node-postgres' own reading treats
 * every mode as "verify against Node's public CAs" and ignores PGSSLROOTCERT, which fails on RDS
 * (rds.force_ssl = 1, certificates from the RDS CA bundle).
 */
export function sslFromEnv(env: NodeJS.ProcessEnv, readFile: (path: string) => string = (p) => readFileSync(p, "utf8")): ClientConfig["ssl"] {
  const mode = env.PGSSLMODE;
  if (mode === undefined || mode === "") return undefined;
  if (!SSL_MODES.includes(mode)) throw new Error(`PGSSLMODE must be one of ${SSL_MODES.join(", ")} (got "${mode}").`);
  // node-postgres cannot fall back between TLS and plain text: these modes connect without TLS.
  if (mode === "disable" || mode === "allow" || mode === "prefer") return false;
  const ca = env.PGSSLROOTCERT ? readFile(env.PGSSLROOTCERT) : undefined;
  return {
    rejectUnauthorized: mode !== "require",
    ...(ca ? { ca } : {}),
    ...(mode === "verify-ca" ? { checkServerIdentity: () => undefined } : {}),
  };
}

/**
 * Opens a connection. With no URL, `pg` reads the standard libpq variables (PGHOST, PGPORT, PGUSER,
 * PGPASSWORD, PGDATABASE, PGSSLMODE): that is how the pipeline's CodeBuild project and the ECS task
 * hand over the RDS-managed secret without it ever appearing on a command line.
 */
export async function connect(databaseUrl: string | undefined, applicationName = "friday-migrate"): Promise<Client> {
  const config: ClientConfig = databaseUrl ? { connectionString: databaseUrl } : { ssl: sslFromEnv(process.env) };
  const client = new Client({ ...config, application_name: applicationName });
  // A dropped connection must not crash the process through an unhandled 'error' event.
  client.on("error", () => undefined);
  await client.connect();
  return client;
}

/** Runs `work` with a plain connected client (no libpq fallback, no application name), then closes it. */
export async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The URL of another database on the same server, e.g. a copy made with CREATE DATABASE … TEMPLATE. */
export function databaseUrlOn(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Size of a table as the database's own statistics see it (no full count: cheap on any size). */
export interface TableSize {
  readonly table: string;
  /** Estimated live rows (pg_class.reltuples, or pg_stat_user_tables.n_live_tup when never analysed). */
  readonly rows: number;
  /** Heap + indexes + TOAST, bytes (pg_total_relation_size). */
  readonly bytes: number;
}

/** Looks up sizes of the given tables (unqualified names, search_path schemas). Missing tables are absent from the map. */
export async function tableSizes(client: Client, tables: readonly string[]): Promise<Map<string, TableSize>> {
  const sizes = new Map<string, TableSize>();
  if (tables.length === 0) return sizes;
  const { rows } = await client.query<{ relname: string; reltuples: string; live: string | null; bytes: string }>(
    `SELECT c.relname, c.reltuples::bigint AS reltuples, s.n_live_tup AS live, pg_total_relation_size(c.oid) AS bytes
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
      WHERE c.relkind IN ('r', 'p') AND c.relname = ANY($1::text[])
        AND n.nspname = ANY(current_schemas(false))`,
    [tables],
  );
  for (const row of rows) {
    const estimated = Number(row.reltuples);
    const live = row.live === null ? 0 : Number(row.live);
    // reltuples is what VACUUM/ANALYZE measured; n_live_tup (flushed lazily) only for never-analysed tables.
    sizes.set(row.relname, { table: row.relname, rows: estimated >= 0 ? estimated : live, bytes: Number(row.bytes) });
  }
  return sizes;
}

/** "1.2M rows, 85 MB" */
export function formatSize(size: TableSize | undefined): string {
  if (!size) return "new table";
  return `${formatCount(size.rows)} rows, ${formatBytes(size.bytes)}`;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  return String(Math.round(n));
}

export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 10 || unit === 0 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

/** PostgreSQL error code of an error thrown by `pg`, if any. */
export function pgCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error ? String((error as { code: unknown }).code) : undefined;
}

export const LOCK_NOT_AVAILABLE = "55P03";
