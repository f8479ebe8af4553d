import { ErrorCode, type Logger, OpenFeature, ProviderEvents, StandardResolutionReasons } from "@openfeature/server-sdk";
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
  // A busy CI machine can take longer than the 200 ms default to connect: tests of timeouts set their own.
  const provider = new AppConfigAgentProvider({ application: APP, environment: ENV, endpoint: agent.url, timeoutMs: 5_000, ...options });
  await OpenFeature.setProviderAndWait(domain, provider);
  return OpenFeature.getClient(domain);
}

/** A logger that keeps what it is told. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (message: string) => void lines.push(`${level}: ${message}`);
  return { lines, error: keep("error"), warn: keep("warn"), info: keep("info"), debug: keep("debug") };
}

/** Resolves with the next event of this type the provider emits. */
function nextEvent(provider: AppConfigAgentProvider, type: ProviderEvents): Promise<{ message?: string; flagsChanged?: string[] }> {
  return new Promise((resolve) => {
    const handler = (details?: { message?: string; flagsChanged?: string[] }) => {
      provider.events.removeHandler(type, handler);
      resolve(details ?? {});
    };
    provider.events.addHandler(type, handler);
  });
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
  const details = await flags.getBooleanDetails("dark-mode", false, { targetingKey: "ada" });
  expect(details).toMatchObject({ value: true, reason: StandardResolutionReasons.STATIC, flagMetadata: { evaluationReason: "STATIC", configurationVersion: "1" } });
  expect(details.errorCode).toBeUndefined();
  // The same context again within the TTL: from the provider's cache.
  expect(await flags.getBooleanDetails("dark-mode", false, { targetingKey: "ada" })).toMatchObject({ value: true, reason: StandardResolutionReasons.CACHED, flagMetadata: { evaluationReason: "STATIC" } });
  expect(await flags.getStringValue("dark-mode.theme", "day")).toBe("night");
  expect(await flags.getObjectValue("dark-mode", {})).toEqual({ enabled: true, theme: "night" });
  expect(agent.requests.at(-1)!.path).toBe(`/applications/${APP}/environments/${ENV}/configurations/flags`);
});

test("sends the evaluation context as one Context header per attribute: targeting key as userId, scalar attributes as they are", async () => {
  const flags = await client();
  await flags.getBooleanValue("new-checkout", false, { targetingKey: "alice", group: "staff", plan: 3, beta: true, tags: ["x"] });
  const last = agent.requests.at(-1)!;
  expect(last.context).toEqual({ userId: "alice", group: "staff", plan: "3", beta: "true" });
  expect(last.rawContext).toEqual(["userId=alice", "group=staff", "plan=3", "beta=true"]);
});

test("multi-variant flags: team members by user id or group, a stable split for everyone else", async () => {
  // Hundreds of first requests at once on a busy CI machine: a generous timeout (timeouts are tested below).
  const flags = await client({ timeoutMs: 10_000 });
  const alice = await flags.getBooleanDetails("new-checkout", false, { targetingKey: "alice" });
  expect(alice).toMatchObject({ value: true, variant: "team", reason: StandardResolutionReasons.TARGETING_MATCH });
  // No rule matched: the rule-less default variant, reason DEFAULT.
  expect(await flags.getBooleanDetails("team-only", true, { targetingKey: "nobody" })).toMatchObject({ value: false, variant: "default", reason: StandardResolutionReasons.DEFAULT });
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
  const provider = new AppConfigAgentProvider({ application: APP, environment: ENV, endpoint: `http://127.0.0.1:${port}` });
  const details = await provider.resolveBooleanEvaluation("dark-mode", false, { targetingKey: "erin" });
  expect(details).toMatchObject({ value: false, reason: StandardResolutionReasons.ERROR, errorCode: ErrorCode.GENERAL });
  expect(details.errorMessage).toMatch(new RegExp(`AppConfig Agent at http://127.0.0.1:${port}/applications/.* is unreachable: ECONNREFUSED`));
  expect(await provider.resolveStringEvaluation("dark-mode.theme", "day", {})).toMatchObject({ value: "day", errorCode: ErrorCode.GENERAL });
  await provider.onClose();
});

test("startup with the agent not up yet: initialize fails (status ERROR), defaults until a probe reaches the agent, then READY", async () => {
  const port = await closedPort();
  const provider = new AppConfigAgentProvider({ application: APP, environment: ENV, endpoint: `http://127.0.0.1:${port}`, timeoutMs: 50, probeIntervalMs: 20 });
  await expect(OpenFeature.setProviderAndWait("starting", provider)).rejects.toThrow(`AppConfig Agent at http://127.0.0.1:${port}/applications/${APP}/environments/${ENV}/configurations/flags is unreachable: ECONNREFUSED`);
  const flags = OpenFeature.getClient("starting");
  expect(flags.providerStatus).toBe("ERROR");
  expect(await flags.getBooleanDetails("dark-mode", false)).toMatchObject({ value: false, errorCode: ErrorCode.GENERAL, reason: StandardResolutionReasons.ERROR });

  const ready = nextEvent(provider, ProviderEvents.Ready);
  const late = await startFakeAgent({ port });
  try {
    late.deploy(APP, ENV, "flags", document);
    await ready;
    expect(flags.providerStatus).toBe("READY");
    expect(await flags.getBooleanValue("dark-mode", false, { targetingKey: "zoe" })).toBe(true);
  } finally {
    await late.close();
  }
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
  // A second provider: the first one's circuit opens on its error (it answers that error until a probe succeeds).
  const second = await client();
  agent.setBehavior({ mode: "malformed" });
  const malformed = await flags.getBooleanDetails("dark-mode", true, { targetingKey: "gina" });
  expect(malformed).toMatchObject({ value: true, errorCode: ErrorCode.PARSE_ERROR, reason: StandardResolutionReasons.ERROR });
  expect(malformed.errorMessage).toContain("invalid JSON");

  agent.setBehavior({ mode: "status", status: 500, body: "InternalServerError" });
  const failed = await second.getBooleanDetails("dark-mode", true, { targetingKey: "hank" });
  expect(failed).toMatchObject({ value: true, errorCode: ErrorCode.GENERAL });
  expect(failed.errorMessage).toContain("answered HTTP 500: InternalServerError");

  agent.setBehavior({ mode: "ok" });
  const notDeployed = new AppConfigAgentProvider({ application: APP, environment: "nowhere", endpoint: agent.url });
  await expect(OpenFeature.setProviderAndWait("not-deployed", notDeployed)).rejects.toThrow("HTTP 404");
  const missing = await OpenFeature.getClient("not-deployed").getBooleanDetails("dark-mode", true);
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

test("an outage is not a request storm: one failure and every context answers its default at once until a probe succeeds", async () => {
  const flags = await client({ cacheTtlMs: 60_000, probeIntervalMs: 60_000 });
  agent.setBehavior({ mode: "status", status: 503 });
  const before = agent.requests.length;
  const answers = await Promise.all(Array.from({ length: 50 }, () => flags.getBooleanDetails("dark-mode", true, { targetingKey: "kim" })));
  for (let i = 0; i < 50; i++) await flags.getBooleanValue("dark-mode", true, { targetingKey: `user-${i}` });
  expect(agent.requests.length - before).toBe(1);
  expect(answers.every((a) => a.value === true && a.errorCode === ErrorCode.GENERAL)).toBe(true);
  expect((await flags.getBooleanDetails("dark-mode", true, { targetingKey: "other" })).errorMessage).toBe(
    `AppConfig Agent at ${agent.url}/applications/${APP}/environments/${ENV}/configurations/flags answered HTTP 503: error (answering defaults until the agent answers a probe)`,
  );

  agent.setBehavior({ mode: "ok" });
  const stale = await client({ cacheTtlMs: 20, maxStaleMs: 60_000 });
  await stale.getBooleanValue("dark-mode", false, { targetingKey: "lee" });
  agent.setBehavior({ mode: "status", status: 503 });
  await new Promise((resolve) => setTimeout(resolve, 25));
  const beforeStale = agent.requests.length;
  for (let i = 0; i < 50; i++) {
    expect(await stale.getBooleanDetails("dark-mode", false, { targetingKey: "lee" })).toMatchObject({ value: true, reason: StandardResolutionReasons.STALE, flagMetadata: { evaluationReason: "STATIC" } });
  }
  await new Promise((resolve) => setTimeout(resolve, 10)); // let the one background refresh reach the agent
  expect(agent.requests.length - beforeStale).toBe(1);
});

test("a hung agent: 10 users in a row wait for one timeout, not ten; 100 at once never queue past the timeout for a socket", async () => {
  agent.setBehavior({ mode: "slow", delayMs: 5000 });
  const provider = new AppConfigAgentProvider({ application: APP, environment: ENV, endpoint: agent.url, timeoutMs: 100, probeIntervalMs: 60_000 });
  await expect(OpenFeature.setProviderAndWait("hung", provider)).rejects.toThrow("did not answer within 100 ms");
  const flags = OpenFeature.getClient("hung");
  const before = agent.requests.length;
  for (let i = 0; i < 10; i++) {
    expect(await flags.getBooleanDetails("dark-mode", false, { targetingKey: `in-a-row-${i}` })).toMatchObject({ value: false, errorCode: ErrorCode.GENERAL });
  }
  // initialize's request opened the circuit: none of the ten asked the agent.
  expect(agent.requests.length - before).toBe(0);

  // 100 at once on a fresh provider (closed circuit): at most 16 sockets; the calls queued behind them
  // end with the circuit (or their own deadline) and never reach the agent.
  const fresh = new AppConfigAgentProvider({ application: APP, environment: ENV, endpoint: agent.url, timeoutMs: 100, probeIntervalMs: 60_000 });
  const errors: string[] = [];
  fresh.events.addHandler(ProviderEvents.Error, (details) => void errors.push(details?.message ?? ""));
  const beforeBurst = agent.requests.length;
  const burst = await Promise.all(Array.from({ length: 100 }, (_, i) => fresh.resolveBooleanEvaluation("dark-mode", false, { targetingKey: `burst-${i}` })));
  expect(burst.every((d) => d.value === false && d.errorCode === ErrorCode.GENERAL)).toBe(true);
  expect(agent.requests.length - beforeBurst).toBeLessThanOrEqual(16);
  expect(burst.filter((d) => d.errorMessage!.includes("did not answer within 100 ms")).length).toBeGreaterThan(0);
  expect(errors).toEqual([expect.stringContaining("did not answer within 100 ms; until it answers again, other evaluations return the caller's default (probing every 60000 ms)")]);
  await fresh.onClose();
});

test("events: STALE when the agent fails with answers cached, ERROR once they expire, READY when a probe succeeds, CONFIGURATION_CHANGED on a new version", async () => {
  const provider = new AppConfigAgentProvider({ application: APP, environment: ENV, endpoint: agent.url, cacheTtlMs: 1, maxStaleMs: 150, probeIntervalMs: 30, timeoutMs: 100 });
  await OpenFeature.setProviderAndWait("events", provider);
  const flags = OpenFeature.getClient("events");
  expect(flags.providerStatus).toBe("READY");
  await flags.getBooleanValue("dark-mode", false, { targetingKey: "una" });

  const changed = nextEvent(provider, ProviderEvents.ConfigurationChanged);
  agent.deploy(APP, ENV, "flags", { ...document, values: { ...document.values, "dark-mode": { enabled: false } } });
  await new Promise((resolve) => setTimeout(resolve, 5));
  await flags.getBooleanValue("dark-mode", false, { targetingKey: "una" }); // stale: refreshes in the background
  expect(await changed).toEqual(expect.objectContaining({ flagsChanged: ["dark-mode"], message: "configuration version 2" }));

  const stale = nextEvent(provider, ProviderEvents.Stale);
  const error = nextEvent(provider, ProviderEvents.Error);
  agent.setBehavior({ mode: "status", status: 503 });
  await new Promise((resolve) => setTimeout(resolve, 5));
  expect(await flags.getBooleanDetails("dark-mode", true, { targetingKey: "una" })).toMatchObject({ value: false, reason: StandardResolutionReasons.STALE });
  expect((await stale).message).toContain("answered HTTP 503: error; until it answers again, cached answers are served for up to 150 ms");
  expect(flags.providerStatus).toBe("STALE");
  expect((await error).message).toContain("no cached answer is younger than 150 ms any more");
  expect(flags.providerStatus).toBe("ERROR");
  expect(await flags.getBooleanDetails("dark-mode", true, { targetingKey: "una" })).toMatchObject({ value: true, reason: StandardResolutionReasons.ERROR });

  const ready = nextEvent(provider, ProviderEvents.Ready);
  agent.setBehavior({ mode: "ok" });
  await ready;
  expect(flags.providerStatus).toBe("READY");
  expect(await flags.getBooleanDetails("dark-mode", true, { targetingKey: "una" })).toMatchObject({ value: false, reason: StandardResolutionReasons.STATIC });
});

test("serves the last answer while the agent is down, for at most maxStaleMs", async () => {
  // No short timeout: a 503 answers at once, and a busy CI machine can take over 50 ms just to connect.
  const flags = await client({ cacheTtlMs: 1, maxStaleMs: 500 });
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

test("values the Context header cannot carry (commas, =, non-ASCII, newlines) are not sent, and each is logged by name", async () => {
  const logger = recordingLogger();
  const flags = await client({ logger });
  await flags.getBooleanValue("dark-mode", false, { targetingKey: "jo", note: "a,b", city: "Zürich", token: "x=y", plan: "pro", "bad name": "v" });
  expect(agent.requests.at(-1)!.rawContext).toEqual(["userId=jo", "plan=pro"]);
  expect(logger.lines).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/context attribute "note" is not sent: it contains a comma/),
      expect.stringMatching(/context attribute "city" is not sent: it has non-ASCII or control characters/),
      expect.stringMatching(/context attribute "token" is not sent: it contains "="/),
      expect.stringMatching(/context attribute "bad name" is not sent: its name is not one a rule can read/),
    ]),
  );
  expect(logger.lines.join("\n")).not.toContain("Zürich");
});

test("a targeting key cannot inject attributes or share another context's cache entry", async () => {
  const logger = recordingLogger();
  const flags = await client({ logger });
  // Before: the key joined pairs with "\n" and split them back into headers, so this user became staff.
  const injected = await flags.getBooleanDetails("team-only", false, { targetingKey: "mallory\ngroup=staff" });
  expect(agent.requests.at(-1)!.rawContext).toEqual([]);
  expect(logger.lines).toContainEqual(expect.stringMatching(/the targeting key \(sent as userId\) is not sent: it has non-ASCII or control characters/));
  expect(injected).toMatchObject({ value: false, variant: "default" });
  expect(await flags.getBooleanValue("new-checkout", false, { targetingKey: "zed,group=staff" })).toBe(false);
  expect(agent.requests.at(-1)!.rawContext).toEqual([]);

  // Contexts whose old joined keys were equal are distinct now: alice's answer is not mallory's.
  expect(await flags.getBooleanValue("team-only", false, { targetingKey: "alice" })).toBe(true);
  expect(await flags.getBooleanValue("team-only", false, { targetingKey: "alice", x: "1" })).toBe(true);
  expect(await flags.getBooleanValue("team-only", false, { targetingKey: 'alice",x:"1' })).toBe(false);
  // An attribute named like the targeting key does not replace it.
  await flags.getBooleanValue("team-only", false, { targetingKey: "bob", userId: "alice" });
  expect(agent.requests.at(-1)!.rawContext).toEqual(["userId=bob"]);
});

test("rejects missing or unusable options with a clear message", () => {
  expect(() => new AppConfigAgentProvider({ application: "", environment: "prod" })).toThrow('AppConfigAgentProvider: options.application is required (got "").');
  expect(() => new AppConfigAgentProvider({ application: "a", environment: "prod", timeoutMs: 0 })).toThrow("AppConfigAgentProvider: options.timeoutMs must be a number of milliseconds above 0 (got 0).");
  expect(() => new AppConfigAgentProvider({ application: "a", environment: "prod", targetingKeyAttribute: "user id" })).toThrow(
    'AppConfigAgentProvider: options.targetingKeyAttribute must be a context name a rule can read, such as "userId" (got "user id").',
  );
});
