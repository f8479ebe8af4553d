// `npm run bench:scrub [-- --rows 10000000] [-- --rounds 2]`: scrub the realistic fixture (users,
// addresses, orders, payments, audit_log with JSON, sessions, newsletter_subscriptions) at 1M rows
// in total (10M with `--rows 10000000`) on a real PostgreSQL at the RDS engine's major version, and
// compare it with the floor measured on the same server in the same run: a plain copy of the same
// tables, `CREATE TABLE … AS SELECT *`, one after the other — a scrub must at least rewrite every row.
//
// Each round restores a fresh copy of the filled database (CREATE DATABASE … TEMPLATE) and measures,
// on it: the floor, then the scrub with 2 tables in parallel (this machine's core count), then — on a
// second copy — the scrub with 1 (no parallelism), so the gain from parallel tables is visible.
import { readdirSync, readFileSync } from "node:fs";
import { startEmbeddedPostgres } from "../scripts/lib/embedded-postgres";
import { databaseUrlOn, withClient } from "../scripts/migrate/db";
import { FIXTURE_RULES_YAML, FIXTURE_SCHEMA_SQL, fillFixture, fixtureRowCounts } from "../scripts/staging/scrub-fixture";
import { parseScrubRules } from "../scripts/staging/scrub-rules";
import { scrubDatabase, ScrubSummary } from "../scripts/staging/scrub";
import { verifyScrub } from "../scripts/staging/verify";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} needs a positive number (got "${process.argv[i + 1]}")`);
  return value;
}

const TOTAL_ROWS = process.argv.includes("--10m") ? 10_000_000 : flag("--rows", 1_000_000);
const ROUNDS = flag("--rounds", 2);
const KEY = "bench-scrub-key-not-a-secret-0123456789abcdef";
const rules = parseScrubRules(FIXTURE_RULES_YAML, "fixture");

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/**
 * CPU seconds the whole PostgreSQL server has used so far: the postmaster and every live child
 * (backends, parallel workers, checkpointer, …) plus what exited children used (the postmaster's
 * cutime/cstime). Other processes on the machine do not count, so the CPU ratio holds steady when
 * the wall-clock ratio does not (this machine is shared).
 */
function serverCpuSeconds(port: number): number {
  const TICKS = 100;
  const stat = (pid: string) => {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // fields[0] is state (field 3); utime is field 14, stime 15, cutime 16, cstime 17, ppid field 4.
    return { ppid: fields[1], utime: Number(fields[11]), stime: Number(fields[12]), cutime: Number(fields[13]), cstime: Number(fields[14]) };
  };
  const pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  const postmaster = pids.find((pid) => {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      return args[0].endsWith("/postgres") && args[args.indexOf("-p") + 1] === String(port);
    } catch {
      return false;
    }
  });
  if (!postmaster) throw new Error(`no postgres listening on port ${port} found in /proc`);
  const root = stat(postmaster);
  let ticks = root.utime + root.stime + root.cutime + root.cstime;
  for (const pid of pids) {
    try {
      const s = stat(pid);
      if (s.ppid === postmaster) ticks += s.utime + s.stime;
    } catch {
      // exited meanwhile: its time is in the postmaster's cutime/cstime now
    }
  }
  return ticks / TICKS;
}

/** The floor: CREATE TABLE … AS SELECT * of each table the scrub rewrites, one after the other. */
async function floor(url: string, tables: string[], port: number): Promise<{ seconds: number; rows: number; cpu: number }> {
  return withClient(url, async (c) => {
    await c.query("CHECKPOINT");
    let rows = 0;
    const cpu0 = serverCpuSeconds(port);
    const t0 = process.hrtime.bigint();
    for (const t of tables) {
      const r = await c.query(`CREATE TABLE floor_${t} AS SELECT * FROM ${t}`);
      rows += r.rowCount ?? 0;
    }
    const s = seconds(t0);
    const cpu = serverCpuSeconds(port) - cpu0;
    for (const t of tables) await c.query(`DROP TABLE floor_${t}`);
    await c.query("CHECKPOINT");
    return { seconds: s, rows, cpu };
  });
}

/**
 * The issue's reference point: a straightforward CREATE TABLE … AS SELECT with one pgcrypto
 * HMAC-SHA256 per masked value (every masked column, JSON documents as a whole), tables in sequence,
 * no index rebuilt. Measured only to place the scrub; the scrub itself uses no extension.
 */
async function naiveHmacCopy(url: string, tables: string[], port: number): Promise<{ seconds: number; cpu: number }> {
  return withClient(url, async (c) => {
    await c.query("CREATE EXTENSION IF NOT EXISTS pgcrypto");
    await c.query("CHECKPOINT");
    const selects: string[] = [];
    for (const t of tables) {
      const tableRules = rules.tables[`public.${t}`];
      const cols = (await c.query(`SELECT attname FROM pg_attribute WHERE attrelid = '${t}'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`)).rows.map((r) => r.attname as string);
      const list = cols.map((col) => {
        const rule = tableRules && !tableRules.truncate ? tableRules.columns[col] : undefined;
        return rule && rule.strategy !== "keep" ? `encode(hmac(${col}::text, 'bench-key-0123456789abcdef0123456789', 'sha256'), 'hex') AS ${col}` : col;
      });
      selects.push(`CREATE TABLE naive_${t} AS SELECT ${list.join(", ")} FROM ${t}`);
    }
    const cpu0 = serverCpuSeconds(port);
    const t0 = process.hrtime.bigint();
    for (const sql of selects) await c.query(sql);
    const result = { seconds: seconds(t0), cpu: serverCpuSeconds(port) - cpu0 };
    for (const t of tables) await c.query(`DROP TABLE naive_${t}`);
    await c.query("DROP EXTENSION pgcrypto");
    return result;
  });
}

async function main(): Promise<void> {
  const users = Math.round(TOTAL_ROWS / 8.75);
  const counts = fixtureRowCounts(users);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  console.log(`bench:scrub — ${fmt(total)} rows: ${Object.entries(counts).map(([t, n]) => `${t} ${fmt(n)}`).join(", ")}; ${ROUNDS} round(s)`);
  const server = await startEmbeddedPostgres();
  try {
    const t0 = process.hrtime.bigint();
    await withClient(server.url, (c) => c.query("CREATE DATABASE scrub_template"));
    await withClient(databaseUrlOn(server.url, "scrub_template"), async (c) => {
      await c.query(FIXTURE_SCHEMA_SQL);
      await fillFixture(c, users);
      await c.query("VACUUM ANALYZE");
    });
    console.log(`filled in ${seconds(t0).toFixed(1)} s (PostgreSQL ${server.majorVersion})`);
    const rewritten = ["users", "addresses", "orders", "payments", "audit_log", "newsletter_subscriptions"];

    const port = Number(new URL(server.url).port);
    type Measured = { seconds: number; cpu: number; summary: ScrubSummary };
    const scrub = async (url: string, concurrency: number, log: boolean): Promise<Measured> => {
      await withClient(url, (c) => c.query("CHECKPOINT"));
      const cpu0 = serverCpuSeconds(port);
      const summary = await scrubDatabase({ databaseUrl: url, rules, key: KEY, concurrency, onProgress: (p) => log && p.phase === "done" && console.log(`  ${p.message}`) });
      return { seconds: summary.seconds, cpu: serverCpuSeconds(port) - cpu0, summary };
    };
    const results: { round: number; floor: { seconds: number; rows: number; cpu: number }; parallel: Measured; serial: Measured }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const copy = async (name: string) => {
        await withClient(server.url, (c) => c.query(`CREATE DATABASE ${name} TEMPLATE scrub_template`));
        return databaseUrlOn(server.url, name);
      };
      const a = await copy(`scrub_a${round}`);
      const f = await floor(a, rewritten, port);
      console.log(`round ${round}: floor (CREATE TABLE … AS SELECT *, ${rewritten.length} tables in sequence): ${fmt(f.rows)} rows in ${f.seconds.toFixed(2)} s (${fmt(f.rows / f.seconds)} rows/s), server CPU ${f.cpu.toFixed(2)} s`);
      const naive = await naiveHmacCopy(a, rewritten, port);
      console.log(
        `round ${round}: reference, CREATE TABLE … AS SELECT with a pgcrypto HMAC per masked value, no indexes: ${naive.seconds.toFixed(2)} s = ${(naive.seconds / f.seconds).toFixed(2)}× the floor; server CPU ${naive.cpu.toFixed(2)} s = ${(naive.cpu / f.cpu).toFixed(2)}× the floor's`,
      );
      const parallel = await scrub(a, 2, true);
      console.log(
        `round ${round}: scrub, 2 tables in parallel: ${fmt(parallel.summary.rows)} rows in ${parallel.seconds.toFixed(2)} s (${fmt(parallel.summary.rowsPerSecond)} rows/s) = ${(parallel.seconds / f.seconds).toFixed(2)}× the floor; server CPU ${parallel.cpu.toFixed(2)} s = ${(parallel.cpu / f.cpu).toFixed(2)}× the floor's`,
      );
      if (round === 1) {
        const v = await verifyScrub({ databaseUrl: a, rules });
        console.log(`round ${round}: verify ${v.ok ? "passed" : `FAILED: ${v.problems.join("; ")}`} in ${v.seconds.toFixed(1)} s`);
      }
      await withClient(server.url, (c) => c.query(`DROP DATABASE scrub_a${round}`));
      const b = await copy(`scrub_b${round}`);
      const serial = await scrub(b, 1, false);
      console.log(
        `round ${round}: scrub, 1 table at a time:    ${fmt(serial.summary.rows)} rows in ${serial.seconds.toFixed(2)} s (${fmt(serial.summary.rowsPerSecond)} rows/s) = ${(serial.seconds / f.seconds).toFixed(2)}× the floor; server CPU ${serial.cpu.toFixed(2)} s = ${(serial.cpu / f.cpu).toFixed(2)}× the floor's`,
      );
      await withClient(server.url, (c) => c.query(`DROP DATABASE scrub_b${round}`));
      results.push({ round, floor: f, parallel, serial });
    }

    const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
    console.log("");
    console.log(`load average at the end: ${load} (2 cores)`);
    console.log("| round | floor s (CPU s) | floor rows/s | scrub ×2 s (CPU s) | scrub ×2 rows/s | wall ratio ×2 | scrub ×1 s (CPU s) | wall ratio ×1 | CPU ratio |");
    console.log("|---|---|---|---|---|---|---|---|---|");
    for (const r of results) {
      console.log(
        `| ${r.round} | ${r.floor.seconds.toFixed(2)} (${r.floor.cpu.toFixed(2)}) | ${fmt(r.floor.rows / r.floor.seconds)} | ${r.parallel.seconds.toFixed(2)} (${r.parallel.cpu.toFixed(2)}) | ${fmt(r.parallel.summary.rowsPerSecond)} | ${(r.parallel.seconds / r.floor.seconds).toFixed(2)}× | ${r.serial.seconds.toFixed(2)} (${r.serial.cpu.toFixed(2)}) | ${(r.serial.seconds / r.floor.seconds).toFixed(2)}× | ${(r.serial.cpu / r.floor.cpu).toFixed(2)}× |`,
      );
    }
  } finally {
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
