import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  type CloudWatchClientConfig,
} from "@aws-sdk/client-cloudwatch";

/**
 * The lifecycle-hook Lambda of friday's ECS native blue/green deployments (deploymentController ECS,
 * strategy BLUE_GREEN — not CodeDeploy).
 *
 * Contract (Amazon ECS Developer Guide, "Lambda hooks for Amazon ECS service deployments"):
 * ECS invokes the function with `{executionId, lifecycleStage, resourceArn, executionDetails:
 * {serviceArn, targetServiceRevisionArn, testTrafficWeights, productionTrafficWeights}, hookDetails?}`
 * and expects `{hookStatus: "SUCCEEDED" | "FAILED" | "IN_PROGRESS", callBackDelay?, hookDetails?}`.
 * FAILED — or no valid hookStatus, or a thrown error — rolls the deployment back. IN_PROGRESS makes ECS
 * invoke the function again after `callBackDelay` seconds (default 30), passing back the merged
 * `hookDetails` the function returned: that is where the alarm watch keeps its start time.
 *
 * What it does:
 * - POST_TEST_TRAFFIC_SHIFT (and TEST_TRAFFIC_SHIFT, if registered there): smoke-tests green through
 *   the ALB's test listener — `GET /healthz` must answer 200, `GET /version` must answer 200 — within
 *   SMOKE_TIMEOUT_SECONDS. SUCCEEDED or FAILED.
 * - POST_PRODUCTION_TRAFFIC_SHIFT: watches the rollback alarms for ALARM_WATCH_MINUTES, answering
 *   IN_PROGRESS (callBackDelay ALARM_POLL_SECONDS) while the window is open; FAILED as soon as one is in
 *   ALARM (or cannot be read), SUCCEEDED when the window closes with all of them out of ALARM.
 *   ECS has no BAKE_TIME hook stage (hooks attach to RECONCILE_SERVICE … POST_PRODUCTION_TRAFFIC_SHIFT);
 *   bake time follows this stage and is covered by the service's own deployment alarms.
 * - During a rollback ECS re-invokes the TEST_/PRODUCTION_TRAFFIC_SHIFT hooks with the traffic shifting
 *   back to blue: the hook answers SUCCEEDED then (and always at PRODUCTION_TRAFFIC_SHIFT, whose
 *   linear/canary steps cannot be told from rollback steps), so it never obstructs a rollback.
 *
 * Fail safe: a hook that cannot verify does not pass. Bad settings, unreadable alarms (after the SDK's
 * retries), alarms that do not exist, an unknown stage: FAILED, with the reason logged.
 */

/**
 * The stages ECS defines (API reference, DeploymentLifecycleHook.lifecycleStages; the same seven in
 * CloudFormation's AWS::ECS::Service DeploymentLifecycleHook). There is no PRE_PRODUCTION_TRAFFIC_SHIFT:
 * POST_TEST_TRAFFIC_SHIFT is the last stage before production traffic moves. An event naming any other
 * stage is answered FAILED (the hook cannot tell what it is being asked to verify).
 */
export const LIFECYCLE_STAGES = [
  "RECONCILE_SERVICE",
  "PRE_SCALE_UP",
  "POST_SCALE_UP",
  "TEST_TRAFFIC_SHIFT",
  "POST_TEST_TRAFFIC_SHIFT",
  "PRODUCTION_TRAFFIC_SHIFT",
  "POST_PRODUCTION_TRAFFIC_SHIFT",
] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

/** The stages friday registers the hook at (the lead's component passes these to `lifecycleStages`). */
export const HOOK_STAGES: readonly LifecycleStage[] = ["POST_TEST_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"];

/** The event ECS sends a lifecycle-hook Lambda. */
export interface EcsLifecycleHookEvent {
  readonly executionId: string;
  readonly lifecycleStage: string;
  /** The service deployment's ARN. */
  readonly resourceArn: string;
  readonly executionDetails: {
    readonly serviceArn: string;
    /** The green revision (it stays the target during a rollback). */
    readonly targetServiceRevisionArn: string;
    /** Service revision ARN → percentage of test traffic. */
    readonly testTrafficWeights?: Record<string, number>;
    /** Service revision ARN → percentage of production traffic. */
    readonly productionTrafficWeights?: Record<string, number>;
  };
  /** The hook's configured hookDetails merged with what the previous IN_PROGRESS answer returned. */
  readonly hookDetails?: Record<string, unknown>;
}

export type HookStatus = "SUCCEEDED" | "FAILED" | "IN_PROGRESS";

/** What the hook answers ECS. */
export interface EcsLifecycleHookResult {
  hookStatus: HookStatus;
  /** Seconds until ECS invokes the hook again (IN_PROGRESS only). */
  callBackDelay?: number;
  /** State handed back to the next invocation of this hook in this deployment (IN_PROGRESS only). */
  hookDetails?: Record<string, unknown>;
}

/** The hook's settings, from its environment. */
export interface HookSettings {
  /** Base URL of the ALB test listener, e.g. `http://internal-alb:8443`. */
  readonly testListenerUrl: string;
  /** Deadline of the whole smoke test (all attempts), in milliseconds. */
  readonly smokeTimeoutMs: number;
  /** How many times the smoke test is tried before it fails. */
  readonly smokeAttempts: number;
  /** Pause between smoke-test attempts, in milliseconds. */
  readonly smokeRetryDelayMs: number;
  /** The rollback alarms watched after production traffic shifts. */
  readonly rollbackAlarmNames: readonly string[];
  /** How long the alarms are watched after production traffic shifts, in milliseconds. */
  readonly alarmWatchMs: number;
  /** Seconds between alarm checks while the window is open (the IN_PROGRESS callBackDelay). */
  readonly alarmPollSeconds: number;
}

/** hookDetails key holding when the alarm watch of this deployment started (epoch milliseconds). */
export const WATCH_STARTED_KEY = "fridayAlarmWatchStartedAt";
/** hookDetails key counting alarm checks in this deployment's watch. */
export const WATCH_CHECKS_KEY = "fridayAlarmChecks";

/** The smoke-test requests: path → what it checks. Both must answer 200. */
export const SMOKE_PATHS = ["/healthz", "/version"] as const;

function numberSetting(env: NodeJS.ProcessEnv, key: string, fallback: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`Deploy hook: ${key} must be a number from ${min} to ${max} (got "${raw}"). Fix the Lambda's environment.`);
  }
  return value;
}

/** Reads and validates the hook's settings; throws one message naming the variable and the fix. */
export function parseHookSettings(env: NodeJS.ProcessEnv): HookSettings {
  const url = env.TEST_LISTENER_URL?.trim();
  if (!url) throw new Error("Deploy hook: TEST_LISTENER_URL is not set. Set it to the ALB test listener, e.g. http://internal-alb:8443.");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`Deploy hook: TEST_LISTENER_URL must be an http(s) URL (got "${url}"). Set it to e.g. http://internal-alb:8443.`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new Error(`Deploy hook: TEST_LISTENER_URL must be an http(s) URL (got "${url}"). Set it to e.g. http://internal-alb:8443.`);
  }
  const rollbackAlarmNames = (env.ROLLBACK_ALARM_NAMES ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  return {
    testListenerUrl: url.replace(/\/+$/, ""),
    smokeTimeoutMs: numberSetting(env, "SMOKE_TIMEOUT_SECONDS", 30, 1, 600) * 1000,
    smokeAttempts: numberSetting(env, "SMOKE_ATTEMPTS", 3, 1, 10),
    smokeRetryDelayMs: numberSetting(env, "SMOKE_RETRY_DELAY_SECONDS", 2, 0, 60) * 1000,
    rollbackAlarmNames,
    alarmWatchMs: numberSetting(env, "ALARM_WATCH_MINUTES", 10, 0, 1440) * 60_000,
    alarmPollSeconds: Math.round(numberSetting(env, "ALARM_POLL_SECONDS", 30, 1, 900)),
  };
}

/** What the lead's component knows when it creates the hook function. */
export interface DeployHookEnvironmentArgs {
  /** Base URL of the ALB test listener, e.g. `http://<alb dns>:8443`. */
  readonly testListenerUrl: string;
  /** The rollback alarms (metric alarms) to watch after production traffic shifts. */
  readonly rollbackAlarmNames: readonly string[];
  /** Deadline of the whole smoke test. @default 30 */
  readonly smokeTimeoutSeconds?: number;
  /** Smoke-test attempts. @default 3 */
  readonly smokeAttempts?: number;
  /** Minutes the alarms are watched after production traffic shifts. @default 10 */
  readonly alarmWatchMinutes?: number;
  /** Seconds between alarm checks while watching. @default 30 */
  readonly alarmPollSeconds?: number;
}

/**
 * The Lambda's `environment.variables` for these settings, validated the way the function will read
 * them (a bad value throws here, while the program builds, not during a deploy).
 */
export function deployHookEnvironment(args: DeployHookEnvironmentArgs): Record<string, string> {
  const variables: Record<string, string> = {
    TEST_LISTENER_URL: args.testListenerUrl,
    ROLLBACK_ALARM_NAMES: args.rollbackAlarmNames.join(","),
  };
  if (args.smokeTimeoutSeconds !== undefined) variables.SMOKE_TIMEOUT_SECONDS = String(args.smokeTimeoutSeconds);
  if (args.smokeAttempts !== undefined) variables.SMOKE_ATTEMPTS = String(args.smokeAttempts);
  if (args.alarmWatchMinutes !== undefined) variables.ALARM_WATCH_MINUTES = String(args.alarmWatchMinutes);
  if (args.alarmPollSeconds !== undefined) variables.ALARM_POLL_SECONDS = String(args.alarmPollSeconds);
  if (args.rollbackAlarmNames.some((name) => name.includes(",") || name.trim() !== name || name === "")) {
    throw new Error(`Deploy hook: rollbackAlarmNames must be non-empty names without commas or surrounding spaces (got ${JSON.stringify(args.rollbackAlarmNames)}).`);
  }
  parseHookSettings(variables);
  return variables;
}

/**
 * The Lambda `timeout` (seconds) these settings need: the smoke test's deadline plus room for one
 * alarm check with the SDK's retries. Well under Lambda's 900 s maximum.
 */
export function deployHookTimeoutSeconds(env: Record<string, string>): number {
  const settings = parseHookSettings(env);
  return Math.ceil(settings.smokeTimeoutMs / 1000) + 60;
}

/** What the hook needs from the outside world; tests inject their own. */
export interface HookDeps {
  readonly cloudWatch: Pick<CloudWatchClient, "send">;
  readonly fetch: typeof fetch;
  /** Epoch milliseconds. */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** One structured log line (CloudWatch Logs). */
  readonly log: (entry: Record<string, unknown>) => void;
}

// ---------------------------------------------------------------------------------------------------
// Smoke test

export interface SmokeResult {
  readonly ok: boolean;
  /** Why it failed (or what answered, when it passed). */
  readonly reason: string;
  readonly attempts: number;
  /** The commit green reported on /version, when it answered. */
  readonly version?: string;
}

async function smokeOnce(settings: HookSettings, deps: HookDeps, deadline: number): Promise<SmokeResult & { retryable: boolean }> {
  let version: string | undefined;
  for (const path of SMOKE_PATHS) {
    const remaining = deadline - deps.now();
    if (remaining <= 0) return { ok: false, retryable: false, attempts: 0, reason: `smoke test timed out after ${settings.smokeTimeoutMs / 1000}s (before GET ${path})` };
    const url = `${settings.testListenerUrl}${path}`;
    let response: Response;
    try {
      response = await deps.fetch(url, { signal: AbortSignal.timeout(remaining), redirect: "manual", headers: { "user-agent": "friday-deploy-hook" } });
    } catch (error) {
      const name = (error as Error).name;
      if (name === "TimeoutError" || name === "AbortError") {
        return { ok: false, retryable: false, attempts: 0, reason: `GET ${path} timed out after ${settings.smokeTimeoutMs / 1000}s` };
      }
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      return { ok: false, retryable: true, attempts: 0, reason: `GET ${path} failed: ${cause?.code ?? cause?.message ?? (error as Error).message}` };
    }
    let body: string;
    try {
      body = await response.text();
    } catch (error) {
      const name = (error as Error).name;
      const timedOut = name === "TimeoutError" || name === "AbortError";
      return { ok: false, retryable: !timedOut, attempts: 0, reason: timedOut ? `GET ${path} timed out after ${settings.smokeTimeoutMs / 1000}s (reading the body)` : `GET ${path}: reading the body failed: ${(error as Error).message}` };
    }
    if (response.status !== 200) {
      return { ok: false, retryable: true, attempts: 0, reason: `GET ${path} answered ${response.status} (expected 200): ${body.slice(0, 200)}` };
    }
    if (path === "/version") version = versionFrom(body);
  }
  return { ok: true, retryable: false, attempts: 0, reason: `GET ${SMOKE_PATHS.join(", GET ")} answered 200`, version };
}

function versionFrom(body: string): string {
  try {
    const parsed = JSON.parse(body) as { commit?: unknown };
    if (typeof parsed.commit === "string") return parsed.commit;
  } catch {
    // a plain-text version is fine too
  }
  return body.trim().slice(0, 80);
}

/**
 * Smoke-tests green through the test listener: every path in SMOKE_PATHS must answer 200. Connection
 * errors and non-200 answers are retried (up to `smokeAttempts`), all within one deadline of
 * `smokeTimeoutMs`; a timeout is final.
 */
export async function smokeTest(settings: HookSettings, deps: HookDeps): Promise<SmokeResult> {
  const deadline = deps.now() + settings.smokeTimeoutMs;
  let last: SmokeResult & { retryable: boolean } = { ok: false, retryable: false, attempts: 0, reason: "not run" };
  for (let attempt = 1; attempt <= settings.smokeAttempts; attempt++) {
    last = await smokeOnce(settings, deps, deadline);
    deps.log({ event: "smoke-attempt", attempt, ok: last.ok, reason: last.reason });
    if (last.ok || !last.retryable) return { ok: last.ok, reason: last.reason, attempts: attempt, version: last.version };
    if (attempt < settings.smokeAttempts) {
      const pause = Math.min(settings.smokeRetryDelayMs, Math.max(0, deadline - deps.now()));
      if (pause > 0) await deps.sleep(pause);
      if (deps.now() >= deadline) {
        return { ok: false, reason: `smoke test timed out after ${settings.smokeTimeoutMs / 1000}s; last failure: ${last.reason}`, attempts: attempt };
      }
    }
  }
  return { ok: false, reason: `${last.reason} (after ${settings.smokeAttempts} attempts)`, attempts: settings.smokeAttempts };
}

// ---------------------------------------------------------------------------------------------------
// Alarms

export interface AlarmCheck {
  /** Alarms in ALARM. */
  readonly inAlarm: readonly string[];
  /** Configured alarms CloudWatch does not know. */
  readonly missing: readonly string[];
  /** Every alarm found → its state (OK | ALARM | INSUFFICIENT_DATA). */
  readonly states: Readonly<Record<string, string>>;
}

/** DescribeAlarms takes at most 100 names per call. */
const DESCRIBE_ALARMS_BATCH = 100;

/**
 * Reads the state of the named metric alarms. Throws what the SDK throws after its own retries
 * (throttling, access denied, network).
 *
 * Metric alarms only: CloudWatch answers composite alarms only to a caller whose DescribeAlarms
 * permission is on "*", and the hook's role is scoped to the rollback alarms' ARNs. A composite alarm
 * named in ROLLBACK_ALARM_NAMES therefore shows up as missing, which fails the hook (fail safe).
 */
export async function checkAlarms(cloudWatch: Pick<CloudWatchClient, "send">, alarmNames: readonly string[]): Promise<AlarmCheck> {
  const states: Record<string, string> = {};
  for (let i = 0; i < alarmNames.length; i += DESCRIBE_ALARMS_BATCH) {
    const batch = alarmNames.slice(i, i + DESCRIBE_ALARMS_BATCH);
    let nextToken: string | undefined;
    do {
      const page = await cloudWatch.send(
        new DescribeAlarmsCommand({ AlarmNames: batch, AlarmTypes: ["MetricAlarm"], MaxRecords: 100, NextToken: nextToken }),
      );
      for (const alarm of page.MetricAlarms ?? []) {
        if (alarm.AlarmName) states[alarm.AlarmName] = alarm.StateValue ?? "UNKNOWN";
      }
      nextToken = page.NextToken;
    } while (nextToken);
  }
  return {
    inAlarm: alarmNames.filter((name) => states[name] === "ALARM"),
    missing: alarmNames.filter((name) => !(name in states)),
    states,
  };
}

function describeAwsError(error: unknown): string {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number; attempts?: number } };
  const attempts = e.$metadata?.attempts;
  return `${e.name ?? "Error"}: ${e.message ?? String(error)}${attempts ? ` (after ${attempts} attempt${attempts === 1 ? "" : "s"})` : ""}`;
}

/** One alarm check turned into a verdict: undefined when all alarms are readable and out of ALARM. */
async function alarmVerdict(settings: HookSettings, deps: HookDeps): Promise<{ failure?: string; check?: AlarmCheck }> {
  if (settings.rollbackAlarmNames.length === 0) {
    return { failure: "ROLLBACK_ALARM_NAMES is empty: the hook has no alarms to verify. Set it to the stack's rollback alarm names." };
  }
  let check: AlarmCheck;
  try {
    check = await checkAlarms(deps.cloudWatch, settings.rollbackAlarmNames);
  } catch (error) {
    return { failure: `cannot read the rollback alarms: ${describeAwsError(error)}` };
  }
  if (check.inAlarm.length > 0) return { failure: `alarm in ALARM: ${check.inAlarm.join(", ")}`, check };
  if (check.missing.length > 0) {
    return { failure: `rollback alarm not found: ${check.missing.join(", ")} (check ROLLBACK_ALARM_NAMES against the stack's metric alarms)`, check };
  }
  return { check };
}

// ---------------------------------------------------------------------------------------------------
// The hook

/** True when ECS is shifting traffic back to blue (the green target has weight 0, another revision more). */
export function isRollback(event: EcsLifecycleHookEvent, weights: "testTrafficWeights" | "productionTrafficWeights"): boolean {
  const map = event.executionDetails?.[weights] ?? {};
  const green = event.executionDetails?.targetServiceRevisionArn;
  const entries = Object.entries(map);
  if (entries.length === 0 || !green || !(green in map)) return false;
  return map[green] === 0 && entries.some(([arn, weight]) => arn !== green && weight > 0);
}

function validateEvent(event: unknown): string | undefined {
  const e = event as Partial<EcsLifecycleHookEvent> | null;
  if (!e || typeof e !== "object") return "the event is not an object";
  if (typeof e.lifecycleStage !== "string") return "the event has no lifecycleStage";
  if (!(LIFECYCLE_STAGES as readonly string[]).includes(e.lifecycleStage)) return `unknown lifecycle stage "${e.lifecycleStage}"`;
  if (!e.executionDetails || typeof e.executionDetails !== "object") return "the event has no executionDetails";
  return undefined;
}

/**
 * Decides one invocation. Pure logic over injected clients, fetch and clock; never throws (an error
 * becomes FAILED with a logged reason).
 */
export async function runDeployHook(event: EcsLifecycleHookEvent, settings: HookSettings, deps: HookDeps): Promise<EcsLifecycleHookResult> {
  const context = {
    executionId: event?.executionId,
    lifecycleStage: event?.lifecycleStage,
    deployment: event?.resourceArn,
    targetRevision: event?.executionDetails?.targetServiceRevisionArn,
  };
  const decide = (result: EcsLifecycleHookResult, reason: string, extra: Record<string, unknown> = {}): EcsLifecycleHookResult => {
    deps.log({ event: "hook-decision", ...context, hookStatus: result.hookStatus, reason, ...extra });
    return result;
  };
  try {
    const invalid = validateEvent(event);
    if (invalid) return decide({ hookStatus: "FAILED" }, `${invalid}; the hook cannot verify this deployment`);
    const stage = event.lifecycleStage as LifecycleStage;
    switch (stage) {
      case "TEST_TRAFFIC_SHIFT":
      case "POST_TEST_TRAFFIC_SHIFT": {
        if (stage === "TEST_TRAFFIC_SHIFT" && isRollback(event, "testTrafficWeights")) {
          return decide({ hookStatus: "SUCCEEDED" }, "rollback in progress (test traffic shifting back to blue): nothing to verify");
        }
        const smoke = await smokeTest(settings, deps);
        return decide({ hookStatus: smoke.ok ? "SUCCEEDED" : "FAILED" }, smoke.ok ? `green passed the smoke test: ${smoke.reason}` : `green failed the smoke test: ${smoke.reason}`, {
          attempts: smoke.attempts,
          version: smoke.version,
          testListener: settings.testListenerUrl,
        });
      }
      case "PRODUCTION_TRAFFIC_SHIFT":
        // Re-invoked at every linear/canary step and again while a rollback shifts traffic back, and a
        // mid-rollback step (green 50%, blue 50%) looks like a forward one. Checking alarms here could
        // answer FAILED to a rollback, so the hook passes; the service's deployment alarms cover the
        // traffic-shift steps and the watch below covers what follows.
        return decide({ hookStatus: "SUCCEEDED" }, "nothing to verify while production traffic shifts (the deployment alarms cover it)");
      case "POST_PRODUCTION_TRAFFIC_SHIFT":
        return await watchAlarms(event, settings, deps, decide);
      default:
        return decide({ hookStatus: "SUCCEEDED" }, `nothing to verify at ${stage} (friday registers the hook at ${HOOK_STAGES.join(" and ")})`);
    }
  } catch (error) {
    return decide({ hookStatus: "FAILED" }, `unexpected error: ${describeAwsError(error)}`);
  }
}

async function watchAlarms(
  event: EcsLifecycleHookEvent,
  settings: HookSettings,
  deps: HookDeps,
  decide: (result: EcsLifecycleHookResult, reason: string, extra?: Record<string, unknown>) => EcsLifecycleHookResult,
): Promise<EcsLifecycleHookResult> {
  const now = deps.now();
  const recorded = Number(event.hookDetails?.[WATCH_STARTED_KEY]);
  // A missing or unreadable start time starts the window now: the watch can only get longer, never shorter.
  const startedAt = Number.isFinite(recorded) && recorded > 0 && recorded <= now ? recorded : now;
  const checks = (Number(event.hookDetails?.[WATCH_CHECKS_KEY]) || 0) + 1;
  const elapsedMs = now - startedAt;
  const watch = { watchStartedAt: new Date(startedAt).toISOString(), elapsedSeconds: Math.round(elapsedMs / 1000), checks };

  const { failure, check } = await alarmVerdict(settings, deps);
  if (failure) return decide({ hookStatus: "FAILED" }, failure, { ...watch, alarms: check?.states });

  const remainingMs = settings.alarmWatchMs - elapsedMs;
  if (remainingMs <= 0) {
    return decide({ hookStatus: "SUCCEEDED" }, `rollback alarms stayed out of ALARM for the whole ${settings.alarmWatchMs / 60_000}-minute window`, {
      ...watch,
      alarms: check?.states,
    });
  }
  const callBackDelay = Math.max(1, Math.min(settings.alarmPollSeconds, Math.ceil(remainingMs / 1000)));
  return decide(
    { hookStatus: "IN_PROGRESS", callBackDelay, hookDetails: { [WATCH_STARTED_KEY]: startedAt, [WATCH_CHECKS_KEY]: checks } },
    `watching the rollback alarms: ${Math.ceil(remainingMs / 1000)}s of the window left`,
    { ...watch, alarms: check?.states, callBackDelay },
  );
}

// ---------------------------------------------------------------------------------------------------
// The Lambda entry point

/**
 * The CloudWatch client the Lambda uses: the SDK retries throttling and transient errors itself
 * (standard mode, 5 attempts with backoff); what still fails after that fails the hook.
 */
export function createCloudWatchClient(overrides: CloudWatchClientConfig = {}): CloudWatchClient {
  return new CloudWatchClient({ maxAttempts: 5, retryMode: "standard", ...overrides });
}

let cloudWatch: CloudWatchClient | undefined;

const defaultDeps = (): HookDeps => {
  cloudWatch ??= createCloudWatchClient();
  return {
    cloudWatch,
    fetch: globalThis.fetch,
    now: Date.now,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    log: (entry) => console.log(JSON.stringify(entry)),
  };
};

/** The function ECS invokes (`index.handler` in the bundle). */
export async function handler(event: EcsLifecycleHookEvent): Promise<EcsLifecycleHookResult> {
  const deps = defaultDeps();
  let settings: HookSettings;
  try {
    settings = parseHookSettings(process.env);
  } catch (error) {
    deps.log({ event: "hook-decision", executionId: event?.executionId, lifecycleStage: event?.lifecycleStage, hookStatus: "FAILED", reason: (error as Error).message });
    return { hookStatus: "FAILED" };
  }
  return runDeployHook(event, settings, deps);
}
