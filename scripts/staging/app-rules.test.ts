import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { createTestDatabase, TestDatabase } from "../../test/support/postgres";
import { ensureLedger } from "../migrate/apply";
import { checkRulesAgainstCatalog, readCatalog } from "./catalog";
import { ScrubPreflightError, scrubDatabase } from "./scrub";
import { loadScrubRules } from "./scrub-rules";
import { takeVerifySample, verifyScrub } from "./verify";

/**
 * The reference app's rules file against the schema its migrations build: every column of every
 * table must be classified (the scrub fails closed otherwise), so a migration that adds a column
 * without a rule fails here, in CI, not during the weekly refresh.
 */
const REPO = join(__dirname, "..", "..");
const MIGRATIONS = join(REPO, "app", "migrations");
const RULES = join(REPO, "app", "scrub-rules.yaml");
const KEY = "app-rules-test-key-0123456789-abcdefghijk";

describe("app/scrub-rules.yaml", () => {
  let db: TestDatabase;
  let client: Client;

  beforeAll(async () => {
    db = await createTestDatabase("app_rules");
    client = new Client({ connectionString: db.url });
    await client.connect();
    // Every migration, in order (expand and contract alike): the schema prod ends up with.
    for (const file of readdirSync(MIGRATIONS).filter((f) => f.endsWith(".sql")).sort()) {
      await client.query(readFileSync(join(MIGRATIONS, file), "utf8"));
    }
    await ensureLedger(client);
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it("classifies every column of every table the migrations create, with strategies that fit", async () => {
    const rules = loadScrubRules(RULES);
    const catalog = await readCatalog(client);
    expect(catalog.tables.size).toBeGreaterThanOrEqual(6);
    expect(checkRulesAgainstCatalog(rules, catalog)).toEqual([]);
  });

  it("scrubs a populated copy and verifies it", async () => {
    await client.query(`
      INSERT INTO users (email, full_name) VALUES ('Ana.Souza@example.com', 'Ana Souza'), ('bo@example.org', 'Bo Lindqvist');
      INSERT INTO addresses (user_id, line1, line2, city, postal_code, country) VALUES (1, '12 Rua Augusta', NULL, 'Lisboa', '1100-053', 'PT');
      INSERT INTO orders (user_id, shipping_address_id, total_cents) VALUES (1, 1, 1999), (2, NULL, 500);
      INSERT INTO payments (order_id, provider, provider_reference, amount_cents) VALUES (1, 'stripe', 'ch_3Nabc', 1999);
      INSERT INTO audit_log (actor_user_id, action, entity, entity_id, payload) VALUES (1, 'user.update', 'users', 1, '{"email": "Ana.Souza@example.com"}');`);
    const rules = loadScrubRules(RULES);
    const before = await takeVerifySample({ databaseUrl: db.url, rules });
    const summary = await scrubDatabase({ databaseUrl: db.url, rules, key: KEY });
    expect(summary.tables.filter((t) => t.action === "rewritten").map((t) => t.table)).toEqual(["public.addresses", "public.audit_log", "public.payments", "public.users"]);
    const report = await verifyScrub({ databaseUrl: db.url, rules, before });
    expect(report.problems).toEqual([]);
    const dump = JSON.stringify((await client.query(`SELECT u.*, a.*, p.*, l.payload FROM users u, addresses a, payments p, audit_log l`)).rows);
    for (const real of ["Ana.Souza", "Souza", "Lindqvist", "Rua Augusta", "Lisboa", "1100-053", "ch_3Nabc"]) expect(dump).not.toContain(real);
  });

  it("fails closed on a column a future migration adds without a rule", async () => {
    const scratch = await createTestDatabase("app_rules_new");
    const other = new Client({ connectionString: scratch.url });
    await other.connect();
    try {
      for (const file of readdirSync(MIGRATIONS).filter((f) => f.endsWith(".sql")).sort()) await other.query(readFileSync(join(MIGRATIONS, file), "utf8"));
      await ensureLedger(other);
      await other.query(`ALTER TABLE users ADD COLUMN phone text; INSERT INTO users (email, full_name, phone) VALUES ('c@example.com', 'C', '+351 912 345 678')`);
      const error = await scrubDatabase({ databaseUrl: scratch.url, rules: loadScrubRules(RULES), key: KEY }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ScrubPreflightError);
      expect((error as Error).message).toContain(`column public.users.phone (text) is not classified: add "phone: keep" or a masking strategy under public.users`);
      expect((await other.query(`SELECT email, phone FROM users`)).rows).toEqual([{ email: "c@example.com", phone: "+351 912 345 678" }]);
    } finally {
      await other.end();
      await scratch.drop();
    }
  });
});
