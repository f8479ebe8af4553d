import type { EmbeddedPostgresServer } from "../../scripts/lib/embedded-postgres";

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { __fridayPostgres?: EmbeddedPostgresServer }).__fridayPostgres;
  await server?.stop();
}
