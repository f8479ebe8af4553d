import { readFileSync } from "node:fs";
import { Pool, type PoolConfig } from "pg";

/**
 * The database the app talks to, from the libpq variables ECS injects: PGHOST, PGPORT, PGDATABASE,
 * PGUSER from the task definition's environment, PGPASSWORD from the RDS-managed secret through ECS
 * `secrets` (`<secret ARN>:password::`), PGSSLMODE (`verify-full` on RDS, whose parameter group
 * forces SSL), and PGSSLROOTCERT (the RDS CA bundle baked into the image).
 *
 * The config is built explicitly rather than left to node-postgres' own environment reading, which
 * treats every sslmode from `prefer` up as "verify against Node's public CAs" and ignores PGSSLROOTCERT.
 */

/** SSL modes as libpq names them. */
export const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;

/** Builds the pool config; throws one message naming the variable and the fix. */
export function databaseConfigFromEnv(env: NodeJS.ProcessEnv, readFile: (path: string) => string = (p) => readFileSync(p, "utf8")): PoolConfig {
  const missing = ["PGHOST", "PGDATABASE", "PGUSER"].filter((key) => !env[key]);
  if (missing.length > 0) {
    throw new Error(`app: ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not set. The task definition must set PGHOST, PGPORT, PGDATABASE, PGUSER and PGSSLMODE, and PGPASSWORD from the database secret.`);
  }
  const port = env.PGPORT ? Number(env.PGPORT) : 5432;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`app: PGPORT must be a port number (got "${env.PGPORT}").`);
  const sslmode = (env.PGSSLMODE ?? "prefer") as (typeof SSL_MODES)[number];
  if (!SSL_MODES.includes(sslmode)) throw new Error(`app: PGSSLMODE must be one of ${SSL_MODES.join(", ")} (got "${env.PGSSLMODE}").`);

  let ssl: PoolConfig["ssl"];
  if (sslmode === "disable" || sslmode === "allow" || sslmode === "prefer") {
    // node-postgres cannot fall back between TLS and plain text: these modes connect without TLS.
    ssl = false;
  } else {
    const ca = env.PGSSLROOTCERT ? readFile(env.PGSSLROOTCERT) : undefined;
    ssl = {
      // require: encrypted, not verified (libpq's meaning). verify-ca / verify-full: verified.
      rejectUnauthorized: sslmode !== "require",
      ...(ca ? { ca } : {}),
      // verify-ca checks the chain only, not the host name.
      ...(sslmode === "verify-ca" ? { checkServerIdentity: () => undefined } : {}),
    };
  }
  return {
    host: env.PGHOST,
    port,
    database: env.PGDATABASE,
    user: env.PGUSER,
    password: env.PGPASSWORD,
    ssl,
    application_name: "friday-app",
    max: Number(env.PGPOOL_MAX ?? 10),
    // A health check must answer before the ALB gives up on it (its timeout is 5 s).
    connectionTimeoutMillis: 2000,
    query_timeout: 2000,
    idleTimeoutMillis: 30_000,
  };
}

/** What the server needs from the database. */
export interface Database {
  /** Resolves when the database answers `SELECT 1`; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A pg pool behind the Database interface. Idle-client errors are logged, never fatal. */
export function createDatabase(config: PoolConfig, log: (entry: Record<string, unknown>) => void): Database {
  const pool = new Pool(config);
  pool.on("error", (error) => log({ level: "warn", event: "db-idle-client-error", error: error.message }));
  let closed = false;
  return {
    async ping() {
      await pool.query("SELECT 1");
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
