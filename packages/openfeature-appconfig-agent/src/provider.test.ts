import { ErrorCode, OpenFeature, StandardResolutionReasons } from "@openfeature/server-sdk";
import { createServer } from "node:net";
import { AppConfigAgentProvider } from "./index";
import { FakeAgent, FeatureFlagsDocument, startFakeAgent } from "./testing/fake-agent";

const APP = "friday-test";
const ENV = "test";

const document: FeatureFlagsDocument = {
  version: "1",
  flags: {
    "new-checkout": { name: "new-checkout", attributes: { color: { constraints: { type: "string" } }, maxItems: { constraints: { type: "number" } } } },
    "dark-mode": { name: "dark-mode" },
    "team-only": { name: "team-only" },
  },
  values: {
    "new-checkout": {
      _variants: [
        { name: "team", enabled: true, rule: '(or (in $userId ["alice", "bob"]) (in $group ["staff"]))', attributeValues: { color: "green", maxItems: 10 } },
        { name: "rollout", enabled: true, rule: '(split by::$userId pct::30 seed::"new-checkout")', attributeValues: { color: "green", maxItems: 10 } },
        { name: "default", enabled: false, attributeValues: { color: "blue", maxItems: 5 } },
      ],
    },
    "dark-mode": { enabled: true, theme: "night" },
    "team-only": {
      _variants: [
        { name: "team", enabled: true, rule: '(in $userId ["alice"])' },
        { name: "default", enabled: false },
      ],
    },
  },
};

let agent: FakeAgent;
let domainCounter = 0;

beforeAll(() => {
  const quiet = () => undefined;
  OpenFeature.setLogger({ error: quiet, warn: quiet, info: quiet, debug: quiet });
});

beforeEach(async () => {
  agent = await startFakeAgent();
  agent.deploy(APP, ENV, "flags", document);
});

afterEach(async () => {
  await OpenFeature.close();
  await agent.close();
});

/** A client bound to a fresh provider (its own cache) in its own domain. */
async function client(options: Partial<ConstructorParameters<typeof AppConfigAgentProvider>[0]> = {}) {
  const domain = `test-${++domainCounter}`;
  const provider = new AppConfigAgentProvider({ application: APP, environment: ENV, endpoint: agent.url, ...options });
  await OpenFeature.setProviderAndWait(domain, provider);
  return OpenFeature.getClient(domain);
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test("reads a basic flag and its attributes from the agent's path for app/env/profile", async () => {
  const flags = await client();
  const details = await flags.getBooleanDetails("dark-mode", false);
  expect(details).toMatchObject({ value: true, reason: StandardResolutionReasons.STATIC });
  expect(details.errorCode).toBeUndefined();
  expect(await flags.getStringValue("dark-mode.theme", "day")).toBe("night");
  expect(await flags.getObjectValue("dark-mode", {})).toEqual({ enabled: true, theme: "night" });
  expect(agent.requests.at(-1)!.path).toBe(`/applications/${APP}/environments/${ENV}/configurations/flags`);
});

test("sends the evaluation context in Context headers: targeting key as userId, scalar attributes as they are", async () => {
  const flags = await client();
  await flags.getBooleanValue("new-checkout", false, { targetingKey: "alice", group: "staff", plan: 3, beta: true, tags: ["x"] });
  const last = agent.requests.at(-1)!;
  expect(last.context).toEqual({ userId: "alice", group: "staff", plan: "3", beta: "true" });
  expect(last.headers["context"]).toEqual("userId=alice, group=staff, plan=3, beta=true");
});

test("multi-variant flags: team members by user id or group, a stable split for everyone else", async () => {
  // Hundreds of first requests at once on a busy CI machine: a generous timeout (timeouts are tested below).
  const flags = await client({ timeoutMs: 10_000 });
  const alice = await flags.getBooleanDetails("new-checkout", false, { targetingKey: "alice" });
  expect(alice).toMatchObject({ value: true, variant: "team", reason: StandardResolutionReasons.TARGETING_MATCH });
  expect(await flags.getBooleanValue("new-checkout", false, { targetingKey: "zed", group: "staff" })).toBe(true);
  expect(await flags.getNumberValue("new-checkout.maxItems", 0, { targetingKey: "alice" })).toBe(10);

  // 400 users: roughly 30% land in the rollout variant, the rest get the default (off).
  const users = Array.from({ length: 400 }, (_, i) => `user-${i}`);
  const first = await Promise.all(users.map((u) => flags.getBooleanDetails("new-checkout", false, { targetingKey: u })));
  const on = first.filter((d) => d.value).length;
  expect(on).toBeGreaterThan(80);
  expect(on).toBeLessThan(160);
  expect(new Set(first.map((d) => d.variant))).toEqual(new Set(["rollout", "default"]));
  expect(first.filter((d) => !d.value).every((d) => d.variant === "default")).toBe(true);

  // Same user → same bucket: again through the cache, and through a fresh provider that asks the agent.
  const again = await Promise.all(users.map((u) => flags.getBooleanValue("new-checkout", false, { targetingKey: u })));
  const fresh = await client({ timeoutMs: 10_000 });
  const viaAgent = await Promise.all(users.map((u) => fresh.getBooleanValue("new-checkout", false, { targetingKey: u })));
  expect(again).toEqual(first.map((d) => d.value));
  expect(viaAgent).toEqual(first.map((d) => d.value));
});

test("the cache never hands one user's answer to another", async () => {
  const flags = await client();
  expect(await flags.getBooleanValue("team-only", false, { targetingKey: "alice" })).toBe(true);
  expect(await flags.getBooleanValue("team-only", false, { targetingKey: "bob" })).toBe(false);
  expect(await flags.getBooleanValue("team-only", false, { targetingKey: "alice" })).toBe(true);
  expect(await flags.getBooleanValue("team-only", false, {})).toBe(false);
});

test("caches per context for the TTL, then asks the agent again", async () => {
  const flags = await client({ cacheTtlMs: 60_000 });
  const before = agent.requests.length;
  for (let i = 0; i < 20; i++) await flags.getBooleanValue("dark-mode", false, { targetingKey: "carol" });
  expect(agent.requests.length - before).toBe(1);

  const shortLived = await client({ cacheTtlMs: 1, maxStaleMs: 1 });
  await shortLived.getBooleanValue("dark-mode", false, { targetingKey: "carol" });
  agent.deploy(APP, ENV, "flags", { ...document, values: { ...document.values, "dark-mode": { enabled: false } } });
  await new Promise((resolve) => setTimeout(resolve, 5));
  expect(await shortLived.getBooleanValue("dark-mode", true, { targetingKey: "carol" })).toBe(false);
});

test("concurrent misses for one context share one request to the agent", async () => {
  const flags = await client();
  const before = agent.requests.length;
  await Promise.all(Array.from({ length: 25 }, () => flags.getBooleanValue("dark-mode", false, { targetingKey: "dave" })));
  expect(agent.requests.length - before).toBe(1);
});

test("agent down: the caller's default with reason ERROR and code GENERAL, never a throw", async () => {
  const port = await closedPort();
  const flags = await client({ endpoint: `http://127.0.0.1:${port}` });
  const details = await flags.getBooleanDetails("dark-mode", false, { targetingKey: "erin" });
  expect(details).toMatchObject({ value: false, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.GENERAL });
  expect(details.errorMessage).toMatch(new RegExp(`AppConfig Agent at http://127.0.0.1:${port}/applications/.* is unreachable: ECONNREFUSED`));
  expect(await flags.getStringValue("dark-mode.theme", "day")).toBe("day");
});

test("startup with the agent not up yet: the provider is READY and answers defaults until the agent answers", async () => {
  const port = await closedPort();
  const provider = new AppConfigAgentProvider({ application: APP, environment: ENV, endpoint: `http://127.0.0.1:${port}`, timeoutMs: 50 });
  await OpenFeature.setProviderAndWait("starting", provider);
  const flags = OpenFeature.getClient("starting");
  expect(flags.providerStatus).toBe("READY");
  expect(await flags.getBooleanDetails("dark-mode", false)).toMatchObject({ value: false, errorCode: ErrorCode.GENERAL });
});

test("agent slow: times out and returns the default", async () => {
  const flags = await client({ timeoutMs: 50 });
  agent.setBehavior({ mode: "slow", delayMs: 500 });
  const details = await flags.getBooleanDetails("dark-mode", false, { targetingKey: "frank" });
  expect(details).toMatchObject({ value: false, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.GENERAL });
  expect(details.errorMessage).toContain("did not answer within 50 ms");
});

test("agent malformed: PARSE_ERROR; HTTP errors: GENERAL with the status", async () => {
  const flags = await client();
  agent.setBehavior({ mode: "malformed" });
  const malformed = await flags.getBooleanDetails("dark-mode", true, { targetingKey: "gina" });
  expect(malformed).toMatchObject({ value: true, errorCode: ErrorCode.PARSE_ERROR, reason: StandardResolutionReasons.ERROR });
  expect(malformed.errorMessage).toContain("invalid JSON");

  agent.setBehavior({ mode: "status", status: 500, body: "InternalServerError" });
  const failed = await flags.getBooleanDetails("dark-mode", true, { targetingKey: "hank" });
  expect(failed).toMatchObject({ value: true, errorCode: ErrorCode.GENERAL });
  expect(failed.errorMessage).toContain("answered HTTP 500: InternalServerError");

  agent.setBehavior({ mode: "ok" });
  const notDeployed = await client({ environment: "nowhere" });
  const missing = await notDeployed.getBooleanDetails("dark-mode", true);
  expect(missing).toMatchObject({ value: true, errorCode: ErrorCode.GENERAL });
  expect(missing.errorMessage).toContain("HTTP 404");
});

test("unknown flags, unknown attributes and wrong types report their OpenFeature error codes", async () => {
  const flags = await client();
  const unknown = await flags.getBooleanDetails("no-such-flag", true);
  expect(unknown).toMatchObject({ value: true, errorCode: ErrorCode.FLAG_NOT_FOUND, reason: StandardResolutionReasons.ERROR });
  expect(unknown.errorMessage).toContain('flag "no-such-flag" is not in');
  expect(await flags.getStringDetails("dark-mode.nope", "x")).toMatchObject({ value: "x", errorCode: ErrorCode.FLAG_NOT_FOUND });
  expect(await flags.getNumberDetails("dark-mode.theme", 7)).toMatchObject({ value: 7, errorCode: ErrorCode.TYPE_MISMATCH });
  expect(await flags.getStringDetails("dark-mode", "x")).toMatchObject({ value: "x", errorCode: ErrorCode.TYPE_MISMATCH });
});

test("an outage is not a request storm: a failure is remembered briefly per context, a stale refresh tried once per TTL", async () => {
  const flags = await client({ cacheTtlMs: 60_000 });
  agent.setBehavior({ mode: "status", status: 503 });
  const before = agent.requests.length;
  const answers = await Promise.all(Array.from({ length: 50 }, () => flags.getBooleanDetails("dark-mode", true, { targetingKey: "kim" })));
  for (let i = 0; i < 50; i++) await flags.getBooleanValue("dark-mode", true, { targetingKey: "kim" });
  expect(agent.requests.length - before).toBe(1);
  expect(answers.every((a) => a.value === true && a.errorCode === ErrorCode.GENERAL)).toBe(true);

  agent.setBehavior({ mode: "ok" });
  const stale = await client({ cacheTtlMs: 20, maxStaleMs: 60_000 });
  await stale.getBooleanValue("dark-mode", false, { targetingKey: "lee" });
  agent.setBehavior({ mode: "status", status: 503 });
  await new Promise((resolve) => setTimeout(resolve, 25));
  const beforeStale = agent.requests.length;
  for (let i = 0; i < 50; i++) expect(await stale.getBooleanValue("dark-mode", false, { targetingKey: "lee" })).toBe(true);
  await new Promise((resolve) => setTimeout(resolve, 10)); // let the one background refresh reach the agent
  expect(agent.requests.length - beforeStale).toBe(1);
});

test("serves the last answer while the agent is down, for at most maxStaleMs", async () => {
  const flags = await client({ cacheTtlMs: 1, maxStaleMs: 500, timeoutMs: 50 });
  expect(await flags.getBooleanValue("dark-mode", false, { targetingKey: "ivy" })).toBe(true);
  agent.setBehavior({ mode: "status", status: 503 });
  await new Promise((resolve) => setTimeout(resolve, 5));
  expect(await flags.getBooleanValue("dark-mode", false, { targetingKey: "ivy" })).toBe(true);
  await new Promise((resolve) => setTimeout(resolve, 550));
  const details = await flags.getBooleanDetails("dark-mode", false, { targetingKey: "ivy" });
  expect(details).toMatchObject({ value: false, errorCode: ErrorCode.GENERAL });
});

test("contextAttributes limits what is sent (and cached on); access token goes in Authorization", async () => {
  const flags = await client({ contextAttributes: ["group"], accessToken: "s3cret" });
  await flags.getBooleanValue("new-checkout", false, { targetingKey: "alice", group: "staff", requestId: "r-1" });
  const before = agent.requests.length;
  await flags.getBooleanValue("new-checkout", false, { targetingKey: "alice", group: "staff", requestId: "r-2" });
  expect(agent.requests.length).toBe(before);
  expect(agent.requests.at(-1)!.context).toEqual({ userId: "alice", group: "staff" });
  expect(agent.requests.at(-1)!.headers.authorization).toBe("Bearer s3cret");
});

test("values the agent cannot take in a header (commas, non-ASCII) are not sent", async () => {
  const flags = await client();
  await flags.getBooleanValue("dark-mode", false, { targetingKey: "jo", note: "a,b", city: "Zürich", plan: "pro" });
  expect(agent.requests.at(-1)!.context).toEqual({ userId: "jo", plan: "pro" });
});

test("rejects missing options with a clear message", () => {
  expect(() => new AppConfigAgentProvider({ application: "", environment: "prod" })).toThrow(
    'AppConfigAgentProvider: options.application is required (got "").',
  );
});
