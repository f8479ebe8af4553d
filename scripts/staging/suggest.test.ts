import { Client } from "pg";
import { createTestDatabase, TestDatabase } from "../../test/support/postgres";
import { checkRulesAgainstCatalog, readCatalogAt } from "./catalog";
import { FIXTURE_SCHEMA_SQL, fillFixture } from "./scrub-fixture";
import { parseScrubRules } from "./scrub-rules";
import { suggestRules } from "./suggest";

describe("suggestRules", () => {
  let db: TestDatabase;
  let client: Client;
  let yaml: string;

  beforeAll(async () => {
    db = await createTestDatabase("suggest");
    client = new Client({ connectionString: db.url });
    await client.connect();
    await client.query(FIXTURE_SCHEMA_SQL);
    await fillFixture(client, 30);
    // A column whose name gives nothing away but whose values are emails.
    await client.query(`CREATE SCHEMA app; CREATE TABLE app.contacts (id int PRIMARY KEY, handle text, score int)`);
    await client.query(`INSERT INTO app.contacts SELECT g, 'person' || g || '@example.org', g FROM generate_series(1, 20) g`);
    yaml = await suggestRules({ databaseUrl: db.url });
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it("prints a valid rules file that classifies every column of every table", async () => {
    const rules = parseScrubRules(yaml, "suggested.yaml");
    const problems = checkRulesAgainstCatalog(rules, await readCatalogAt(db.url), { coverageOnly: true });
    expect(problems).toEqual([]);
    expect(Object.keys(rules.tables).sort()).toEqual([
      "app.contacts",
      "public.addresses",
      "public.audit_log",
      "public.newsletter_subscriptions",
      "public.orders",
      "public.payments",
      "public.sessions",
      "public.users",
    ]);
    expect(yaml).toMatch(/^# Scrub rules suggested by `friday staging rules --suggest`: REVIEW EVERY LINE/);
  });

  it("classifies by column name and by sampled values, and says why", () => {
    const line = (column: string, table: string) => {
      const block = yaml.split(/\n  (?=\S)/).find((b) => b.startsWith(`${table}:`)) ?? "";
      return block.split("\n").find((l) => l.trim().startsWith(`${column}:`))?.trim();
    };
    expect(line("email", "users")).toBe("email: email  # text; 100% of sampled values are emails");
    expect(line("full_name", "users")).toMatch(/^full_name: name  # text; name says a person's name/);
    expect(line("phone", "users")).toBe("phone: phone  # text; name says phone");
    expect(line("date_of_birth", "users")).toBe("date_of_birth: { strategy: shift, maxDays: 365 }  # date; name says date of birth");
    expect(line("password_hash", "users")).toBe(`password_hash: { strategy: fixed, value: "!" }  # text; name says credential`);
    expect(line("bio", "users")).toBe("bio: text  # text; name says free text");
    expect(line("signup_ip", "users")).toBe(`signup_ip: "null"  # inet; name says network identity`);
    expect(line("id", "users")).toBe("id: keep  # bigint; key, timestamp or code");
    expect(line("line1", "addresses")).toBe("line1: address  # text; name says street address");
    expect(line("postal_code", "addresses")).toBe("postal_code: { strategy: address, part: postcode }  # character varying(10); name says postcode");
    expect(line("contact_email", "orders")).toBe("contact_email: email  # text; 100% of sampled values are emails");
    expect(line("card_last4", "payments")).toBe(`card_last4: { strategy: fixed, value: "0000" }  # character(4); name says card digits`);
    expect(line("handle", "app.contacts")).toBe("handle: email  # text; 100% of sampled values are emails");
    expect(line("payload", "audit_log")).toMatch(
      /^payload: \{ strategy: json, paths: \{ actor\.email: email, actor\.ip: "null", changes\.full_name: name, changes\.phone: phone \} \}  # jsonb; personal keys found/,
    );
    expect(yaml).toContain("  sessions:  # consider truncate if staging does not need these rows");
  });
});
