import { startEmbeddedPostgres } from "../../scripts/lib/embedded-postgres";

/** One embedded PostgreSQL for the whole test run (initdb costs seconds); each test file makes its own database. */
export default async function globalSetup(): Promise<void> {
  const server = await startEmbeddedPostgres();
  (globalThis as { __fridayPostgres?: unknown }).__fridayPostgres = server;
  process.env.FRIDAY_TEST_POSTGRES_URL = server.url;
}
