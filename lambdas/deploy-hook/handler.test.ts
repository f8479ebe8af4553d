import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { mockClient } from "aws-sdk-client-mock";
import "aws-sdk-client-mock-jest"; // matcher types (jest loads the matchers globally)
import {
  createCloudWatchClient,
  deployHookEnvironment,
  deployHookTimeoutSeconds,
  handler,
  HOOK_STAGES,
  LIFECYCLE_STAGES,
  parseHookSettings,
  runDeployHook,
  WATCH_CHECKS_KEY,
  WATCH_STARTED_KEY,
  type EcsLifecycleHookEvent,
  type HookDeps,
  type HookSettings,
} from "./handler";

// A real HTTP server plays green behind the test listener; each test sets how it answers.
type Route = (req: IncomingMessage, res: ServerResponse) => void;
let routes: Record<string, Route> = {};
const requests: string[] = [];
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const route = routes[req.url ?? ""];
    if (route) return route(req, res);
    res.writeHead(404).end("not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const healthy: Record<string, Route> = {
  "/healthz": (_req, res) => res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}'),
  "/version": (_req, res) => res.writeHead(200, { "content-type": "application/json" }).end('{"commit":"abc1234"}'),
};

// Mock one client instance (not the class), so the retry tests below can run the real SDK client.
const cloudWatch = new CloudWatchClient({ region: "eu-west-1" });
const cw = mockClient(cloudWatch);
const logs: Array<Record<string, unknown>> = [];
let clock = Date.parse("2026-11-26T08:00:00Z");
const sleeps: number[] = [];

function settings(overrides: Partial<HookSettings> = {}): HookSettings {
  return {
    testListenerUrl: baseUrl,
    smokeTimeoutMs: 5000,
    smokeAttempts: 3,
    smokeRetryDelayMs: 1000,
    rollbackAlarmNames: ["friday-staging-alb-5xx-rate", "friday-staging-db-cpu"],
    alarmWatchMs: 10 * 60_000,
    alarmPollSeconds: 60,
    ...overrides,
  };
}

function deps(overrides: Partial<HookDeps> = {}): HookDeps {
  return {
    cloudWatch,
    fetch: globalThis.fetch,
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    log: (entry) => logs.push(entry),
    ...overrides,
  };
}

const GREEN = "arn:aws:ecs:eu-west-1:123456789012:service-revision/friday-staging/app/9313423515462893900";
const BLUE = "arn:aws:ecs:eu-west-1:123456789012:service-revision/friday-staging/app/1920498462936580504";

function event(lifecycleStage: string, extra: Partial<EcsLifecycleHookEvent> = {}): EcsLifecycleHookEvent {
  return {
    executionId: "3a0345ba-b029-404b-890d-7da2a4b266aa",
    lifecycleStage,
    resourceArn: "arn:aws:ecs:eu-west-1:123456789012:service-deployment/friday-staging/app/EZe5RNVLH6PPzHXINuP28",
    executionDetails: {
      serviceArn: "arn:aws:ecs:eu-west-1:123456789012:service/friday-staging/app",
      targetServiceRevisionArn: GREEN,
      testTrafficWeights: {},
      productionTrafficWeights: {},
    },
    ...extra,
  };
}

function alarms(states: Record<string, string>) {
  return { MetricAlarms: Object.entries(states).map(([AlarmName, StateValue]) => ({ AlarmName, StateValue: StateValue as "OK" })) };
}

const lastDecision = () => logs.filter((l) => l.event === "hook-decision").at(-1)!;

beforeEach(() => {
  cw.reset();
  routes = { ...healthy };
  requests.length = 0;
  logs.length = 0;
  sleeps.length = 0;
  clock = Date.parse("2026-11-26T08:00:00Z");
});

describe("smoke test at POST_TEST_TRAFFIC_SHIFT", () => {
  it("answers SUCCEEDED when green's /healthz and /version answer 200 through the test listener", async () => {
    const result = await runDeployHook(event("POST_TEST_TRAFFIC_SHIFT"), settings(), deps());
    expect(result).toEqual({ hookStatus: "SUCCEEDED" });
    expect(requests).toEqual(["GET /healthz", "GET /version"]);
    expect(lastDecision()).toMatchObject({ hookStatus: "SUCCEEDED", version: "abc1234", lifecycleStage: "POST_TEST_TRAFFIC_SHIFT" });
    expect(cw).not.toHaveReceivedAnyCommand();
  });

  it("answers FAILED when /healthz keeps answering 503, after the configured attempts", async () => {
    routes["/healthz"] = (_req, res) => res.writeHead(503).end('{"status":"unavailable"}');
    const result = await runDeployHook(event("POST_TEST_TRAFFIC_SHIFT"), settings(), deps());
    expect(result).toEqual({ hookStatus: "FAILED" });
    expect(requests).toEqual(["GET /healthz", "GET /healthz", "GET /healthz"]);
    expect(sleeps).toEqual([1000, 1000]);
    expect(lastDecision().reason).toBe('green failed the smoke test: GET /healthz answered 503 (expected 200): {"status":"unavailable"} (after 3 attempts)');
  });

  it("answers FAILED when /version does not answer 200", async () => {
    routes["/version"] = (_req, res) => res.writeHead(500).end("boom");
    const result = await runDeployHook(event("POST_TEST_TRAFFIC_SHIFT"), settings({ smokeAttempts: 1 }), deps());
    expect(result).toEqual({ hookStatus: "FAILED" });
    expect(requests).toEqual(["GET /healthz", "GET /version"]);
    expect(lastDecision().reason).toContain("GET /version answered 500");
  });

  it("recovers from a transient failure within its attempts", async () => {
    let calls = 0;
    routes["/healthz"] = (req, res) => (++calls === 1 ? res.writeHead(502).end("warming up") : healthy["/healthz"](req, res));
    const result = await runDeployHook(event("POST_TEST_TRAFFIC_SHIFT"), settings(), deps());
    expect(result).toEqual({ hookStatus: "SUCCEEDED" });
    expect(lastDecision()).toMatchObject({ attempts: 2 });
  });

  it("answers FAILED when green does not answer within SMOKE_TIMEOUT_SECONDS (no retry after a timeout)", async () => {
    routes["/healthz"] = () => {
      /* never answers */
    };
    const result = await runDeployHook(
      event("POST_TEST_TRAFFIC_SHIFT"),
      settings({ smokeTimeoutMs: 300 }),
      deps({ now: Date.now }), // the deadline is real time here: the request really hangs
    );
    expect(result).toEqual({ hookStatus: "FAILED" });
    expect(requests).toEqual(["GET /healthz"]);
    expect(lastDecision().reason).toBe("green failed the smoke test: GET /healthz timed out after 0.3s");
  });

  it("answers FAILED when nothing listens on the test listener", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await runDeployHook(event("POST_TEST_TRAFFIC_SHIFT"), settings({ testListenerUrl: `http://127.0.0.1:${port}`, smokeAttempts: 2 }), deps());
    expect(result).toEqual({ hookStatus: "FAILED" });
    expect(lastDecision().reason).toBe("green failed the smoke test: GET /healthz failed: ECONNREFUSED (after 2 attempts)");
  });

  it("does not follow a redirect away from green", async () => {
    routes["/healthz"] = (_req, res) => res.writeHead(302, { location: "http://example.com/" }).end();
    const result = await runDeployHook(event("POST_TEST_TRAFFIC_SHIFT"), settings({ smokeAttempts: 1 }), deps());
    expect(result).toEqual({ hookStatus: "FAILED" });
    expect(lastDecision().reason).toContain("GET /healthz answered 302");
  });

  it("smoke-tests at TEST_TRAFFIC_SHIFT too, but never obstructs a rollback there", async () => {
    expect(await runDeployHook(event("TEST_TRAFFIC_SHIFT", { executionDetails: { ...event("x").executionDetails, testTrafficWeights: { [GREEN]: 100, [BLUE]: 0 } } }), settings(), deps())).toEqual({
      hookStatus: "SUCCEEDED",
    });
    expect(requests).toEqual(["GET /healthz", "GET /version"]);

    requests.length = 0;
    routes["/healthz"] = (_req, res) => res.writeHead(503).end();
    const rollback = event("TEST_TRAFFIC_SHIFT", { executionDetails: { ...event("x").executionDetails, testTrafficWeights: { [GREEN]: 0, [BLUE]: 100 } } });
    expect(await runDeployHook(rollback, settings(), deps())).toEqual({ hookStatus: "SUCCEEDED" });
    expect(requests).toEqual([]);
  });
});

describe("alarm watch at POST_PRODUCTION_TRAFFIC_SHIFT", () => {
  it("answers IN_PROGRESS with a callBackDelay and records the window's start in hookDetails", async () => {
    cw.on(DescribeAlarmsCommand).resolves(alarms({ "friday-staging-alb-5xx-rate": "OK", "friday-staging-db-cpu": "INSUFFICIENT_DATA" }));
    const result = await runDeployHook(event("POST_PRODUCTION_TRAFFIC_SHIFT"), settings(), deps());
    expect(result).toEqual({ hookStatus: "IN_PROGRESS", callBackDelay: 60, hookDetails: { [WATCH_STARTED_KEY]: clock, [WATCH_CHECKS_KEY]: 1 } });
    expect(cw).toHaveReceivedCommandWith(DescribeAlarmsCommand, {
      AlarmNames: ["friday-staging-alb-5xx-rate", "friday-staging-db-cpu"],
      AlarmTypes: ["MetricAlarm"],
    });
  });

  it("keeps the window's start across re-invocations and shortens the last callBackDelay to the window's end", async () => {
    cw.on(DescribeAlarmsCommand).resolves(alarms({ "friday-staging-alb-5xx-rate": "OK", "friday-staging-db-cpu": "OK" }));
    const startedAt = clock;
    clock += 9 * 60_000 + 30_000; // 9.5 minutes into a 10-minute window
    const result = await runDeployHook(
      event("POST_PRODUCTION_TRAFFIC_SHIFT", { hookDetails: { S3_BUCKET: "configured-by-the-service", [WATCH_STARTED_KEY]: startedAt, [WATCH_CHECKS_KEY]: 9 } }),
      settings(),
      deps(),
    );
    expect(result).toEqual({ hookStatus: "IN_PROGRESS", callBackDelay: 30, hookDetails: { [WATCH_STARTED_KEY]: startedAt, [WATCH_CHECKS_KEY]: 10 } });
  });

  it("answers SUCCEEDED once the window has passed with every alarm out of ALARM", async () => {
    cw.on(DescribeAlarmsCommand).resolves(alarms({ "friday-staging-alb-5xx-rate": "OK", "friday-staging-db-cpu": "OK" }));
    const startedAt = clock;
    clock += 10 * 60_000;
    const result = await runDeployHook(event("POST_PRODUCTION_TRAFFIC_SHIFT", { hookDetails: { [WATCH_STARTED_KEY]: startedAt } }), settings(), deps());
    expect(result).toEqual({ hookStatus: "SUCCEEDED" });
    expect(cw).toHaveReceivedCommandTimes(DescribeAlarmsCommand, 1);
  });

  it("walks a whole window: IN_PROGRESS until it closes, feeding hookDetails back the way ECS does", async () => {
    cw.on(DescribeAlarmsCommand).resolves(alarms({ "friday-staging-alb-5xx-rate": "OK", "friday-staging-db-cpu": "OK" }));
    const s = settings({ alarmWatchMs: 3 * 60_000, alarmPollSeconds: 50 });
    const statuses: string[] = [];
    let hookDetails: Record<string, unknown> = { configured: "x" };
    for (let i = 0; i < 10; i++) {
      const result = await runDeployHook(event("POST_PRODUCTION_TRAFFIC_SHIFT", { hookDetails }), s, deps());
      statuses.push(`${result.hookStatus}${result.callBackDelay ? `+${result.callBackDelay}` : ""}`);
      if (result.hookStatus !== "IN_PROGRESS") break;
      hookDetails = { ...hookDetails, ...result.hookDetails }; // ECS merges what the hook returned
      clock += result.callBackDelay! * 1000;
    }
    expect(statuses).toEqual(["IN_PROGRESS+50", "IN_PROGRESS+50", "IN_PROGRESS+50", "IN_PROGRESS+30", "SUCCEEDED"]);
  });

  it("answers FAILED as soon as a rollback alarm is in ALARM", async () => {
    cw.on(DescribeAlarmsCommand).resolves(alarms({ "friday-staging-alb-5xx-rate": "ALARM", "friday-staging-db-cpu": "OK" }));
    const result = await runDeployHook(event("POST_PRODUCTION_TRAFFIC_SHIFT", { hookDetails: { [WATCH_STARTED_KEY]: clock - 60_000 } }), settings(), deps());
    expect(result).toEqual({ hookStatus: "FAILED" });
    expect(lastDecision()).toMatchObject({ reason: "alarm in ALARM: friday-staging-alb-5xx-rate", alarms: { "friday-staging-alb-5xx-rate": "ALARM" } });
  });

  it("pages through DescribeAlarms", async () => {
    cw.on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [{ AlarmName: "friday-staging-alb-5xx-rate", StateValue: "OK" }], NextToken: "page-2" })
      .resolvesOnce({ MetricAlarms: [{ AlarmName: "friday-staging-db-cpu", StateValue: "ALARM" }] });
    const result = await runDeployHook(event("POST_PRODUCTION_TRAFFIC_SHIFT"), settings(), deps());
    expect(result).toEqual({ hookStatus: "FAILED" });
    expect(cw).toHaveReceivedNthCommandWith(2, DescribeAlarmsCommand, { NextToken: "page-2" });
  });

  it("answers FAILED when a configured alarm does not exist (it cannot be verified)", async () => {
    cw.on(DescribeAlarmsCommand).resolves(alarms({ "friday-staging-alb-5xx-rate": "OK" }));
    const result = await runDeployHook(event("POST_PRODUCTION_TRAFFIC_SHIFT"), settings(), deps());
    expect(result).toEqual({ hookStatus: "FAILED" });
    expect(lastDecision().reason).toBe("rollback alarm not found: friday-staging-db-cpu (check ROLLBACK_ALARM_NAMES against the stack's metric alarms)");
  });

  it("answers FAILED when no alarm names are configured", async () => {
    const result = await runDeployHook(event("POST_PRODUCTION_TRAFFIC_SHIFT"), settings({ rollbackAlarmNames: [] }), deps());
    expect(result).toEqual({ hookStatus: "FAILED" });
    expect(cw).not.toHaveReceivedAnyCommand();
  });

  it("answers FAILED with the reason when CloudWatch keeps throttling or denies access", async () => {
    const throttled = Object.assign(new Error("Rate exceeded"), { name: "Throttling", $metadata: { httpStatusCode: 400, attempts: 5 } });
    cw.on(DescribeAlarmsCommand).rejects(throttled);
    expect(await runDeployHook(event("POST_PRODUCTION_TRAFFIC_SHIFT"), settings(), deps())).toEqual({ hookStatus: "FAILED" });
    expect(lastDecision().reason).toBe("cannot read the rollback alarms: Throttling: Rate exceeded (after 5 attempts)");

    cw.reset();
    const denied = Object.assign(new Error("User is not authorized to perform: cloudwatch:DescribeAlarms"), { name: "AccessDenied", $metadata: { httpStatusCode: 403, attempts: 1 } });
    cw.on(DescribeAlarmsCommand).rejects(denied);
    expect(await runDeployHook(event("POST_PRODUCTION_TRAFFIC_SHIFT"), settings(), deps())).toEqual({ hookStatus: "FAILED" });
    expect(lastDecision().reason).toBe("cannot read the rollback alarms: AccessDenied: User is not authorized to perform: cloudwatch:DescribeAlarms (after 1 attempt)");
  });

  it("starts the window afresh when hookDetails hold no usable start time", async () => {
    cw.on(DescribeAlarmsCommand).resolves(alarms({ "friday-staging-alb-5xx-rate": "OK", "friday-staging-db-cpu": "OK" }));
    for (const bad of ["yesterday", clock + 60_000, -5]) {
      const result = await runDeployHook(event("POST_PRODUCTION_TRAFFIC_SHIFT", { hookDetails: { [WATCH_STARTED_KEY]: bad } }), settings(), deps());
      expect(result).toMatchObject({ hookStatus: "IN_PROGRESS", hookDetails: { [WATCH_STARTED_KEY]: clock } });
    }
  });

  it("with a zero-minute window checks once and decides", async () => {
    cw.on(DescribeAlarmsCommand).resolves(alarms({ "friday-staging-alb-5xx-rate": "OK", "friday-staging-db-cpu": "OK" }));
    expect(await runDeployHook(event("POST_PRODUCTION_TRAFFIC_SHIFT"), settings({ alarmWatchMs: 0 }), deps())).toEqual({ hookStatus: "SUCCEEDED" });
  });
});

describe("other stages and bad input", () => {
  it("never answers FAILED at PRODUCTION_TRAFFIC_SHIFT, where a rollback step looks like a forward step", async () => {
    cw.on(DescribeAlarmsCommand).resolves(alarms({ "friday-staging-alb-5xx-rate": "ALARM", "friday-staging-db-cpu": "OK" }));
    for (const weights of [{ [GREEN]: 100, [BLUE]: 0 }, { [GREEN]: 50, [BLUE]: 50 }, { [GREEN]: 0, [BLUE]: 100 }]) {
      const e = event("PRODUCTION_TRAFFIC_SHIFT", { executionDetails: { ...event("x").executionDetails, productionTrafficWeights: weights } });
      expect(await runDeployHook(e, settings(), deps())).toEqual({ hookStatus: "SUCCEEDED" });
    }
    expect(cw).not.toHaveReceivedAnyCommand();
  });

  it("passes stages it has nothing to verify at", async () => {
    expect(await runDeployHook(event("POST_SCALE_UP"), settings(), deps())).toEqual({ hookStatus: "SUCCEEDED" });
    expect(requests).toEqual([]);
  });

  it("answers FAILED on an event it does not understand", async () => {
    expect(await runDeployHook(event("BAKE_TIME"), settings(), deps())).toEqual({ hookStatus: "FAILED" });
    expect(lastDecision().reason).toBe('unknown lifecycle stage "BAKE_TIME"; the hook cannot verify this deployment');
    expect(await runDeployHook({} as EcsLifecycleHookEvent, settings(), deps())).toEqual({ hookStatus: "FAILED" });
    expect(await runDeployHook(null as unknown as EcsLifecycleHookEvent, settings(), deps())).toEqual({ hookStatus: "FAILED" });
  });

  it("registers at the stages it implements", () => {
    expect(HOOK_STAGES).toEqual(["POST_TEST_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"]);
  });

  it("knows exactly the seven stages the ECS API defines, and fails a stage ECS does not have", async () => {
    // ECS API reference, DeploymentLifecycleHook.lifecycleStages (docs/aws-notes.md).
    expect(LIFECYCLE_STAGES).toEqual([
      "RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
      "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT",
    ]);
    expect(await runDeployHook(event("PRE_PRODUCTION_TRAFFIC_SHIFT"), settings(), deps())).toEqual({ hookStatus: "FAILED" });
    expect(lastDecision().reason).toBe('unknown lifecycle stage "PRE_PRODUCTION_TRAFFIC_SHIFT"; the hook cannot verify this deployment');
  });
});

describe("settings", () => {
  it("reads the environment with defaults", () => {
    expect(parseHookSettings({ TEST_LISTENER_URL: "http://internal-alb:8443/", ROLLBACK_ALARM_NAMES: " a, b ,,c " })).toEqual({
      testListenerUrl: "http://internal-alb:8443",
      smokeTimeoutMs: 30_000,
      smokeAttempts: 3,
      smokeRetryDelayMs: 2000,
      rollbackAlarmNames: ["a", "b", "c"],
      alarmWatchMs: 600_000,
      alarmPollSeconds: 30,
    });
    expect(parseHookSettings({ TEST_LISTENER_URL: "https://x:8443", SMOKE_TIMEOUT_SECONDS: "12", ALARM_WATCH_MINUTES: "0.5" })).toMatchObject({
      smokeTimeoutMs: 12_000,
      alarmWatchMs: 30_000,
    });
  });

  it("rejects bad values with one message naming the variable and the fix", () => {
    expect(() => parseHookSettings({})).toThrow("Deploy hook: TEST_LISTENER_URL is not set. Set it to the ALB test listener, e.g. http://internal-alb:8443.");
    expect(() => parseHookSettings({ TEST_LISTENER_URL: "internal-alb:8443" })).toThrow('TEST_LISTENER_URL must be an http(s) URL (got "internal-alb:8443")');
    expect(() => parseHookSettings({ TEST_LISTENER_URL: "http://x", SMOKE_TIMEOUT_SECONDS: "soon" })).toThrow(
      'Deploy hook: SMOKE_TIMEOUT_SECONDS must be a number from 1 to 600 (got "soon"). Fix the Lambda\'s environment.',
    );
    expect(() => parseHookSettings({ TEST_LISTENER_URL: "http://x", ALARM_WATCH_MINUTES: "-1" })).toThrow("ALARM_WATCH_MINUTES must be a number from 0 to 1440");
  });
});

describe("deployHookEnvironment (for the component that creates the function)", () => {
  it("writes the variables the handler reads, validated", () => {
    const variables = deployHookEnvironment({
      testListenerUrl: "http://friday-staging-alb-123.eu-west-1.elb.amazonaws.com:8443",
      rollbackAlarmNames: ["friday-staging-alb-5xx-rate", "friday-staging-db-cpu"],
      smokeTimeoutSeconds: 45,
      alarmWatchMinutes: 15,
    });
    expect(variables).toEqual({
      TEST_LISTENER_URL: "http://friday-staging-alb-123.eu-west-1.elb.amazonaws.com:8443",
      ROLLBACK_ALARM_NAMES: "friday-staging-alb-5xx-rate,friday-staging-db-cpu",
      SMOKE_TIMEOUT_SECONDS: "45",
      ALARM_WATCH_MINUTES: "15",
    });
    expect(parseHookSettings(variables)).toMatchObject({ rollbackAlarmNames: ["friday-staging-alb-5xx-rate", "friday-staging-db-cpu"], smokeTimeoutMs: 45_000, alarmWatchMs: 900_000 });
    expect(deployHookTimeoutSeconds(variables)).toBe(105);
  });

  it("rejects what the handler could not read", () => {
    expect(() => deployHookEnvironment({ testListenerUrl: "alb:8443", rollbackAlarmNames: ["a"] })).toThrow("TEST_LISTENER_URL must be an http(s) URL");
    expect(() => deployHookEnvironment({ testListenerUrl: "http://alb:8443", rollbackAlarmNames: ["a,b"] })).toThrow("rollbackAlarmNames must be non-empty names without commas");
    expect(() => deployHookEnvironment({ testListenerUrl: "http://alb:8443", rollbackAlarmNames: ["a"], alarmPollSeconds: 0 })).toThrow("ALARM_POLL_SECONDS must be a number from 1 to 900");
  });
});

describe("the exported handler", () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it("reads its settings from the environment and smoke-tests green", async () => {
    process.env.TEST_LISTENER_URL = baseUrl;
    process.env.SMOKE_TIMEOUT_SECONDS = "5";
    const log = jest.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      expect(await handler(event("POST_TEST_TRAFFIC_SHIFT"))).toEqual({ hookStatus: "SUCCEEDED" });
      expect(requests).toEqual(["GET /healthz", "GET /version"]);
      const decision = JSON.parse(log.mock.calls.at(-1)![0] as string);
      expect(decision).toMatchObject({ event: "hook-decision", hookStatus: "SUCCEEDED", executionId: "3a0345ba-b029-404b-890d-7da2a4b266aa" });
    } finally {
      log.mockRestore();
    }
  });

  it("fails safe on a misconfigured environment", async () => {
    delete process.env.TEST_LISTENER_URL;
    const log = jest.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      expect(await handler(event("POST_TEST_TRAFFIC_SHIFT"))).toEqual({ hookStatus: "FAILED" });
      expect(JSON.parse(log.mock.calls.at(-1)![0] as string).reason).toContain("TEST_LISTENER_URL is not set");
    } finally {
      log.mockRestore();
    }
  });
});

describe("the real CloudWatch client's retries", () => {
  // A fake HTTP layer under the real SDK client (aws-sdk-client-mock would bypass the retry middleware).
  function clientAnswering(answers: Array<{ status: number; body: object; headers?: Record<string, string> }>, config: { maxAttempts?: number } = {}) {
    const sent: string[] = [];
    const requestHandler = {
      handle: async (request: { headers: Record<string, string> }) => {
        sent.push(request.headers["x-amz-target"] ?? "?");
        const answer = answers[Math.min(sent.length - 1, answers.length - 1)];
        return {
          response: {
            statusCode: answer.status,
            headers: { "content-type": "application/x-amz-json-1.0", ...answer.headers },
            body: Readable.from([Buffer.from(JSON.stringify(answer.body))]),
          },
        };
      },
    };
    const client = createCloudWatchClient({
      region: "eu-west-1",
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
      requestHandler: requestHandler as never,
      ...config,
    });
    return { client, sent };
  }
  const throttling = { status: 400, body: { __type: "Throttling", message: "Rate exceeded" }, headers: { "x-amzn-query-error": "Throttling;Sender" } };
  const ok = { status: 200, body: alarms({ "friday-staging-alb-5xx-rate": "OK", "friday-staging-db-cpu": "OK" }) };

  it("is configured for 5 attempts in standard retry mode", async () => {
    const client = createCloudWatchClient({ region: "eu-west-1" });
    expect(await client.config.maxAttempts()).toBe(5);
    expect(client.config.retryMode).toBe("standard");
  });

  it("retries throttling and then verifies", async () => {
    const { client, sent } = clientAnswering([throttling, throttling, ok]);
    const result = await runDeployHook(event("POST_PRODUCTION_TRAFFIC_SHIFT"), settings({ alarmWatchMs: 0 }), deps({ cloudWatch: client }));
    expect(result).toEqual({ hookStatus: "SUCCEEDED" });
    expect(sent).toHaveLength(3);
  });

  it("gives up after its attempts and fails the hook", async () => {
    // 3 attempts instead of the Lambda's 5 keeps the real backoff short here.
    const { client, sent } = clientAnswering([throttling], { maxAttempts: 3 });
    const result = await runDeployHook(event("POST_PRODUCTION_TRAFFIC_SHIFT"), settings(), deps({ cloudWatch: client }));
    expect(result).toEqual({ hookStatus: "FAILED" });
    expect(sent).toHaveLength(3);
    expect(lastDecision().reason).toBe("cannot read the rollback alarms: Throttling: Rate exceeded (after 3 attempts)");
  });

  it("does not retry access denied", async () => {
    const { client, sent } = clientAnswering([{ status: 400, body: { __type: "AccessDenied", message: "not authorized" }, headers: { "x-amzn-query-error": "AccessDenied;Sender" } }]);
    const result = await runDeployHook(event("POST_PRODUCTION_TRAFFIC_SHIFT"), settings(), deps({ cloudWatch: client }));
    expect(result).toEqual({ hookStatus: "FAILED" });
    expect(sent).toHaveLength(1);
    expect(lastDecision().reason).toContain("AccessDenied: not authorized");
  });
});
