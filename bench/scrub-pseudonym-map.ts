// `npm run bench:scrub-map [-- --rows 1000000] [--rounds 3]`: the one idea docs/benchmarks.md
// listed as "not tried" for the scrub's speed — compute each distinct email's keyed pseudonym once
// (a map table) and join it in, instead of an HMAC wherever the email appears (users.email,
// orders.contact_email, newsletter_subscriptions.email, audit_log's payload actor.email).
//
// It measures the most that idea could save, not a scrub built on it: server CPU (from /proc,
// bench/server-cpu.ts, as bench:scrub reads it) of computing the pseudonyms both ways over the fixture, each value read
// with count() so no table is written. A rewrite that joined the map would also need
// CREATE TABLE … AS SELECT and a table swap (ALTER TABLE … USING takes no subquery or join), which
// costs its own CPU and loses what ALTER TABLE keeps (grants, triggers, dependent foreign keys).
import { readFileSync } from "node:fs";
import { startEmbeddedPostgres } from "../scripts/lib/embedded-postgres";
import { databaseUrlOn, withClient } from "../scripts/migrate/db";
import { FIXTURE_SCHEMA_SQL, fillFixture } from "../scripts/staging/scrub-fixture";
import { serverCpuSeconds } from "./server-cpu";
import { deriveKeyMaterial, HELPER_FUNCTIONS_SQL, KEY_SETTINGS, maskTextSql, SCRUB_SCHEMA } from "../scripts/staging/scrub-sql";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} needs a positive whole number (got "${process.argv[i + 1]}")`);
  return value;
}

/** The scrub's own email mask (what it computes wherever an email appears). */
const EMAIL = (v: string) => maskTextSql({ strategy: "email" }, v, "scrubbed.invalid");

/** Where an email appears in the fixture, as (table, value expression). */
const PLACES: Array<[string, string]> = [
  ["users", "users.email"],
  ["orders", "orders.contact_email"],
  ["newsletter_subscriptions", "newsletter_subscriptions.email"],
  ["audit_log", "audit_log.payload #>> '{actor,email}'"],
];

async function main(): Promise<void> {
  const rows = flag("--rows", 1_000_000);
  const rounds = flag("--rounds", 3);
  const server = await startEmbeddedPostgres();
  const port = Number(new URL(server.url).port);
  try {
    await withClient(server.url, (c) => c.query("CREATE DATABASE map_bench"));
    const url = databaseUrlOn(server.url, "map_bench");
    await withClient(url, async (c) => {
      await c.query(FIXTURE_SCHEMA_SQL);
      await fillFixture(c, Math.round(rows / 8.75));
      await c.query("VACUUM ANALYZE");
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${SCRUB_SCHEMA}`);
      await c.query(HELPER_FUNCTIONS_SQL);
      const m = deriveKeyMaterial("bench-scrub-key-not-a-secret-0123456789abcdef");
      await c.query("SELECT set_config($1, $2, false), set_config($3, $4, false), set_config($5, $6, false), set_config('client_encoding', 'UTF8', false)", [
        KEY_SETTINGS.innerPad, m.innerPadHex, KEY_SETTINGS.outerPad, m.outerPadHex, KEY_SETTINGS.seed, m.seed,
      ]);
      const counts = await c.query(`SELECT ${PLACES.map(([t, v], i) => `(SELECT count(${v}) FROM ${t}) AS c${i}`).join(", ")}, (SELECT count(*) FROM users) AS d`);
      const values = PLACES.reduce((n, _, i) => n + Number(counts.rows[0][`c${i}`]), 0);
      console.log(`bench:scrub-map — ${rows.toLocaleString("en-US")} rows: ${values.toLocaleString("en-US")} email values, ${Number(counts.rows[0].d).toLocaleString("en-US")} distinct`);
      const measure = async (sqls: string[]) => {
        const cpu0 = serverCpuSeconds(port);
        const t0 = process.hrtime.bigint();
        for (const sql of sqls) await c.query(sql);
        return { cpu: serverCpuSeconds(port) - cpu0, wall: Number(process.hrtime.bigint() - t0) / 1e9 };
      };
      const plain = PLACES.map(([t, v]) => `SELECT count(${v}) FROM ${t}`);
      const inline = PLACES.map(([t, v]) => `SELECT count(${EMAIL(v)}) FROM ${t}`);
      const map = [
        "DROP TABLE IF EXISTS email_map",
        `CREATE TEMP TABLE email_map AS SELECT v, ${EMAIL("v")} AS p FROM (${PLACES.map(([t, v]) => `SELECT ${v} AS v FROM ${t}`).join(" UNION ")}) s WHERE v IS NOT NULL`,
        "ANALYZE email_map",
        ...PLACES.map(([t, v]) => `SELECT count(m.p) FROM ${t} LEFT JOIN email_map m ON m.v = ${v}`),
      ];
      console.log("| round | reading the values (CPU s) | an HMAC where each appears (CPU s) | distinct map + joins (CPU s) | inline − reading | map − reading |");
      console.log("|---|---|---|---|---|---|");
      for (let round = 1; round <= rounds; round++) {
        const p = await measure(plain);
        const i = await measure(inline);
        const j = await measure(map);
        console.log(`| ${round} | ${p.cpu.toFixed(2)} | ${i.cpu.toFixed(2)} | ${j.cpu.toFixed(2)} | ${(i.cpu - p.cpu).toFixed(2)} | ${(j.cpu - p.cpu).toFixed(2)} |`);
      }
    });
  } finally {
    await server.stop();
  }
  console.log(`load average at the end: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")} (2 cores)`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
