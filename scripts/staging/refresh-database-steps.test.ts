import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { createTestDatabase, TestDatabase } from "../../test/support/postgres";
import { databaseStepsForRefresh } from "./refresh-database-steps";
import { fillFixture, FIXTURE_RULES_YAML, FIXTURE_SCHEMA_SQL } from "./scrub-fixture";

/** The real steps the CLI hands the orchestrator, in the orchestrator's order, on real PostgreSQL. */
describe("databaseStepsForRefresh", () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await createTestDatabase("refresh_steps");
    const client = new Client({ connectionString: db.url });
    await client.connect();
    await client.query(FIXTURE_SCHEMA_SQL);
    await fillFixture(client, 40);
    await client.end();
    dir = mkdtempSync(join(tmpdir(), "friday-refresh-"));
    writeFileSync(join(dir, "scrub-rules.yaml"), FIXTURE_RULES_YAML);
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  });

  async function emails(): Promise<string[]> {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query("SELECT email FROM users ORDER BY id LIMIT 5");
    await client.end();
    return rows.map((r) => r.email);
  }

  it("loads the rules, samples, scrubs, verifies and prewarms", async () => {
    const steps = databaseStepsForRefresh();
    const rules = await steps.loadRules(join(dir, "scrub-rules.yaml"));
    const before = await steps.takeSample({ databaseUrl: db.url, rules });
    const original = await emails();
    const progress: unknown[] = [];
    await steps.scrub({ databaseUrl: db.url, rules, key: "k".repeat(64), concurrency: 2, onProgress: (p) => progress.push(p) });
    expect(progress.length).toBeGreaterThan(0);
    const scrubbed = await emails();
    expect(scrubbed).toHaveLength(original.length);
    for (const [i, email] of scrubbed.entries()) expect(email).not.toBe(original[i]);
    await expect(steps.verify({ databaseUrl: db.url, rules, before })).resolves.toEqual({ ok: true, problems: [] });
    const warm = await steps.prewarm({ databaseUrl: db.url });
    expect(warm.tables).toBeGreaterThanOrEqual(5);
  });

  it("fails on a rules file that does not exist, naming it", async () => {
    await expect(databaseStepsForRefresh().loadRules(join(dir, "missing.yaml"))).rejects.toThrow(/missing\.yaml/);
  });
});
