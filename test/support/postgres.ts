import { randomBytes } from "node:crypto";
import { Client } from "pg";

/** A database of its own for one test file, on the run's embedded PostgreSQL. */
export interface TestDatabase {
  /** Connection string for this database. */
  readonly url: string;
  /** Drops the database (terminating any connection left open). */
  drop(): Promise<void>;
}

function serverUrl(): string {
  const url = process.env.FRIDAY_TEST_POSTGRES_URL;
  if (!url) throw new Error("FRIDAY_TEST_POSTGRES_URL is not set: run the tests through jest (its globalSetup starts PostgreSQL).");
  return url;
}

/** Creates a fresh, empty database named `<prefix>_<random>`. */
export async function createTestDatabase(prefix = "t"): Promise<TestDatabase> {
  const name = `${prefix.replace(/[^a-z0-9_]/gi, "_").toLowerCase()}_${randomBytes(4).toString("hex")}`;
  const admin = new Client({ connectionString: serverUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new Client({ connectionString: serverUrl() });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** Runs `work` on a fresh database with a connected client; closes and drops both however it ends. */
export async function withTestDatabase<T>(prefix: string, work: (client: Client, url: string) => Promise<T>): Promise<T> {
  const db = await createTestDatabase(prefix);
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    return await work(client, db.url);
  } finally {
    await client.end();
    await db.drop();
  }
}
