import { createHmac } from "node:crypto";
import { Client } from "pg";
import { createTestDatabase, TestDatabase, withTestDatabase } from "../../test/support/postgres";
import { FIXTURE_RULES_YAML, FIXTURE_SCHEMA_SQL, fillFixture } from "./scrub-fixture";
import { parseScrubRules } from "./scrub-rules";
import { ScrubPreflightError, scrubDatabase, ScrubTableProgress } from "./scrub";
import { CITIES, deriveKeyMaterial, FIRST_NAMES, LAST_NAMES } from "./scrub-sql";
import { takeVerifySample, verifyScrub } from "./verify";

const KEY = "test-scrub-key-0123456789-abcdefghijklmnop";
const OTHER_KEY = "another-scrub-key-0123456789-abcdefghijkl";
const USERS = 40;
const rules = parseScrubRules(FIXTURE_RULES_YAML, "fixture-rules.yaml");

async function fixtureDatabase(prefix: string): Promise<{ db: TestDatabase; client: Client }> {
  const db = await createTestDatabase(prefix);
  const client = new Client({ connectionString: db.url });
  await client.connect();
  await client.query(FIXTURE_SCHEMA_SQL);
  await fillFixture(client, USERS);
  return { db, client };
}

async function rows(client: Client, table: string, orderBy = "id"): Promise<Record<string, unknown>[]> {
  return (await client.query(`SELECT * FROM ${table} ORDER BY ${orderBy}`)).rows;
}

/** A digest of a whole table's contents, to compare databases and runs. */
async function tableDigest(client: Client, table: string, orderBy = "id"): Promise<string> {
  return (await client.query(`SELECT md5(string_agg(t::text, '|' ORDER BY ${orderBy})) AS d FROM ${table} t`)).rows[0].d;
}

const TABLES = ["users", "addresses", "orders", "payments", "audit_log", "newsletter_subscriptions"];
const ORDER: Record<string, string> = { newsletter_subscriptions: "subscribed_at, email" };

async function allDigests(client: Client): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of [...TABLES, "sessions"]) out[t] = await tableDigest(client, t, ORDER[t] ?? "id");
  return out;
}

function expectedEmail(original: string, key = KEY): string {
  const mac = createHmac("sha256", deriveKeyMaterial(key).macKey).update(original, "utf8").digest("hex");
  return `u${mac.slice(0, 24)}@scrubbed.invalid`;
}

describe("scrubDatabase after a crash", () => {
  it("resumes where it stopped: tables already rewritten are skipped, their pending indexes and foreign keys built", async () => {
    const { db, client } = await fixtureDatabase("scrub_resume");
    const fresh = await fixtureDatabase("scrub_resume_ref");
    try {
      const indexesBefore = (await client.query(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`)).rows;
      // The job dies right after the orders rewrite commits, before its indexes are built again.
      const crash = (p: ScrubTableProgress) => {
        if (p.table === "public.orders" && p.phase === "done" && p.action === "rewritten") throw new Error("killed");
      };
      await expect(scrubDatabase({ databaseUrl: db.url, rules, key: KEY, concurrency: 1, onProgress: crash })).rejects.toThrow("killed");
      const pending = (await client.query(`SELECT name FROM friday_scrub.pending_indexes ORDER BY 1`)).rows.map((r) => r.name);
      expect(pending).toEqual(expect.arrayContaining(["orders_contact_email_idx", "orders_user_id_created_at_idx"]));
      expect((await client.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'orders_contact_email_idx'`)).rows[0].n).toBe(0);

      const resumed = await scrubDatabase({ databaseUrl: db.url, rules, key: KEY, concurrency: 2 });
      expect(resumed.tables.find((t) => t.table === "public.orders")?.action).toBe("already done");
      expect(resumed.indexesRebuilt).toEqual(expect.arrayContaining(["public.orders.orders_contact_email_idx", "public.orders.orders_user_id_created_at_idx"]));
      expect((await client.query(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`)).rows).toEqual(indexesBefore);
      expect((await client.query(`SELECT (SELECT count(*) FROM friday_scrub.pending_indexes) + (SELECT count(*) FROM friday_scrub.pending_foreign_keys) AS n`)).rows[0].n).toBe("0");
      // Same result as a scrub that never stopped: nothing masked twice, nothing left out.
      await scrubDatabase({ databaseUrl: fresh.db.url, rules, key: KEY });
      const [mine, theirs] = [await allDigests(client), await allDigests(fresh.client)];
      // (newsletter_subscriptions.subscribed_at is now() at fill time: its emails are compared instead.)
      for (const t of ["users", "addresses", "orders", "payments", "audit_log"]) expect(mine[t]).toBe(theirs[t]);
      const emails = `SELECT string_agg(email, ',' ORDER BY email) AS e FROM newsletter_subscriptions`;
      expect((await client.query(emails)).rows[0].e).toBe((await fresh.client.query(emails)).rows[0].e);
      expect((await verifyScrub({ databaseUrl: db.url, rules })).ok).toBe(true);
    } finally {
      await client.end();
      await db.drop();
      await fresh.client.end();
      await fresh.db.drop();
    }
  });
});

describe("scrubDatabase on the realistic fixture", () => {
  let db: TestDatabase;
  let client: Client;
  const before: Record<string, Record<string, unknown>[]> = {};
  let usersOid: number;
  let progress: ScrubTableProgress[];
  let summary: Awaited<ReturnType<typeof scrubDatabase>>;
  let sample: Awaited<ReturnType<typeof takeVerifySample>>;

  beforeAll(async () => {
    ({ db, client } = await fixtureDatabase("scrub"));
    for (const t of [...TABLES, "sessions"]) before[t] = await rows(client, t, ORDER[t] ?? "id");
    usersOid = (await client.query(`SELECT 'users'::regclass::oid::int AS oid`)).rows[0].oid;
    sample = await takeVerifySample({ databaseUrl: db.url, rules });
    progress = [];
    summary = await scrubDatabase({ databaseUrl: db.url, rules, key: KEY, concurrency: 3, onProgress: (p) => progress.push(p) });
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it("reports each table and a summary", () => {
    expect(summary.tables.map((t) => [t.table, t.action, t.rows])).toEqual([
      ["public.addresses", "rewritten", USERS],
      ["public.audit_log", "rewritten", 2 * USERS],
      ["public.newsletter_subscriptions", "rewritten", USERS / 4],
      ["public.orders", "rewritten", 2 * USERS],
      ["public.payments", "rewritten", 2 * USERS],
      ["public.sessions", "truncated", 0],
      ["public.users", "rewritten", USERS],
    ]);
    expect(summary.rows).toBe(USERS * 8.25);
    expect(summary.foreignKeysRevalidated).toEqual(["public.newsletter_subscriptions.newsletter_subscriptions_email_fkey"]);
    // Indexes no constraint uses are built as tasks of their own; the others by the rewrite.
    expect(summary.indexesRebuilt).toEqual([
      "public.addresses.addresses_user_id_idx",
      "public.audit_log.audit_log_occurred_at_idx",
      "public.orders.orders_contact_email_idx",
      "public.orders.orders_user_id_created_at_idx",
      "public.payments.payments_order_id_idx",
      "public.payments.payments_provider_reference_key",
      "public.users.users_email_lower_key",
    ]);
    expect(summary.keyFingerprint).toBe(deriveKeyMaterial(KEY).fingerprint);
    const users = progress.filter((p) => p.table === "public.users");
    expect(users.map((p) => [p.phase, p.action])).toEqual([
      ["start", "rewritten"],
      ["done", "rewritten"],
      ["done", "index built"],
    ]);
    expect(users[1].message).toMatch(/^public\.users: 40 rows in \d+\.\d s \([\d,]+ rows\/s\)$/);
    expect(users[2].message).toMatch(/^public\.users: index users_email_lower_key built in \d+\.\d s$/);
    // The foreign key (newsletter_subscriptions → users) is validated only after everything on both
    // of its tables: ADD FOREIGN KEY would otherwise wait for their index builds' locks.
    const fkAt = progress.findIndex((p) => p.action === "foreign key validated");
    expect(progress[fkAt].message).toMatch(/^public\.newsletter_subscriptions: foreign key newsletter_subscriptions_email_fkey validated in \d+\.\d s$/);
    const lastOnItsTables = Math.max(...progress.map((p, i) => (["public.users", "public.newsletter_subscriptions"].includes(p.table) && p.action !== "foreign key validated" ? i : -1)));
    expect(fkAt).toBeGreaterThan(lastOnItsTables);
  });

  it("keeps kept columns, row counts and the tables themselves (same oid: grants, triggers, sequences stay)", async () => {
    const users = await rows(client, "users");
    expect(users.map((u) => [u.id, u.created_at])).toEqual(before.users.map((u) => [u.id, u.created_at]));
    const addresses = await rows(client, "addresses");
    expect(addresses.map((a) => [a.id, a.user_id, a.country])).toEqual(before.addresses.map((a) => [a.id, a.user_id, a.country]));
    const orders = await rows(client, "orders");
    expect(orders.map((o) => [o.id, o.user_id, o.status, o.total_cents])).toEqual(before.orders.map((o) => [o.id, o.user_id, o.status, o.total_cents]));
    expect((await client.query(`SELECT 'users'::regclass::oid::int AS oid`)).rows[0].oid).toBe(usersOid);
    // The identity sequence still hands out ids after the rewrite.
    const inserted = await client.query(`INSERT INTO users (email, full_name, password_hash) VALUES ('x@scrubbed.invalid', 'X', '!') RETURNING id`);
    expect(Number(inserted.rows[0].id)).toBe(USERS + 1);
    await client.query(`DELETE FROM users WHERE id = ${USERS + 1}`);
  });

  it("email: keyed HMAC pseudonyms, equal for equal inputs in every table and inside JSON", async () => {
    const users = await rows(client, "users");
    users.forEach((u, i) => expect(u.email).toBe(expectedEmail(before.users[i].email as string)));
    const byId = new Map(users.map((u) => [u.id, u.email]));
    const orders = await rows(client, "orders");
    for (const o of orders) expect(o.contact_email).toBe(byId.get(o.user_id));
    const audit = await rows(client, "audit_log");
    for (const a of audit) expect((a.payload as { actor: { email: string } }).actor.email).toBe(byId.get(a.actor_user_id));
    const newsletter = await rows(client, "newsletter_subscriptions", ORDER.newsletter_subscriptions);
    expect(newsletter).toHaveLength(USERS / 4);
    for (const n of newsletter) expect(users.map((u) => u.email)).toContain(n.email);
  });

  it("name, phone, address, text, hash, fixed, null, shift and sql do what the rules say", async () => {
    const users = await rows(client, "users");
    users.forEach((u, i) => {
      const b = before.users[i];
      const [first, last] = (u.full_name as string).split(" ");
      expect(FIRST_NAMES).toContain(first);
      expect(LAST_NAMES).toContain(last);
      if (b.phone === null) expect(u.phone).toBeNull();
      else expect(u.phone).toMatch(/^\+1555\d{7}$/);
      expect(u.password_hash).toBe("!");
      expect(u.signup_ip).toBeNull();
      if (b.bio === null) expect(u.bio).toBeNull();
      else {
        const len = (b.bio as string).length;
        expect((u.bio as string).length).toBe(2 ** Math.floor(Math.log2(len)));
        expect(u.bio).toMatch(/^(lorem ipsum dolor sit amet )*[a-z ]*$/);
      }
      const days = ((u.date_of_birth as Date).getTime() - (b.date_of_birth as Date).getTime()) / 86400000;
      expect(Math.abs(days)).toBeGreaterThanOrEqual(1);
      expect(Math.abs(days)).toBeLessThanOrEqual(365);
    });
    // Same real name → same pseudonym, in another table too (addresses.recipient_name of user g = users.full_name of g).
    const addresses = await rows(client, "addresses");
    addresses.forEach((a, i) => {
      expect(a.recipient_name).toBe(users[i].full_name);
      expect(a.line1).toMatch(/^\d+ [A-Z][a-z]+ (Street|Road|Lane|Avenue|Way|Close|Drive|Court)$/);
      if (before.addresses[i].line2 === null) expect(a.line2).toBeNull();
      else expect(a.line2).toMatch(/^Apt \d+$/);
      expect(CITIES).toContain(a.city);
      expect(a.postal_code).toMatch(/^\d{5}$/);
    });
    const payments = await rows(client, "payments");
    payments.forEach((p, i) => {
      const b = before.payments[i];
      const mac = createHmac("sha256", deriveKeyMaterial(KEY).macKey).update(b.provider_reference as string).digest("hex");
      expect(p.provider_reference).toBe(mac.slice(0, 32));
      expect(p.card_last4).toBe("0000");
      expect(p.client_ip).toBe(b.client_ip === null ? null : "192.0.2.1");
      expect(p.provider).toBe(b.provider);
    });
    // shift by user_id: every order of a user moves by the same amount, so intervals between them hold.
    const orders = await rows(client, "orders");
    const offsets = new Map<unknown, Set<number>>();
    orders.forEach((o, i) => {
      const d = (o.created_at as Date).getTime() - (before.orders[i].created_at as Date).getTime();
      expect(d).not.toBe(0);
      expect(Math.abs(d)).toBeLessThanOrEqual(30 * 86400000);
      offsets.set(o.user_id, (offsets.get(o.user_id) ?? new Set()).add(d));
    });
    for (const set of offsets.values()) expect(set.size).toBe(1);
    expect(new Set([...offsets.values()].map((s) => [...s][0])).size).toBeGreaterThan(1);
  });

  it("json: masks the listed paths, keeps the rest, creates nothing", async () => {
    const audit = await rows(client, "audit_log");
    const users = await rows(client, "users");
    audit.forEach((a, i) => {
      const p = a.payload as { actor: { ip: unknown; email: string }; changes: Record<string, string>; request_id: string };
      const b = before.audit_log[i].payload as typeof p;
      expect(p.actor.ip).toBeNull();
      expect(p.request_id).toBe(b.request_id);
      expect(Object.keys(p.changes).sort()).toEqual(Object.keys(b.changes).sort());
      if (b.changes.full_name) {
        expect(p.changes.full_name).not.toBe(b.changes.full_name);
        expect(FIRST_NAMES).toContain(p.changes.full_name.split(" ")[0]);
        expect(p.changes.phone).toMatch(/^\+1555\d{7}$/);
      }
    });
    expect(users).toHaveLength(USERS);
  });

  it("truncates truncate tables; foreign keys and unique indexes are back and valid", async () => {
    expect(await rows(client, "sessions")).toEqual([]);
    const constraints = (
      await client.query(`SELECT conname, convalidated FROM pg_constraint WHERE contype IN ('f', 'u', 'p') AND connamespace = 'public'::regnamespace ORDER BY 1`)
    ).rows;
    expect(constraints).toContainEqual({ conname: "newsletter_subscriptions_email_fkey", convalidated: true });
    expect(constraints.every((c) => c.convalidated)).toBe(true);
    const invalid = (await client.query(`SELECT count(*)::int AS n FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'public'::regnamespace AND NOT i.indisvalid`)).rows[0].n;
    expect(invalid).toBe(0);
    const indexes = (await client.query(`SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`)).rows.map((r) => r.indexname);
    expect(indexes).toEqual(expect.arrayContaining(["users_email_key", "users_email_lower_key", "orders_contact_email_idx", "payments_provider_reference_key", "audit_log_occurred_at_idx"]));
  });

  it("passes verify with the sample taken before", async () => {
    const report = await verifyScrub({ databaseUrl: db.url, rules, before: sample });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual(["coverage", "scrub state", "row counts", "truncated tables", "foreign keys", "unique indexes", "masked values"]);
  });

  it("builds the indexes with their definitions unchanged", async () => {
    const definitions = (await client.query(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`)).rows;
    expect(definitions).toContainEqual({ indexname: "users_email_lower_key", indexdef: "CREATE UNIQUE INDEX users_email_lower_key ON public.users USING btree (lower(email))" });
    expect(definitions).toContainEqual({ indexname: "audit_log_occurred_at_idx", indexdef: "CREATE INDEX audit_log_occurred_at_idx ON public.audit_log USING brin (occurred_at)" });
    expect((await client.query(`SELECT count(*)::int AS n FROM friday_scrub.pending_indexes`)).rows[0].n).toBe(0);
  });

  it("a rerun on the scrubbed database changes nothing (each table is recorded as done)", async () => {
    const digests = await allDigests(client);
    const again = await scrubDatabase({ databaseUrl: db.url, rules, key: KEY });
    expect(new Set(again.tables.map((t) => t.action))).toEqual(new Set(["already done"]));
    expect(await allDigests(client)).toEqual(digests);
  });

  it("refuses to continue with another key or other rules, changing nothing", async () => {
    const digests = await allDigests(client);
    await expect(scrubDatabase({ databaseUrl: db.url, rules, key: OTHER_KEY })).rejects.toThrow(/already scrubbed with a different key: .*restore a fresh copy/);
    const otherRules = parseScrubRules(FIXTURE_RULES_YAML.replace("emailDomain: scrubbed.invalid", "emailDomain: other.invalid"), "other.yaml");
    await expect(scrubDatabase({ databaseUrl: db.url, rules: otherRules, key: KEY })).rejects.toThrow(/already scrubbed with different rules/);
    expect(await allDigests(client)).toEqual(digests);
  });

  it("is deterministic across runs: a fresh copy scrubbed with the same key is identical, another key differs", async () => {
    const same = await fixtureDatabase("scrub_same");
    const other = await fixtureDatabase("scrub_other");
    try {
      await scrubDatabase({ databaseUrl: same.db.url, rules, key: KEY, concurrency: 1 });
      await scrubDatabase({ databaseUrl: other.db.url, rules, key: OTHER_KEY, concurrency: 2 });
      // created_at of newsletter_subscriptions is now() at fill time: compare the masked columns only.
      const mine = await allDigests(client);
      const theirs = await allDigests(same.client);
      for (const t of ["users", "addresses", "orders", "payments", "audit_log"]) expect(theirs[t]).toBe(mine[t]);
      const otherUsers = await rows(other.client, "users");
      const myUsers = await rows(client, "users");
      expect(otherUsers[0].email).not.toBe(myUsers[0].email);
      expect(otherUsers[0].email).toBe(expectedEmail(before.users[0].email as string, OTHER_KEY));
    } finally {
      for (const d of [same, other]) {
        await d.client.end();
        await d.db.drop();
      }
    }
  });
});

describe("scrubDatabase fails closed", () => {
  let db: TestDatabase;
  let client: Client;
  beforeAll(async () => {
    ({ db, client } = await fixtureDatabase("scrub_closed"));
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  async function expectNothingChanged(run: () => Promise<unknown>, messages: RegExp[]): Promise<void> {
    const digests = await allDigests(client);
    const error = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ScrubPreflightError);
    for (const m of messages) expect((error as Error).message).toMatch(m);
    expect(await allDigests(client)).toEqual(digests);
    expect((await client.query(`SELECT to_regnamespace('friday_scrub') AS s`)).rows[0].s).toBeNull();
  }

  it("stops on an unclassified column and an unknown table, naming each, with nothing changed", async () => {
    await client.query(`ALTER TABLE users ADD COLUMN nickname text; UPDATE users SET nickname = 'nick' || id`);
    await client.query(`CREATE TABLE support_tickets (id int PRIMARY KEY, body text)`);
    try {
      await expectNothingChanged(
        () => scrubDatabase({ databaseUrl: db.url, rules, key: KEY }),
        [
          /column public\.users\.nickname \(text\) is not classified: add "nickname: keep" or a masking strategy under public\.users/,
          /table public\.support_tickets is not in the rules \(fixture-rules\.yaml\): add it under tables: with each of its columns \(id, body\) classified, or as "public\.support_tickets: truncate"/,
          /2 problems/,
        ],
      );
    } finally {
      await client.query(`ALTER TABLE users DROP COLUMN nickname; DROP TABLE support_tickets`);
    }
  });

  it("stops on rules that cannot work on this schema, naming the column and the fix", async () => {
    const bad = parseScrubRules(
      FIXTURE_RULES_YAML.replace("    password_hash: { strategy: fixed, value: \"!\" }", "    password_hash: \"null\"")
        .replace("    provider_reference: hash", "    provider_reference: name")
        .replace("  newsletter_subscriptions:\n    email: email", "  newsletter_subscriptions:\n    email: hash")
        .replace("    total_cents: keep", "    total_cents: phone")
        .replace("    country: keep", "    country: keep\n    fax: keep"),
      "bad.yaml",
    );
    await expectNothingChanged(
      () => scrubDatabase({ databaseUrl: db.url, rules: bad, key: KEY }),
      [
        /public\.users\.password_hash \(text\) is NOT NULL: use fixed/,
        /public\.payments\.provider_reference: name can give two rows the same value but unique index payments_provider_reference_key covers the column: use email or hash/,
        /foreign key newsletter_subscriptions_email_fkey: public\.newsletter_subscriptions\.email and public\.users\.email must have the same rule .*\(got hash and email\)/,
        /public\.orders\.total_cents \(bigint\): phone makes text but the column is int8: use fixed, null, sql or keep/,
        /public\.addresses\.fax is in the rules but not in the database: remove it/,
      ],
    );
  });

  it("stops when a truncated table is still referenced, and on a key too short", async () => {
    const bad = parseScrubRules(FIXTURE_RULES_YAML.replace(/  addresses:\n(    .*\n)+?  orders:/, "  addresses: truncate\n  orders:"), "bad.yaml");
    await expectNothingChanged(
      () => scrubDatabase({ databaseUrl: db.url, rules: bad, key: KEY }),
      [/public\.addresses is truncated but public\.orders references it \(foreign key orders_shipping_address_id_fkey\): truncate public\.orders too/],
    );
    await expect(scrubDatabase({ databaseUrl: db.url, rules, key: "short" })).rejects.toThrow(/the scrub key is 5 bytes: use at least 32 random bytes/);
  });

  it("stops when the connected role does not own the tables it would rewrite", async () => {
    const role = `scrub_guest_${Math.random().toString(36).slice(2, 8)}`;
    await client.query(`CREATE ROLE ${role} LOGIN PASSWORD 'guest'`);
    try {
      const url = new URL(db.url);
      url.username = role;
      url.password = "guest";
      await expectNothingChanged(
        () => scrubDatabase({ databaseUrl: url.toString(), rules, key: KEY }),
        [/public\.users is owned by another role: the scrub rewrites tables, so connect as their owner/, /public\.sessions is owned by another role/],
      );
    } finally {
      await client.query(`DROP ROLE ${role}`);
    }
  });

  it("fails a table whose sql mask meets bad data without quoting the value, and rolls that table back", async () => {
    await withTestDatabase("scrub_bad_data", async (c, url) => {
      await c.query(`CREATE TABLE births (id int PRIMARY KEY, born text); INSERT INTO births VALUES (1, '1984-02-01'), (2, '1984-13-01')`);
      const dataRules = parseScrubRules(`version: 1\ntables:\n  births:\n    id: keep\n    born: { strategy: sql, expression: "(born::date + 1)::text" }\n`, "births.yaml");
      const error = await scrubDatabase({ databaseUrl: url, rules: dataRules, key: KEY }).catch((e: Error) => e);
      expect((error as Error).message).toBe(
        "scrubbing public.births failed (rolled back; a rerun picks up here): date/time field value out of range (SQLSTATE 22008; the value is not shown)",
      );
      expect((await c.query(`SELECT born FROM births ORDER BY id`)).rows.map((r) => r.born)).toEqual(["1984-02-01", "1984-13-01"]);
    });
  });

  it("refuses, before sending the key, a server that logs every statement's parameters and a role that may not stop it", async () => {
    const role = `scrub_logged_${Math.random().toString(36).slice(2, 8)}`;
    const own = await createTestDatabase("scrub_logged");
    await client.query(`CREATE ROLE ${role} LOGIN PASSWORD 'logged'; ALTER ROLE ${role} SET log_statement = 'all'`);
    try {
      const url = new URL(own.url);
      url.username = role;
      url.password = "logged";
      await expect(scrubDatabase({ databaseUrl: url.toString(), rules, key: KEY })).rejects.toThrow(
        /the server logs every statement with its parameters \(log_statement = all, log_min_duration_statement = -1\) and this role may not turn that off: the scrub's key would be written to the database log\. Set log_parameter_max_length = 0/,
      );
    } finally {
      await own.drop();
      await client.query(`DROP ROLE ${role}`);
    }
  });

  it("stops when a view uses a masked column", async () => {
    await client.query(`CREATE VIEW user_emails AS SELECT id, email FROM users`);
    try {
      await expectNothingChanged(
        () => scrubDatabase({ databaseUrl: db.url, rules, key: KEY }),
        [/view public\.user_emails uses public\.users\.email, which is masked: .*drop the view before the scrub and recreate it after/],
      );
    } finally {
      await client.query(`DROP VIEW user_emails`);
    }
  });

  it("stops on an sql expression that does not compile and a fixed value that does not cast, naming the column, with nothing changed", async () => {
    const bad = parseScrubRules(
      FIXTURE_RULES_YAML.replace(
        `client_ip: { strategy: sql, expression: "CASE WHEN client_ip IS NULL THEN NULL ELSE '192.0.2.1'::inet END" }`,
        `client_ip: { strategy: sql, expression: "CASE WHEN clientip IS NULL THEN NULL ELSE '192.0.2.1'::inet END" }`,
      ).replace(`date_of_birth: { strategy: shift, maxDays: 365 }`, `date_of_birth: { strategy: fixed, value: "someday" }`),
      "bad-sql.yaml",
    );
    await expectNothingChanged(
      () => scrubDatabase({ databaseUrl: db.url, rules: bad, key: KEY }),
      [
        /public\.payments\.client_ip: its sql mask does not work on this column: column "clientip" does not exist — fix the rule in bad-sql\.yaml/,
        /public\.users\.date_of_birth: its fixed mask does not work on this column: invalid input syntax for type date: "someday" — fix the rule in bad-sql\.yaml/,
        /2 problems/,
      ],
    );
  });

  it("stops when a generated column, a policy, a trigger's WHEN or a partition key uses a masked column (PostgreSQL would refuse mid-run)", async () => {
    await client.query(`
      CREATE TABLE members (id int PRIMARY KEY, email text, domain text GENERATED ALWAYS AS (split_part(email, '@', 2)) STORED, note text);
      CREATE POLICY own_note ON members USING (note IS NOT NULL);
      CREATE FUNCTION members_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
      CREATE TRIGGER members_email_changed BEFORE UPDATE ON members FOR EACH ROW WHEN (OLD.email IS DISTINCT FROM NEW.email) EXECUTE FUNCTION members_touch();
      CREATE TABLE visits (id int, at date NOT NULL) PARTITION BY RANGE (at);
      CREATE TABLE visits_2024 PARTITION OF visits FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');`);
    try {
      const withBlocked = parseScrubRules(
        `${FIXTURE_RULES_YAML}  members:\n    id: keep\n    email: email\n    domain: keep\n    note: text\n  visits:\n    id: keep\n    at: { strategy: shift, maxDays: 5 }\n`,
        "blocked.yaml",
      );
      await expectNothingChanged(
        () => scrubDatabase({ databaseUrl: db.url, rules: withBlocked, key: KEY }),
        [
          /public\.members\.email is masked but generated column domain uses it: PostgreSQL cannot rewrite it in place; drop generated column domain before the scrub and recreate it after, or keep the column/,
          /public\.members\.email is masked but trigger members_email_changed uses it/,
          /public\.members\.note is masked but policy own_note uses it/,
          /public\.visits\.at is masked but the partition key uses it: PostgreSQL cannot rewrite it in place; keep it/,
          /4 problems/,
        ],
      );
    } finally {
      await client.query(`DROP TABLE members, visits; DROP FUNCTION members_touch()`);
    }
  });

  it("stops when an email, hash or phone would not fit its varchar(n) or char(n) column (a cut value loses its shape)", async () => {
    await client.query(`CREATE TABLE short_codes (id int PRIMARY KEY, email varchar(30), ref char(8), phone varchar(11), nick varchar(3))`);
    try {
      const withShort = parseScrubRules(
        `${FIXTURE_RULES_YAML}  short_codes:\n    id: keep\n    email: email\n    ref: hash\n    phone: phone\n    nick: name\n`,
        "short.yaml",
      );
      await expectNothingChanged(
        () => scrubDatabase({ databaseUrl: db.url, rules: withShort, key: KEY }),
        [
          /public\.short_codes\.email \(character varying\(30\)\): email writes up to 42 characters and the column holds 30: use a shorter domain \(values would be cut\)/,
          /public\.short_codes\.ref \(character\(8\)\): hash writes up to 32 characters and the column holds 8: set a shorter length/,
          /public\.short_codes\.phone \(character varying\(11\)\): phone writes up to 12 characters and the column holds 11: widen the column/,
          /3 problems/,
        ],
      );
    } finally {
      await client.query(`DROP TABLE short_codes`);
    }
  });
});

describe("scrubDatabase on less common column types", () => {
  let db: TestDatabase;
  let client: Client;
  beforeAll(async () => {
    db = await createTestDatabase("scrub_types");
    client = new Client({ connectionString: db.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it("masks json (not jsonb), fits varchar(n) and char(n), hashes to an odd length, shifts a plain timestamp, keeps NULL documents", async () => {
    await client.query(`
      CREATE TABLE contacts (id int PRIMARY KEY, doc json, code varchar(8), ref text UNIQUE, note char(12), seen timestamp, tags text[]);
      INSERT INTO contacts VALUES
        (1, '{"a": {"b": "Zoë@Example.com", "keep": 1}, "list": [{"email": "x@y.z"}]}', 'Margaret', 'REF-1', 'hello there!', '2024-02-29 12:00', '{a,b}'),
        (2, NULL, NULL, 'REF-2', NULL, NULL, NULL),
        (3, '{"a": "scalar"}', 'Al', 'REF-3', 'x', '2024-01-01', '{}')`);
    const rules = parseScrubRules(
      `version: 1
tables:
  contacts:
    id: keep
    doc: { strategy: json, paths: { a.b: email, list.0.email: { strategy: fixed, value: "redacted" } } }
    code: name
    ref: { strategy: hash, length: 17 }
    note: text
    seen: { strategy: shift, maxDays: 10 }
    tags: keep
`,
      "types.yaml",
    );
    await scrubDatabase({ databaseUrl: db.url, rules, key: KEY });
    const rows = (await client.query(`SELECT id, doc::text AS doc, code, ref, note, seen, tags FROM contacts ORDER BY id`)).rows;
    const mac = createHmac("sha256", deriveKeyMaterial(KEY).macKey).update("Zoë@Example.com", "utf8").digest("hex");
    expect(JSON.parse(rows[0].doc)).toEqual({ a: { b: `u${mac.slice(0, 24)}@scrubbed.invalid`, keep: 1 }, list: [{ email: "redacted" }] });
    expect(rows[1].doc).toBeNull();
    expect(JSON.parse(rows[2].doc)).toEqual({ a: "scalar" });
    expect(rows[0].code.length).toBeLessThanOrEqual(8);
    expect(rows[1].code).toBeNull();
    expect(rows.map((r) => r.ref)).toEqual(
      ["REF-1", "REF-2", "REF-3"].map((r) => createHmac("sha256", deriveKeyMaterial(KEY).macKey).update(r).digest("hex").slice(0, 17)),
    );
    expect(rows[0].note).toBe("lorem ip    ");
    expect(rows[2].note).toBe("l           ");
    const days = Math.abs((rows[0].seen as Date).getTime() - new Date("2024-02-29T12:00:00").getTime()) / 86400000;
    expect(days).toBeGreaterThanOrEqual(1);
    expect(days).toBeLessThanOrEqual(10);
    expect(rows[0].tags).toEqual(["a", "b"]);
  });

  it("validates each masked foreign key after every index build on both of its tables, one foreign key at a time", async () => {
    await withTestDatabase("scrub_fk_order", async (client, url) => {
      await client.query(`
        CREATE TABLE people (id int PRIMARY KEY, email text NOT NULL UNIQUE);
        CREATE TABLE invites (id int PRIMARY KEY, email text NOT NULL REFERENCES people (email), sent date NOT NULL);
        CREATE INDEX invites_sent_idx ON invites (sent);
        CREATE TABLE alerts (id int PRIMARY KEY, email text NOT NULL REFERENCES people (email), body text);
        CREATE INDEX alerts_body_idx ON alerts (body);
        INSERT INTO people SELECT g, 'p' || g || '@example.com' FROM generate_series(1, 300) g;
        INSERT INTO invites SELECT g, 'p' || g || '@example.com', date '2024-01-01' + g FROM generate_series(1, 300) g;
        INSERT INTO alerts SELECT g, 'p' || g || '@example.com', 'hello ' || g FROM generate_series(1, 300) g;`);
      const fkRules = parseScrubRules(
        `version: 1
tables:
  people: { id: keep, email: email }
  invites: { id: keep, email: email, sent: keep }
  alerts: { id: keep, email: email, body: text }
`,
        "fk.yaml",
      );
      const events: ScrubTableProgress[] = [];
      const summary = await scrubDatabase({ databaseUrl: url, rules: fkRules, key: KEY, concurrency: 3, onProgress: (p) => events.push(p) });
      expect(summary.foreignKeysRevalidated).toEqual(["public.alerts.alerts_email_fkey", "public.invites.invites_email_fkey"]);
      for (const [table, fk] of [["public.alerts", "alerts_email_fkey"], ["public.invites", "invites_email_fkey"]]) {
        const at = events.findIndex((e) => e.action === "foreign key validated" && e.message.includes(fk));
        const lastOnItsTables = Math.max(...events.map((e, i) => ([table, "public.people"].includes(e.table) && e.action !== "foreign key validated" && e.phase === "done" ? i : -1)));
        expect(at).toBeGreaterThan(lastOnItsTables);
      }
      const valid = (await client.query(`SELECT conname FROM pg_constraint WHERE contype = 'f' AND convalidated ORDER BY 1`)).rows.map((r) => r.conname);
      expect(valid).toEqual(["alerts_email_fkey", "invites_email_fkey"]);
    });
  });

  it("shift: every day of ±1..maxDays is used and 0 never; by an integer id or a text key, a NULL key still moves the date", async () => {
    await withTestDatabase("scrub_shift", async (client, url) => {
      await client.query(`
        CREATE TABLE visits (id int PRIMARY KEY, account_id int, account_code text, at date NOT NULL, seen date NOT NULL, noted date NOT NULL);
        INSERT INTO visits SELECT g, CASE WHEN g % 50 = 0 THEN NULL ELSE g % 400 END, CASE WHEN g % 50 = 0 THEN NULL ELSE 'acct-' || (g % 400) END,
                                  date '2024-06-01', date '2024-06-01', date '2024-06-01'
                             FROM generate_series(1, 2000) g`);
      const rules = parseScrubRules(
        `version: 1
tables:
  visits:
    id: keep
    account_id: keep
    account_code: keep
    at: { strategy: shift, maxDays: 3 }
    seen: { strategy: shift, maxDays: 3, by: account_id }
    noted: { strategy: shift, maxDays: 3, by: account_code }
`,
        "visits.yaml",
      );
      await scrubDatabase({ databaseUrl: url, rules, key: KEY });
      const moved = (await client.query(`SELECT id, account_id, at - date '2024-06-01' AS at, seen - date '2024-06-01' AS seen, noted - date '2024-06-01' AS noted FROM visits`)).rows;
      // All visits share one date, so `at` (keyed by the value itself) moves them all alike.
      expect(new Set(moved.map((r) => r.at)).size).toBe(1);
      for (const column of ["seen", "noted"]) {
        expect([...new Set(moved.map((r) => r[column] as number))].sort((a, b) => a - b)).toEqual([-3, -2, -1, 1, 2, 3]);
        const perAccount = new Map<unknown, Set<number>>();
        for (const r of moved) perAccount.set(r.account_id, (perAccount.get(r.account_id) ?? new Set()).add(r[column]));
        for (const days of perAccount.values()) expect(days.size).toBe(1);
      }
      expect(moved.filter((r) => r.account_id === null).every((r) => r.seen !== 0 && r.noted !== 0)).toBe(true);
    });
  });
});
