import type { Server } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { OpenFeature, type Client } from "@openfeature/server-sdk";
import { createTestDatabase, type TestDatabase } from "../../test/support/postgres";
import { startFakeAgent, type FakeAgent } from "../../packages/openfeature-appconfig-agent/src/testing/fake-agent";
import { createDatabase, databaseConfigFromEnv, type Database } from "./database";
import { configureFlags, flagSettingsFromEnv } from "./flags";
import { createServer, listen, stopServer } from "./server";

/** The PG* variables ECS would inject, for a connection URL. */
function pgEnv(url: string): NodeJS.ProcessEnv {
  const u = new URL(url);
  return {
    PGHOST: u.hostname,
    PGPORT: u.port,
    PGDATABASE: u.pathname.slice(1),
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGSSLMODE: "disable",
  };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

const logs: Array<Record<string, unknown>> = [];
const log = (entry: Record<string, unknown>) => logs.push(entry);
let domainCounter = 0;

interface Running {
  base: string;
  server: Server;
  db: Database;
}
const running: Running[] = [];

async function start(env: NodeJS.ProcessEnv, flags?: Client, commit = "abc1234"): Promise<Running> {
  const db = createDatabase(databaseConfigFromEnv(env), log);
  const client = flags ?? (await configureFlags(flagSettingsFromEnv({}), `app-test-${++domainCounter}`));
  const server = createServer({ db, flags: client, commit, log });
  const port = await listen(server, 0, "127.0.0.1");
  const r = { base: `http://127.0.0.1:${port}`, server, db };
  running.push(r);
  return r;
}

async function get(base: string, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, any>, headers: res.headers };
}

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase("app_server");
  const quiet = () => undefined;
  OpenFeature.setLogger({ error: quiet, warn: quiet, info: quiet, debug: quiet });
});

afterEach(async () => {
  for (const r of running.splice(0)) {
    await stopServer(r.server, 1000);
    await r.db.close();
  }
  logs.length = 0;
});

afterAll(async () => {
  await OpenFeature.close();
  await testDb.drop();
});

describe("GET /healthz", () => {
  it("answers 200 ok when PostgreSQL answers SELECT 1 (connected through the PG* variables)", async () => {
    const { base } = await start(pgEnv(testDb.url));
    expect(await get(base, "/healthz")).toMatchObject({ status: 200, body: { status: "ok" } });
    // Health checks are not logged when they pass.
    expect(logs.filter((l) => l.path === "/healthz")).toEqual([]);
  });

  it("answers 503 when the database is down", async () => {
    const { base } = await start({ ...pgEnv(testDb.url), PGPORT: String(await closedPort()) });
    expect(await get(base, "/healthz")).toMatchObject({ status: 503, body: { status: "unavailable", reason: "database did not answer" } });
    expect(logs).toContainEqual(expect.objectContaining({ event: "healthz-db-failed" }));
    expect(logs).toContainEqual(expect.objectContaining({ event: "request", path: "/healthz", status: 503 }));
  });

  it("answers 503 when the password is wrong (the secret rotated under a running task)", async () => {
    const { base } = await start({ ...pgEnv(testDb.url), PGUSER: "nobody_here" });
    expect((await get(base, "/healthz")).status).toBe(503);
  });

  it("answers 503 while the server drains, so the ALB stops sending traffic", async () => {
    const { base, server } = await start(pgEnv(testDb.url));
    const res = await fetch(`${base}/healthz`, { headers: { connection: "keep-alive" } });
    expect(res.status).toBe(200);
    await res.text();
    const stopping = stopServer(server, 2000);
    // The server no longer accepts connections; the idle keep-alive one is closed.
    await expect(stopping).resolves.toEqual({ forced: false });
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});

describe("graceful stop", () => {
  it("lets a request in flight finish, then closes", async () => {
    let release!: () => void;
    const slowDb: Database = { ping: () => new Promise<void>((resolve) => (release = resolve)), close: async () => undefined };
    const flags = await configureFlags(flagSettingsFromEnv({}), `app-test-${++domainCounter}`);
    const server = createServer({ db: slowDb, flags, commit: "x", log });
    const port = await listen(server, 0, "127.0.0.1");
    const inFlight = fetch(`http://127.0.0.1:${port}/healthz`);
    while (!release) await new Promise((resolve) => setTimeout(resolve, 5));
    const stopping = stopServer(server, 5000);
    let stopped = false;
    void stopping.then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stopped).toBe(false); // still waiting for the request
    release();
    expect((await inFlight).status).toBe(200);
    await expect(stopping).resolves.toEqual({ forced: false });
  });

  it("cuts what is still open after the timeout", async () => {
    const hangingDb: Database = { ping: () => new Promise<void>(() => undefined), close: async () => undefined };
    const flags = await configureFlags(flagSettingsFromEnv({}), `app-test-${++domainCounter}`);
    const server = createServer({ db: hangingDb, flags, commit: "x", log });
    const port = await listen(server, 0, "127.0.0.1");
    const inFlight = fetch(`http://127.0.0.1:${port}/healthz`).catch((error: Error) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(stopServer(server, 100)).resolves.toEqual({ forced: true });
    expect(await inFlight).toHaveProperty("message", "fetch failed"); // the connection was cut
  });
});

describe("GET /version", () => {
  it("answers the image's commit", async () => {
    const { base } = await start(pgEnv(testDb.url), undefined, "0f3c9a1");
    expect(await get(base, "/version")).toMatchObject({ status: 200, body: { commit: "0f3c9a1" } });
  });
});

describe("GET /greeting", () => {
  let agent: FakeAgent;
  beforeEach(async () => {
    agent = await startFakeAgent();
    agent.deploy("friday-test", "test", "flags", {
      version: "1",
      flags: { "new-greeting": { name: "new-greeting" } },
      values: {
        "new-greeting": {
          _variants: [
            { name: "team", enabled: true, rule: '(in $userId ["alice"])' },
            { name: "default", enabled: false },
          ],
        },
      },
    });
  });
  afterEach(() => agent.close());

  const agentEnv = (endpoint: string) => ({ APPCONFIG_APPLICATION: "friday-test", APPCONFIG_ENVIRONMENT: "test", APPCONFIG_AGENT_URL: endpoint });

  it("answers the default greeting with the no-op provider (no AppConfig settings)", async () => {
    const { base } = await start(pgEnv(testDb.url));
    expect(await get(base, "/greeting?name=Ada")).toMatchObject({
      status: 200,
      body: { greeting: "Hello, Ada.", flag: { key: "new-greeting", value: false } },
    });
  });

  it("reads the flag through the AppConfig Agent: on for the team, off for everyone else", async () => {
    const flags = await configureFlags(flagSettingsFromEnv(agentEnv(agent.url)), `app-test-${++domainCounter}`);
    const { base } = await start(pgEnv(testDb.url), flags);
    expect(await get(base, "/greeting?name=Alice", { "x-user-id": "alice" })).toMatchObject({
      status: 200,
      body: { greeting: "Hey Alice, welcome to the new friday!", flag: { value: true, reason: "TARGETING_MATCH" } },
    });
    expect(await get(base, "/greeting?user=bob")).toMatchObject({ status: 200, body: { greeting: "Hello, friend.", flag: { value: false } } });
    expect(agent.requests.map((r) => r.context.userId)).toEqual(expect.arrayContaining(["alice", "bob"]));
  });

  it("answers the default greeting when the agent is unreachable, and never fails the request", async () => {
    const flags = await configureFlags(flagSettingsFromEnv(agentEnv(`http://127.0.0.1:${await closedPort()}`)), `app-test-${++domainCounter}`, { timeoutMs: 100 });
    const { base } = await start(pgEnv(testDb.url), flags);
    expect(await get(base, "/greeting?name=Alice", { "x-user-id": "alice" })).toMatchObject({
      status: 200,
      body: { greeting: "Hello, Alice.", flag: { key: "new-greeting", value: false, reason: "ERROR", errorCode: "GENERAL" } },
    });
  });

  it("keeps a user-supplied name short and printable", async () => {
    const { base } = await start(pgEnv(testDb.url));
    const { body } = await get(base, `/greeting?name=${encodeURIComponent("<script>alert(1)</script>" + "x".repeat(100))}`);
    expect(body.greeting).toBe(`Hello, scriptalert1script${"x".repeat(22)}.`); // 40 characters at most
  });
});

describe("routing", () => {
  it("answers 404 for unknown paths and 405 for other methods", async () => {
    const { base } = await start(pgEnv(testDb.url));
    expect(await get(base, "/nope")).toMatchObject({ status: 404, body: { error: "no route for /nope" } });
    const post = await fetch(`${base}/healthz`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });
});

describe("settings from the environment", () => {
  it("maps PGSSLMODE the libpq way, with the RDS CA from PGSSLROOTCERT", () => {
    const base = { PGHOST: "db.internal", PGDATABASE: "app", PGUSER: "friday" };
    const readFile = (path: string) => `CA from ${path}`;
    expect(databaseConfigFromEnv({ ...base, PGSSLMODE: "disable" }).ssl).toBe(false);
    expect(databaseConfigFromEnv({ ...base, PGSSLMODE: "require" }).ssl).toEqual({ rejectUnauthorized: false });
    expect(databaseConfigFromEnv({ ...base, PGSSLMODE: "verify-full", PGSSLROOTCERT: "/etc/ssl/rds.pem" }, readFile).ssl).toEqual({
      rejectUnauthorized: true,
      ca: "CA from /etc/ssl/rds.pem",
    });
    const verifyCa = databaseConfigFromEnv({ ...base, PGSSLMODE: "verify-ca" }).ssl as { rejectUnauthorized: boolean; checkServerIdentity: () => undefined };
    expect(verifyCa.rejectUnauthorized).toBe(true);
    expect(verifyCa.checkServerIdentity()).toBeUndefined();
    expect(databaseConfigFromEnv(base)).toMatchObject({ host: "db.internal", port: 5432, database: "app", user: "friday", ssl: false });
  });

  it("rejects missing or bad database settings with one message", () => {
    expect(() => databaseConfigFromEnv({ PGHOST: "db" })).toThrow("app: PGDATABASE, PGUSER are not set.");
    expect(() => databaseConfigFromEnv({ PGHOST: "db", PGDATABASE: "a", PGUSER: "u", PGPORT: "x" })).toThrow('app: PGPORT must be a port number (got "x").');
    expect(() => databaseConfigFromEnv({ PGHOST: "db", PGDATABASE: "a", PGUSER: "u", PGSSLMODE: "on" })).toThrow("app: PGSSLMODE must be one of disable, allow, prefer, require, verify-ca, verify-full (got \"on\").");
  });

  it("uses the agent only when both AppConfig names are set", () => {
    expect(flagSettingsFromEnv({})).toEqual({ provider: "noop" });
    expect(flagSettingsFromEnv({ APPCONFIG_APPLICATION: "friday-prod", APPCONFIG_ENVIRONMENT: "prod" })).toEqual({
      provider: "appconfig-agent",
      application: "friday-prod",
      environment: "prod",
      profile: "flags",
      endpoint: "http://localhost:2772",
    });
    expect(() => flagSettingsFromEnv({ APPCONFIG_APPLICATION: "friday-prod" })).toThrow("app: set both APPCONFIG_APPLICATION and APPCONFIG_ENVIRONMENT");
  });
});
