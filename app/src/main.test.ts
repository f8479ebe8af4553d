import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres";
import { portFromEnv } from "./main";
import { PARITY } from "../../infra/parity";

/**
 * The app as the image runs it: built by its own `npm run build` (esbuild, what the Dockerfile runs),
 * started as `node main.js` with the PG* variables, stopped with SIGTERM.
 */

const APP_DIR = join(__dirname, "..");
let outDir: string;
let testDb: TestDatabase;

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), "friday-app-build-"));
  execFileSync("npm", ["run", "--silent", "build", "--", `--outfile=${join(outDir, "main.js")}`, "--log-level=warning"], { cwd: APP_DIR, stdio: "pipe" });
  // What the Dockerfile writes next to the bundle from its APP_COMMIT build argument.
  writeFileSync(join(outDir, "VERSION"), "c0ffee1\n");
  testDb = await createTestDatabase("app_main");
});

afterAll(async () => {
  rmSync(outDir, { recursive: true, force: true });
  await testDb.drop();
});

function pgEnv(url: string): Record<string, string> {
  const u = new URL(url);
  return { PGHOST: u.hostname, PGPORT: u.port, PGDATABASE: u.pathname.slice(1), PGUSER: decodeURIComponent(u.username), PGPASSWORD: decodeURIComponent(u.password), PGSSLMODE: "disable" };
}

/** Starts the bundle; resolves with the child, its port and its log lines once it logged "started". */
function run(env: Record<string, string>): Promise<{ child: ChildProcess; port: number; lines: Array<Record<string, unknown>>; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [join(outDir, "main.js")], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const lines: Array<Record<string, unknown>> = [];
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let buffer = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = JSON.parse(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        if (line.event === "started") resolve({ child, port: line.port, lines, exited });
      }
    });
    void exited.then((code) => reject(new Error(`app exited (${code}) before it started: ${JSON.stringify(lines)}`)));
  });
}

it("serves /healthz and /version from the built bundle, and exits 0 on SIGTERM after a graceful stop", async () => {
  const { child, port, lines, exited } = await run({ ...pgEnv(testDb.url), PORT: "0" });
  const base = `http://127.0.0.1:${port}`;
  expect(lines[0]).toMatchObject({ event: "started", commit: "c0ffee1", flags: "noop" });
  expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: "ok" });
  expect(await (await fetch(`${base}/version`)).json()).toEqual({ commit: "c0ffee1" });

  child.kill("SIGTERM");
  expect(await exited).toBe(0);
  expect(lines.map((l) => l.event)).toEqual(expect.arrayContaining(["signal", "stopping", "stopped"]));
  expect(lines.find((l) => l.event === "stopped")).toMatchObject({ forced: false });
});

it("prefers APP_COMMIT over the VERSION file", async () => {
  const { child, port, exited } = await run({ ...pgEnv(testDb.url), PORT: "0", APP_COMMIT: "feed5ee" });
  expect(await (await fetch(`http://127.0.0.1:${port}/version`)).json()).toEqual({ commit: "feed5ee" });
  child.kill("SIGTERM");
  expect(await exited).toBe(0);
});

it("refuses to start on bad settings, naming the variable", async () => {
  await expect(run({ PORT: "0", PGHOST: "db" })).rejects.toThrow("PGDATABASE, PGUSER are not set");
});

it("listens on the container port friday's parity constants fix, unless PORT says otherwise", () => {
  expect(portFromEnv({})).toBe(PARITY.service.containerPort);
  expect(portFromEnv({ PORT: "9000" })).toBe(9000);
  expect(() => portFromEnv({ PORT: "http" })).toThrow('app: PORT must be a port number (got "http").');
});

