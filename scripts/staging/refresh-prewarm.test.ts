import { Client } from "pg";
import { createTestDatabase, TestDatabase } from "../../test/support/postgres";
import { prewarmDatabase } from "./refresh-prewarm";

describe("prewarmDatabase", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("prewarm");
    const client = new Client({ connectionString: db.url });
    await client.connect();
    await client.query(`
      CREATE SCHEMA billing;
      CREATE TABLE users (id bigint PRIMARY KEY, email text UNIQUE);
      INSERT INTO users SELECT g, 'u' || g || '@example.com' FROM generate_series(1, 250) g;
      CREATE TABLE billing."Payments" (id bigint PRIMARY KEY, user_id bigint REFERENCES users(id));
      INSERT INTO billing."Payments" SELECT g, 1 + g % 250 FROM generate_series(1, 40) g;
      CREATE MATERIALIZED VIEW user_count AS SELECT count(*) FROM users;
    `);
    await client.end();
  });
  afterAll(() => db.drop());

  it("reads every table (including quoted names in other schemas) and changes nothing", async () => {
    const seen: Record<string, number> = {};
    const result = await prewarmDatabase({ databaseUrl: db.url, onTable: (t, n) => (seen[t] = n) });
    expect(seen).toEqual({ "public.users": 250, 'billing.Payments': 40, "public.user_count": 1 });
    expect(result).toEqual({ tables: 3, rows: 291 });
    const client = new Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query("SELECT count(*)::int AS n FROM pg_extension WHERE extname <> 'plpgsql'");
    await client.end();
    expect(rows[0].n).toBe(0);
  });
});
