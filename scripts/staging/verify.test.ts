import { Client } from "pg";
import { createTestDatabase, TestDatabase, withTestDatabase } from "../../test/support/postgres";
import { FIXTURE_RULES_YAML, FIXTURE_SCHEMA_SQL, fillFixture } from "./scrub-fixture";
import { parseScrubRules } from "./scrub-rules";
import { scrubDatabase } from "./scrub";
import { formatVerifyReport, takeVerifySample, VerifySample, verifyScrub } from "./verify";

const KEY = "verify-test-key-0123456789-abcdefghijklmnop";
const rules = parseScrubRules(FIXTURE_RULES_YAML, "fixture-rules.yaml");

describe("verifyScrub", () => {
  let db: TestDatabase;
  let client: Client;
  let sample: VerifySample;
  let original: { id: string; email: string; full_name: string; phone: string | null; bio: string };

  beforeAll(async () => {
    db = await createTestDatabase("verify");
    client = new Client({ connectionString: db.url });
    await client.connect();
    await client.query(FIXTURE_SCHEMA_SQL);
    await fillFixture(client, 24);
    original = (await client.query(`SELECT id::text, email, full_name, phone, bio FROM users WHERE id = 7`)).rows[0];
    sample = await takeVerifySample({ databaseUrl: db.url, rules, sampleSize: 500 });
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  /** Runs `mutate`, verifies, then undoes it (verify reads over its own connection, so the change must be committed). */
  async function verifyAfter(mutate: string, undo: string) {
    await client.query(mutate);
    try {
      return await verifyScrub({ databaseUrl: db.url, rules, before: sample });
    } finally {
      await client.query(undo);
    }
  }

  it("keeps only digests of personal values in the sample", () => {
    expect(sample.rowCounts).toMatchObject({ "public.users": 24, "public.sessions": 12, "public.orders": 48 });
    const json = JSON.stringify(sample);
    expect(json).not.toContain(original.email);
    expect(json).not.toContain(original.full_name);
    const emails = sample.values.find((v) => v.table === "public.users" && v.column === "email");
    expect(emails?.digests).toHaveLength(24);
    expect(emails?.keys).toContain("7");
    expect(sample.values.some((v) => v.column === "payload" && v.path === "actor.email")).toBe(true);
    expect(sample.constraints).toEqual(expect.arrayContaining(["public.newsletter_subscriptions.newsletter_subscriptions_email_fkey", "public.users.users_email_key"]));
  });

  it("fails on an unscrubbed database: not scrubbed, emails outside the domain, values equal to the sample", async () => {
    const report = await verifyScrub({ databaseUrl: db.url, rules, before: sample });
    expect(report.ok).toBe(false);
    expect(report.problems).toContain("scrub state: no friday_scrub.state table: this database was not scrubbed by friday staging scrub");
    expect(report.problems).toContain("masked values: public.users.email: 24 values do not look masked by email (e.g. an email outside the masking domain)");
    expect(report.problems).toContain("masked values: public.users.email: 24 rows still hold a value sampled before the scrub");
    expect(report.problems).toContain("row counts: public.sessions should be truncated but has 12 rows");
    expect(report.problems.join("\n")).not.toContain(original.email);
  });

  describe("after the scrub", () => {
    beforeAll(async () => {
      await scrubDatabase({ databaseUrl: db.url, rules, key: KEY });
    });

    it("passes", async () => {
      const report = await verifyScrub({ databaseUrl: db.url, rules, before: sample });
      expect(report.problems).toEqual([]);
      expect(formatVerifyReport(report)).toMatch(/^ok   coverage\n(.|\n)*verify passed in \d+\.\d s$/);
    });

    it("catches a real email put back (a leak), without printing it", async () => {
      const report = await verifyAfter(
        `UPDATE users SET email = '${original.email}' WHERE id = 7`,
        `UPDATE users SET email = (SELECT contact_email FROM orders WHERE user_id = 7 LIMIT 1) WHERE id = 7`,
      );
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual([
        "masked values: public.users.email: 1 values do not look masked by email (e.g. an email outside the masking domain)",
        "masked values: public.users.email: 1 rows still hold a value sampled before the scrub",
      ]);
      expect(formatVerifyReport(report)).not.toContain(original.email);
    });

    it("catches a text left as it was (same row, same value as before), a name not from the lists and a leak inside JSON", async () => {
      const report = await verifyAfter(
        `UPDATE users SET full_name = '${original.full_name.replace(/'/g, "''")}', bio = '${original.bio.replace(/'/g, "''")}' WHERE id = 7;
         UPDATE audit_log SET payload = jsonb_set(payload, '{changes,phone}', to_jsonb('${original.phone}'::text)) WHERE id = 3`,
        `UPDATE users SET full_name = (SELECT recipient_name FROM addresses WHERE id = 7), bio = rpad('', 64, 'lorem ipsum dolor sit amet ') WHERE id = 7;
         UPDATE audit_log SET payload = jsonb_set(payload, '{changes,phone}', to_jsonb((SELECT phone FROM users WHERE id = 3))) WHERE id = 3`,
      );
      expect(report.problems).toEqual([
        "masked values: public.audit_log.payload at changes.phone: 1 values do not look masked by phone (e.g. not the masked shape)",
        "masked values: public.users.full_name: 1 values do not look masked by name (e.g. not the masked shape)",
        "masked values: public.users.bio: 1 values do not look masked by text (e.g. not the masked shape)",
        "masked values: public.users.bio: 1 sampled rows still hold their value from before the scrub",
      ]);
    });

    it("does not take a name or city that maps onto itself for a leak (a pick from 64 does, one time in 64)", async () => {
      // A user whose real city is on the pseudonym list and happens to keep it: the same value in the same row.
      const report = await verifyAfter(
        `UPDATE addresses SET city = 'Marlow' WHERE id = 7; UPDATE users SET full_name = 'Ada Abbot' WHERE id = 7`,
        `UPDATE addresses SET city = (SELECT city FROM addresses WHERE id = 8) WHERE id = 7`,
      );
      expect(report.problems).toEqual([]);
    });

    it("catches an email anywhere in a masked JSON document (inside an array, in free text at a path the rules do not list)", async () => {
      const report = await verifyAfter(
        `UPDATE audit_log SET payload = payload || '{"cc": [{"email": "Jo.Real@Example.org"}]}'::jsonb WHERE id = 5;
         UPDATE audit_log SET payload = payload || '{"note": "mail ana@real.example.com"}'::jsonb WHERE id = 6`,
        `UPDATE audit_log SET payload = payload - 'cc' - 'note' WHERE id IN (5, 6)`,
      );
      expect(report.problems).toEqual([
        "masked values: public.audit_log.payload: 2 documents still hold an email outside the masking domain (at a path the rules do not list, or inside an array): add its path to the json rule",
      ]);
    });

    it("reports indexes a scrub dropped and did not build again", async () => {
      const report = await verifyAfter(
        `INSERT INTO friday_scrub.pending_indexes VALUES ('public.some_idx', 'public.orders', 'some_idx', 'CREATE INDEX some_idx ON public.orders (id)')`,
        `DELETE FROM friday_scrub.pending_indexes`,
      );
      expect(report.problems).toEqual(["scrub state: index public.orders.some_idx was dropped for the scrub and not built again: rerun the scrub to finish"]);
    });

    it("leaves no statistics on truncated tables, and catches them when they are there", async () => {
      expect((await client.query(`SELECT count(*)::int AS n FROM pg_stats WHERE tablename = 'sessions'`)).rows[0].n).toBe(0);
      const report = await verifyAfter(
        `INSERT INTO sessions VALUES ('00000000-0000-0000-0000-000000000001', 1, 'Mozilla/5.0 (real)', now()); ANALYZE sessions; DELETE FROM sessions`,
        `ALTER TABLE sessions ALTER COLUMN user_agent TYPE text USING user_agent, ALTER COLUMN id TYPE uuid USING id, ALTER COLUMN user_id TYPE bigint USING user_id, ALTER COLUMN expires_at TYPE timestamptz USING expires_at`,
      );
      expect(report.problems).toEqual(expect.arrayContaining(["truncated tables: public.sessions is truncated but still has statistics on user_agent (real values in pg_stats): rerun the scrub, or ALTER TABLE … ALTER COLUMN … TYPE <its own type> to clear them"]));
      expect((await client.query(`SELECT count(*)::int AS n FROM pg_stats WHERE tablename = 'sessions'`)).rows[0].n).toBe(0);
    });

    it("catches changed row counts, a truncated table with rows, a new unclassified column and a dropped foreign key", async () => {
      const report = await verifyAfter(
        `DELETE FROM payments WHERE id = 1;
         INSERT INTO sessions VALUES ('00000000-0000-0000-0000-000000000001', 1, 'ua', now());
         ALTER TABLE orders ADD COLUMN gift_message text;
         ALTER TABLE newsletter_subscriptions DROP CONSTRAINT newsletter_subscriptions_email_fkey`,
        `INSERT INTO payments (id, order_id, provider, provider_reference, amount_cents) OVERRIDING SYSTEM VALUE VALUES (1, 1, 'x', 'y', 1);
         DELETE FROM sessions; ALTER TABLE orders DROP COLUMN gift_message;
         ALTER TABLE newsletter_subscriptions ADD CONSTRAINT newsletter_subscriptions_email_fkey FOREIGN KEY (email) REFERENCES users (email)`,
      );
      expect(report.problems).toEqual(
        expect.arrayContaining([
          `coverage: column public.orders.gift_message (text) is not classified: add "gift_message: keep" or a masking strategy under public.orders`,
          "row counts: public.payments had 48 rows before the scrub and has 47 now",
          "row counts: public.sessions should be truncated but has 1 rows",
          "foreign keys: public.newsletter_subscriptions.newsletter_subscriptions_email_fkey existed before the scrub and is gone",
        ]),
      );
      expect(report.problems).toHaveLength(4);
    });
  });
});

describe("verifyScrub on other rules", () => {
  it("catches emails an sql expression leaves in place, and passes ones it moves into the masking domain", async () => {
    await withTestDatabase("verify_sql", async (client, url) => {
      await client.query(`CREATE TABLE contacts (id int PRIMARY KEY, a text, b text);
        INSERT INTO contacts VALUES (1, 'bob@real.com', 'bob@scrubbed.invalid'), (2, NULL, 'x')`);
      const sqlRules = parseScrubRules(
        `version: 1
emailDomain: scrubbed.invalid
tables:
  contacts:
    id: keep
    a: { strategy: sql, expression: "lower(a)" }
    b: { strategy: sql, expression: "b" }
`,
        "sql.yaml",
      );
      const report = await verifyScrub({ databaseUrl: url, rules: sqlRules, requireState: false });
      expect(report.problems).toEqual(["masked values: public.contacts.a: 1 values written by its sql expression still look like emails outside the masking domain: mask them (e.g. use email)"]);
    });
  });

  it("passes a scrub with fixed values of other types and a null path in a json (not jsonb) column", async () => {
    await withTestDatabase("verify_types", async (client, url) => {
      await client.query(`CREATE TABLE charges (id int PRIMARY KEY, amount numeric(10,2), at timestamptz, doc json);
        INSERT INTO charges VALUES (1, 12.5, now(), '{"ip": "10.0.0.1", "k": 1}'), (2, 3, now(), '{"k": 2}')`);
      const typeRules = parseScrubRules(
        `version: 1
tables:
  charges:
    id: keep
    amount: { strategy: fixed, value: 0 }
    at: { strategy: fixed, value: "2000-01-01" }
    doc: { strategy: json, paths: { ip: "null" } }
`,
        "types.yaml",
      );
      await scrubDatabase({ databaseUrl: url, rules: typeRules, key: KEY });
      const report = await verifyScrub({ databaseUrl: url, rules: typeRules });
      expect(report.problems).toEqual([]);
    });
  });
});
