import { join } from "node:path";
import { createTestDatabase, TestDatabase } from "../../test/support/postgres";
import { applyMigrations } from "./apply";
import { fillTables } from "./fill";
import { withClient } from "./test-helpers";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase("migrate_fill");
  await applyMigrations({ databaseUrl: db.url, dir: join(__dirname, "..", "..", "app", "migrations"), phase: "expand" });
});
afterAll(() => db.drop());

describe("fillTables", () => {
  it("fills every table of the reference schema, parents first, satisfying its CHECK constraints and unique indexes", async () => {
    const progress: string[] = [];
    await withClient(db.url, (client) => fillTables(client, ["payments", "audit_log"], 300, { onProgress: (p) => progress.push(`${p.table}:${p.rows}`) }));
    const counts = await withClient(db.url, async (c) =>
      (await c.query(`SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM addresses) AS addresses, (SELECT count(*) FROM orders) AS orders,
                             (SELECT count(*) FROM payments) AS payments, (SELECT count(*) FROM audit_log) AS audit_log`)).rows[0],
    );
    expect(counts).toEqual({ users: "300", addresses: "300", orders: "300", payments: "300", audit_log: "300" });
    expect(progress).toEqual(["users:300", "addresses:300", "orders:300", "payments:300", "audit_log:300"]);
    const sample = await withClient(db.url, async (c) => (await c.query(`SELECT country FROM addresses LIMIT 1`)).rows[0]);
    expect(sample.country).toMatch(/^[A-Z]{2}$/);
  });

  it("names the table and the fix when a NOT NULL column of an unknown type cannot be generated", async () => {
    await withClient(db.url, async (c) => {
      await c.query(`CREATE TABLE odd (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, span int4range NOT NULL)`);
      await expect(fillTables(c, ["odd"], 10)).rejects.toThrow("Cannot generate synthetic rows for odd.span (int4range, NOT NULL, no default)");
    });
  });
});
