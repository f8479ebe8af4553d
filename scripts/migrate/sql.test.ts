import { parseMigration } from "./files";
import { describeStatement, splitStatements } from "./sql";

describe("splitStatements", () => {
  it("splits on semicolons outside quotes, dollar quotes and comments, with each statement's first line", () => {
    const sql = [
      "-- header; not a statement",
      "CREATE TABLE a (v text DEFAULT 'x;y');",
      "/* block; comment */",
      "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $body$",
      "BEGIN NEW.v := 'a;b'; RETURN NEW; END",
      "$body$;",
      'SELECT ";" FROM a',
    ].join("\n");
    const statements = splitStatements(sql);
    expect(statements.map((s) => [s.line, s.endLine])).toEqual([
      [2, 2],
      [4, 6],
      [7, 7],
    ]);
    expect(statements[1].text).toContain("BEGIN NEW.v := 'a;b'; RETURN NEW; END");
  });
});

describe("describeStatement", () => {
  it("finds the locked tables, including a foreign key's parent and tables a DO block updates", () => {
    expect(describeStatement(`ALTER TABLE ONLY public."Orders" ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID`).tables).toEqual(["Orders", "users"]);
    expect(describeStatement("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON public.orders (x)")).toMatchObject({
      tables: ["orders"],
      nonTransactional: true,
      concurrentIndexName: "i",
    });
    expect(describeStatement("DO $$ BEGIN UPDATE users SET a = b WHERE id < 10; COMMIT; END $$").tables).toEqual(["users"]);
    expect(describeStatement("ALTER TABLE t ADD COLUMN x int").nonTransactional).toBe(false);
  });
});

describe("parseMigration", () => {
  it("reads the phase from the file name, the contract header, and whether it can run in a transaction", () => {
    const contract = parseMigration("0008_drop_users_name.contract.sql", "-- friday:contract-of 0006_users_full_name\nALTER TABLE users DROP COLUMN name;");
    expect(contract).toMatchObject({ id: "0008_drop_users_name", phase: "contract", contractOf: "0006_users_full_name", contractOfLine: 1, transactional: true });
    expect(parseMigration("0009_idx.expand.sql", "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (x);")).toMatchObject({ transactional: false });
    expect(parseMigration("0010_backfill.expand.sql", "-- friday:no-transaction\nDO $$ BEGIN NULL; END $$;")).toMatchObject({ transactional: false });
    expect(parseMigration("V1__init.sql", "SELECT 1")).toMatchObject({ rule: "file-name" });
  });
});
