import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "pg";
import { createTestDatabase, TestDatabase } from "../../test/support/postgres";
import { buildCli } from "../cli";
import { ADVISORY_LOCK_KEY, applyMigrations, backoffDelay, DEFAULT_RETRY, MigrationError, migrationStatus, readLedger } from "./apply";
import { captureCli, tempMigrations, withClient } from "./test-helpers";

let db: TestDatabase;
let folder: ReturnType<typeof tempMigrations>;

beforeEach(async () => {
  db = await createTestDatabase("migrate_apply");
  folder = tempMigrations();
});
afterEach(async () => {
  await db.drop();
  folder.cleanup();
});


async function columns(table: string): Promise<string[]> {
  return withClient(db.url, async (c) => (await c.query(`SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, [table])).rows.map((r) => r.column_name));
}

async function expectRejection(promise: Promise<unknown>): Promise<MigrationError> {
  const error = await promise.then(
    () => undefined,
    (e) => e,
  );
  expect(error).toBeInstanceOf(MigrationError);
  return error as MigrationError;
}

describe("backoffDelay", () => {
  it("doubles from the base, caps, and jitters within the upper half", () => {
    const policy = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(1, policy, () => 0)).toBe(50);
    expect(backoffDelay(1, policy, () => 1)).toBe(100);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(300);
    expect(backoffDelay(10, policy, () => 1)).toBe(1000);
    expect(backoffDelay(10, policy, () => 0)).toBe(500);
  });
});

describe("migrate up", () => {
  it("applies only the requested phase, in file order, and records checksum and release in the ledger", async () => {
    folder.write({
      "0001_accounts.expand.sql": "CREATE TABLE accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);",
      "0002_accounts_label.expand.sql": "ALTER TABLE accounts ADD COLUMN label text;",
      "0003_drop_accounts_label.contract.sql": "-- friday:contract-of 0002_accounts_label\nALTER TABLE accounts DROP COLUMN label;",
    });
    const result = await applyMigrations({ databaseUrl: db.url, dir: folder.dir, phase: "expand", release: "sha-1" });
    expect(result.applied.map((a) => a.id)).toEqual(["0001_accounts", "0002_accounts_label"]);
    expect(result.leftPending).toEqual(["0003_drop_accounts_label"]);
    const ledger = await withClient(db.url, readLedger);
    expect(ledger.map((e) => [e.id, e.phase, e.release])).toEqual([
      ["0001_accounts", "expand", "sha-1"],
      ["0002_accounts_label", "expand", "sha-1"],
    ]);
    expect(ledger[0].checksum).toMatch(/^[0-9a-f]{64}$/);
    // Idempotent: a second run finds nothing to do.
    expect((await applyMigrations({ databaseUrl: db.url, dir: folder.dir, phase: "expand", release: "sha-1" })).applied).toEqual([]);
    const status = await migrationStatus({ databaseUrl: db.url, dir: folder.dir });
    expect(status.pending).toEqual({ expand: [], contract: ["0003_drop_accounts_label"] });
    expect(status.problems).toEqual([]);
  });

  it("rolls back a failing transactional migration entirely and keeps the ones before it", async () => {
    folder.write({
      "0001_a.expand.sql": "CREATE TABLE a (id bigint PRIMARY KEY);",
      "0002_b.expand.sql": "CREATE TABLE b (id bigint PRIMARY KEY);\nALTER TABLE no_such_table ADD COLUMN x int;",
    });
    const error = await expectRejection(applyMigrations({ databaseUrl: db.url, dir: folder.dir, phase: "expand" }));
    expect(error.reason).toBe("failed");
    expect(error.message).toContain("0002_b.expand.sql failed at line 2");
    expect(error.applied.map((a) => a.id)).toEqual(["0001_a"]);
    expect(await withClient(db.url, async (c) => (await c.query(`SELECT to_regclass('b') AS b`)).rows[0].b)).toBeNull();
    expect((await withClient(db.url, readLedger)).map((e) => e.id)).toEqual(["0001_a"]);
  });
});

describe("ledger integrity", () => {
  beforeEach(async () => {
    folder.write({
      "0001_a.expand.sql": "CREATE TABLE a (id bigint PRIMARY KEY);",
      "0002_b.expand.sql": "CREATE TABLE b (id bigint PRIMARY KEY);",
    });
    await applyMigrations({ databaseUrl: db.url, dir: folder.dir, phase: "expand", release: "r1" });
    folder.write({ "0003_c.expand.sql": "CREATE TABLE c (id bigint PRIMARY KEY);" });
  });

  it("refuses to run, applying nothing, when an applied migration was edited", async () => {
    folder.write({ "0001_a.expand.sql": "CREATE TABLE a (id bigint PRIMARY KEY, extra text);" });
    const error = await expectRejection(applyMigrations({ databaseUrl: db.url, dir: folder.dir, phase: "expand", release: "r2" }));
    expect(error.reason).toBe("integrity");
    expect(error.message).toMatch(/0001_a\.expand\.sql was edited after it was applied .*put the change in a new migration/);
    expect(await withClient(db.url, async (c) => (await c.query(`SELECT to_regclass('c') AS c`)).rows[0].c)).toBeNull();
    const status = await migrationStatus({ databaseUrl: db.url, dir: folder.dir });
    expect(status.problems).toHaveLength(1);
  });

  it("refuses to run when an applied migration's file is missing", async () => {
    folder.remove("0002_b.expand.sql");
    const error = await expectRejection(applyMigrations({ databaseUrl: db.url, dir: folder.dir, phase: "expand", release: "r2" }));
    expect(error.message).toContain("0002_b (0002_b.expand.sql) is in the ledger but its file is missing");
    expect((await withClient(db.url, readLedger)).map((e) => e.id)).toEqual(["0001_a", "0002_b"]);
  });
});

describe("contract gating", () => {
  beforeEach(async () => {
    folder.write({
      "0001_people.expand.sql": "CREATE TABLE people (id bigint PRIMARY KEY, name text);",
      "0002_people_full_name.expand.sql": "ALTER TABLE people ADD COLUMN full_name text;\nUPDATE people SET full_name = name WHERE id < 0;",
    });
    await applyMigrations({ databaseUrl: db.url, dir: folder.dir, phase: "expand", release: "release-1" });
    folder.write({ "0003_drop_people_name.contract.sql": "-- friday:contract-of 0002_people_full_name\nALTER TABLE people DROP COLUMN name;" });
  });

  it("refuses a contract in the same release as its expand, and without a release", async () => {
    let error = await expectRejection(applyMigrations({ databaseUrl: db.url, dir: folder.dir, phase: "contract", release: "release-1" }));
    expect(error.reason).toBe("gating");
    expect(error.message).toContain("applied in this same release (release-1)");
    error = await expectRejection(applyMigrations({ databaseUrl: db.url, dir: folder.dir, phase: "contract" }));
    expect(error.message).toContain("need --release");
    expect(await columns("people")).toContain("name");
  });

  it("refuses every contract when one's expand is not applied yet, and applies them in a later release", async () => {
    folder.write({
      "0004_people_email.expand.sql": "ALTER TABLE people ADD COLUMN email text;",
      "0005_drop_people_email.contract.sql": "-- friday:contract-of 0004_people_email\nALTER TABLE people DROP COLUMN email;",
    });
    const error = await expectRejection(applyMigrations({ databaseUrl: db.url, dir: folder.dir, phase: "contract", release: "release-2" }));
    expect(error.message).toContain("0005_drop_people_email.contract.sql finishes 0004_people_email, which has not been applied");
    expect(await columns("people")).toContain("name");

    folder.remove("0005_drop_people_email.contract.sql");
    const result = await applyMigrations({ databaseUrl: db.url, dir: folder.dir, phase: "contract", release: "release-2" });
    expect(result.applied.map((a) => a.id)).toEqual(["0003_drop_people_name"]);
    expect(await columns("people")).toEqual(["id", "full_name"]);
  });
});

describe("lock timeouts", () => {
  let holder: Client;
  beforeEach(async () => {
    folder.write({
      "0001_t.expand.sql": "CREATE TABLE other (id bigint PRIMARY KEY);\nCREATE TABLE t (id bigint PRIMARY KEY);",
    });
    await applyMigrations({ databaseUrl: db.url, dir: folder.dir, phase: "expand" });
    holder = new Client({ connectionString: db.url });
    await holder.connect();
    await holder.query("BEGIN");
    await holder.query("LOCK TABLE t IN ACCESS SHARE MODE");
  });
  afterEach(async () => {
    await holder.end();
  });

  it("retries with backoff, holding no lock while it waits, and succeeds once the conflicting lock is released", async () => {
    folder.write({ "0002_t_x.expand.sql": "ALTER TABLE other ADD COLUMN y int;\nALTER TABLE t ADD COLUMN x int;" });
    let pid = 0;
    const locksWhileWaiting: string[][] = [];
    const delays: number[] = [];
    const result = await applyMigrations({
      databaseUrl: db.url,
      dir: folder.dir,
      phase: "expand",
      lockTimeoutMs: 100,
      retry: { maxAttempts: 10, baseDelayMs: 20, maxDelayMs: 80 },
      onConnected: (p) => {
        pid = p;
      },
      sleep: async (ms) => {
        delays.push(ms);
        // While backing off, the runner must hold no lock on any table (it rolled back).
        const held = await withClient(db.url, async (c) =>
          (await c.query(`SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE l.pid = $1 AND c.relname IN ('t', 'other')`, [pid])).rows.map((r) => r.relname),
        );
        locksWhileWaiting.push(held);
        if (delays.length === 2) await holder.query("COMMIT");
      },
    });
    expect(result.applied).toEqual([expect.objectContaining({ id: "0002_t_x", attempts: 3 })]);
    expect(result.retries).toHaveLength(2);
    expect(locksWhileWaiting).toEqual([[], []]);
    expect(delays[0]).toBeGreaterThanOrEqual(10);
    expect(delays[1]).toBeLessThanOrEqual(80);
    expect(await columns("t")).toEqual(["id", "x"]);
  });

  it("gives up after maxAttempts with a clear error and nothing applied", async () => {
    folder.write({ "0002_t_x.expand.sql": "ALTER TABLE t ADD COLUMN x int;" });
    const error = await expectRejection(
      applyMigrations({ databaseUrl: db.url, dir: folder.dir, phase: "expand", lockTimeoutMs: 50, retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10 } }),
    );
    expect(error.reason).toBe("lock-timeout");
    expect(error.message).toMatch(/could not get its lock within lock_timeout after 2 attempts/);
    expect(await columns("t")).toEqual(["id"]);
    expect((await withClient(db.url, readLedger)).map((e) => e.id)).toEqual(["0001_t"]);
  });
});

describe("CREATE INDEX CONCURRENTLY", () => {
  beforeEach(async () => {
    folder.write({ "0001_u.expand.sql": "CREATE TABLE u (id bigint PRIMARY KEY, v text);\nINSERT INTO u SELECT g, 'v' || g FROM generate_series(1, 200) g;" });
    await applyMigrations({ databaseUrl: db.url, dir: folder.dir, phase: "expand" });
  });

  const indexState = () =>
    withClient(db.url, async (c) => (await c.query(`SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'u_v_key'`)).rows.map((r) => r.valid));

  it("runs outside a transaction and drops the invalid index a failed build left before retrying", async () => {
    // A failed concurrent build (duplicate values) leaves an INVALID index behind.
    await withClient(db.url, async (c) => {
      await c.query(`INSERT INTO u VALUES (1000, 'v1')`);
      await expect(c.query(`CREATE UNIQUE INDEX CONCURRENTLY u_v_key ON u (v)`)).rejects.toThrow(/could not create unique index/);
      await c.query(`DELETE FROM u WHERE id = 1000`);
    });
    expect(await indexState()).toEqual([false]);
    // IF NOT EXISTS alone would now skip the build and keep the invalid index.
    folder.write({ "0002_u_v_key.expand.sql": "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS u_v_key ON u (v);" });
    const logs: string[] = [];
    const result = await applyMigrations({ databaseUrl: db.url, dir: folder.dir, phase: "expand", log: (l) => logs.push(l) });
    expect(result.applied.map((a) => a.id)).toEqual(["0002_u_v_key"]);
    expect(await indexState()).toEqual([true]);
    expect(logs.join("\n")).toContain("no transaction (statement by statement)");
    expect(logs.join("\n")).toContain("dropping invalid index u_v_key");
  });

  it("cleans up the invalid index when the build fails, and does not record the migration", async () => {
    await withClient(db.url, (c) => c.query(`INSERT INTO u VALUES (1000, 'v1')`));
    folder.write({ "0002_u_v_key.expand.sql": "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS u_v_key ON u (v);" });
    const error = await expectRejection(applyMigrations({ databaseUrl: db.url, dir: folder.dir, phase: "expand" }));
    expect(error.message).toContain("could not create unique index");
    expect(await indexState()).toEqual([]);
    expect((await withClient(db.url, readLedger)).map((e) => e.id)).toEqual(["0001_u"]);
  });
});

describe("concurrent runners", () => {
  it("serialises on the advisory lock: a second runner waits and then finds nothing to do, or exits cleanly with --wait 0", async () => {
    folder.write({ "0001_slow.expand.sql": "CREATE TABLE slow (id bigint PRIMARY KEY);\nSELECT pg_sleep(0.6);" });
    const first = applyMigrations({ databaseUrl: db.url, dir: folder.dir, phase: "expand" });
    // Wait until the first runner holds the advisory lock.
    await withClient(db.url, async (c) => {
      for (let i = 0; i < 200; i++) {
        const { rows } = await c.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted`, [ADVISORY_LOCK_KEY]);
        if (rows.length > 0) return;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error("first runner never took the advisory lock");
    });
    const busy = await expectRejection(applyMigrations({ databaseUrl: db.url, dir: folder.dir, phase: "expand", advisoryLockWaitMs: 0 }));
    expect(busy.reason).toBe("busy");
    expect(busy.message).toContain("Another migration runner holds the advisory lock");
    const second = applyMigrations({ databaseUrl: db.url, dir: folder.dir, phase: "expand", advisoryLockWaitMs: 30_000 });
    const [a, b] = await Promise.all([first, second]);
    expect(a.applied.map((m) => m.id)).toEqual(["0001_slow"]);
    expect(b.applied).toEqual([]);
    expect((await withClient(db.url, readLedger)).map((e) => e.id)).toEqual(["0001_slow"]);
  });
});

describe("friday migrate up/status (CLI)", () => {
  it("applies with --json and --release, and status reads the PG* variables when no URL is given", async () => {
    folder.write({ "0001_a.expand.sql": "CREATE TABLE a (id bigint PRIMARY KEY);", "0002_drop_a.contract.sql": "-- friday:contract-of 0001_a\nDROP TABLE a;" });
    const up = await captureCli(() => buildCli().parseAsync(["node", "friday", "migrate", "up", "--phase", "expand", "--dir", folder.dir, "--database-url", db.url, "--release", "sha-abc", "--json"]));
    expect(up.exitCode).toBe(0);
    expect(JSON.parse(up.stdout)).toMatchObject({ ok: true, release: "sha-abc", applied: [{ id: "0001_a", phase: "expand" }] });

    const url = new URL(db.url);
    const saved = { ...process.env };
    Object.assign(process.env, { PGHOST: url.hostname, PGPORT: url.port, PGUSER: url.username, PGPASSWORD: decodeURIComponent(url.password), PGDATABASE: url.pathname.slice(1) });
    delete process.env.DATABASE_URL;
    try {
      const status = await captureCli(() => buildCli().parseAsync(["node", "friday", "migrate", "status", "--dir", folder.dir, "--json"]));
      expect(status.exitCode).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ ok: true, applied: [{ id: "0001_a", release: "sha-abc" }], pending: { expand: [], contract: ["0002_drop_a"] } });
    } finally {
      process.env = saved;
    }

    const refused = await captureCli(() => buildCli().parseAsync(["node", "friday", "migrate", "up", "--phase", "contract", "--dir", folder.dir, "--database-url", db.url, "--release", "sha-abc"]));
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain("Contract migrations refused; nothing applied");
  });

  it("rejects a bad folder name before connecting", async () => {
    writeFileSync(join(folder.dir, "add_users.sql"), "SELECT 1;");
    const out = await captureCli(() => buildCli().parseAsync(["node", "friday", "migrate", "up", "--phase", "expand", "--dir", folder.dir, "--database-url", "postgres://nobody@127.0.0.1:1/none"]));
    expect(out.exitCode).toBe(1);
    expect(out.stderr).toContain('"add_users.sql" does not follow <NNNN>_<description>.<expand|contract>.sql');
  });

  it("names the bad --wait value as given", async () => {
    const run = buildCli().parseAsync(["node", "friday", "migrate", "up", "--phase", "expand", "--dir", folder.dir, "--wait", "soon"]);
    await expect(run).rejects.toThrow('--wait must be a number of seconds >= 0 (got "soon").');
  });
});
