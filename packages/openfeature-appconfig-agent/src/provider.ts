import { Agent, request } from "node:http";
import type { EvaluationContext, JsonValue, Logger, Provider, ResolutionDetails } from "@openfeature/server-sdk";
import { ErrorCode, StandardResolutionReasons } from "@openfeature/server-sdk";

/** Options of {@link AppConfigAgentProvider}. */
export interface AppConfigAgentProviderOptions {
  /** AppConfig application name (or id), e.g. "friday-prod". */
  readonly application: string;
  /** AppConfig environment name (or id), e.g. "prod". */
  readonly environment: string;
  /** Feature-flag configuration profile name (or id). @default "flags" */
  readonly profile?: string;
  /** Where the agent listens. @default "http://localhost:2772" */
  readonly endpoint?: string;
  /** How long an answer for one evaluation context is reused without asking the agent. @default 1000 */
  readonly cacheTtlMs?: number;
  /**
   * How long an expired answer may still be served while the agent is slow or unreachable (it is
   * refreshed in the background meanwhile). Past this, evaluations return the caller's default. @default 30000
   */
  readonly maxStaleMs?: number;
  /** Per-request timeout when asking the agent. @default 200 */
  readonly timeoutMs?: number;
  /** Distinct evaluation contexts cached at most (oldest evicted first). @default 10000 */
  readonly maxCacheEntries?: number;
  /** Context key the OpenFeature `targetingKey` is sent as (what `split by::$userId` reads). @default "userId" */
  readonly targetingKeyAttribute?: string;
  /**
   * Context attributes sent to the agent besides the targeting key. Default: every string, number or
   * boolean attribute. Listing only the ones your rules read (e.g. ["group"]) keeps the cache small.
   */
  readonly contextAttributes?: readonly string[];
  /** Bearer token, if the agent runs with ACCESS_TOKEN. */
  readonly accessToken?: string;
}

type FlagValues = Record<string, Record<string, unknown>>;
type Kind = "boolean" | "string" | "number" | "object";

interface CacheEntry {
  /** When the agent answered (ms since epoch). */
  fetchedAt: number;
  /** When a background refresh was last started: at most one per TTL while the agent fails. */
  refreshedAt: number;
  flags: FlagValues;
  /** Memoized successful resolutions, by kind + flag key: the warm path allocates nothing. */
  resolved: Map<string, ResolutionDetails<any>>;
}

class AgentError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const DEFAULTS = { endpoint: "http://localhost:2772", profile: "flags", cacheTtlMs: 1000, maxStaleMs: 30_000, timeoutMs: 200, maxCacheEntries: 10_000 };

/**
 * OpenFeature server provider that reads feature flags from the AWS AppConfig Agent on localhost
 * (`AWS.AppConfig.FeatureFlags` profiles, including multi-variant flags with `split` rules).
 *
 * - Flag keys: `"<flag>"` resolves the flag's `enabled` (boolean) or its whole value (object);
 *   `"<flag>.<attribute>"` resolves one attribute (boolean, string, number or object).
 * - The evaluation context is sent in `Context: key=value` headers; the targeting key as `userId`.
 * - Answers are cached per evaluation context for `cacheTtlMs`; expired answers are served while a
 *   background refresh runs, for at most `maxStaleMs`.
 * - It never throws: when the agent is unreachable, slow or answers garbage, evaluations return the
 *   caller's default with reason ERROR and an OpenFeature error code (GENERAL, PARSE_ERROR,
 *   FLAG_NOT_FOUND, TYPE_MISMATCH) and a message naming the cause.
 */
export class AppConfigAgentProvider implements Provider {
  readonly metadata = { name: "appconfig-agent" } as const;
  readonly runsOn = "server" as const;

  private readonly options: Required<Omit<AppConfigAgentProviderOptions, "contextAttributes" | "accessToken">> &
    Pick<AppConfigAgentProviderOptions, "contextAttributes" | "accessToken">;
  private readonly url: URL;
  private readonly httpAgent: Agent;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<CacheEntry>>();
  /** Recent failures per context: during an outage, evaluations answer at once instead of re-asking. */
  private readonly failures = new Map<string, { at: number; error: AgentError }>();

  constructor(options: AppConfigAgentProviderOptions) {
    for (const field of ["application", "environment"] as const) {
      if (typeof options?.[field] !== "string" || options[field].length === 0) {
        throw new Error(`AppConfigAgentProvider: options.${field} is required (got ${JSON.stringify(options?.[field])}).`);
      }
    }
    this.options = {
      ...DEFAULTS,
      targetingKeyAttribute: "userId",
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
    } as AppConfigAgentProvider["options"];
    const { application, environment, profile } = this.options;
    const path = `/applications/${encodeURIComponent(application)}/environments/${encodeURIComponent(environment)}/configurations/${encodeURIComponent(profile)}`;
    this.url = new URL(path, this.options.endpoint);
    this.httpAgent = new Agent({ keepAlive: true, maxSockets: 16 });
  }

  /** Asks the agent once so the first requests hit a warm cache; never fails (the agent may start later). */
  async initialize(context?: EvaluationContext): Promise<void> {
    await this.load(this.contextKey(context ?? {}), this.headerValues(context ?? {})).catch(() => undefined);
  }

  async onClose(): Promise<void> {
    this.httpAgent.destroy();
    this.cache.clear();
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext, logger?: Logger): Promise<ResolutionDetails<boolean>> {
    return this.resolve("boolean", flagKey, defaultValue, context, logger);
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext, logger?: Logger): Promise<ResolutionDetails<string>> {
    return this.resolve("string", flagKey, defaultValue, context, logger);
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext, logger?: Logger): Promise<ResolutionDetails<number>> {
    return this.resolve("number", flagKey, defaultValue, context, logger);
  }

  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext, logger?: Logger): Promise<ResolutionDetails<T>> {
    return this.resolve("object", flagKey, defaultValue, context, logger);
  }

  private resolve<T>(kind: Kind, flagKey: string, defaultValue: T, context: EvaluationContext, logger?: Logger): Promise<ResolutionDetails<T>> {
    const key = this.contextKey(context);
    const entry = this.cache.get(key);
    if (entry !== undefined) {
      const age = Date.now() - entry.fetchedAt;
      if (age < this.options.cacheTtlMs) return Promise.resolve(this.fromEntry(entry, kind, flagKey, defaultValue));
      if (age < this.options.maxStaleMs) {
        // Serve the last answer now; refresh in the background, at most once per TTL.
        const now = Date.now();
        if (now - entry.refreshedAt >= this.options.cacheTtlMs) {
          entry.refreshedAt = now;
          this.load(key, undefined, context).catch((error) => this.warnOnce(logger, `${error.message}; serving the last answer for at most ${this.options.maxStaleMs} ms`));
        }
        return Promise.resolve(this.fromEntry(entry, kind, flagKey, defaultValue));
      }
      this.cache.delete(key);
    }
    const failed = this.failures.get(key);
    if (failed !== undefined && Date.now() - failed.at < Math.min(this.options.cacheTtlMs, 1000)) {
      return Promise.resolve(this.failure(failed.error, defaultValue));
    }
    return this.load(key, undefined, context).then(
      (fresh) => this.fromEntry(fresh, kind, flagKey, defaultValue),
      (error: unknown) => {
        const agentError = error instanceof AgentError ? error : new AgentError(ErrorCode.GENERAL, error instanceof Error ? error.message : String(error));
        if (this.failures.size >= this.options.maxCacheEntries) this.failures.clear();
        this.failures.set(key, { at: Date.now(), error: agentError });
        this.warnOnce(logger, `${agentError.message}; evaluations return the caller's default`);
        return this.failure(agentError, defaultValue);
      },
    );
  }

  private failure<T>(error: AgentError, defaultValue: T): ResolutionDetails<T> {
    return { value: defaultValue, reason: StandardResolutionReasons.ERROR, errorCode: error.code, errorMessage: error.message };
  }

  private lastWarning = { message: "", at: 0 };

  /** An outage would log on every evaluation: log each distinct problem at most once a minute. */
  private warnOnce(logger: Logger | undefined, message: string): void {
    const now = Date.now();
    if (message === this.lastWarning.message && now - this.lastWarning.at < 60_000) return;
    this.lastWarning = { message, at: now };
    logger?.warn?.(message);
  }

  private fromEntry<T>(entry: CacheEntry, kind: Kind, flagKey: string, defaultValue: T): ResolutionDetails<T> {
    const memoKey = kind + ":" + flagKey;
    const memo = entry.resolved.get(memoKey);
    if (memo !== undefined) return memo;
    const dot = flagKey.indexOf(".");
    const flagName = dot < 0 ? flagKey : flagKey.slice(0, dot);
    const flag = Object.prototype.hasOwnProperty.call(entry.flags, flagName) ? entry.flags[flagName] : undefined;
    const fail = (errorCode: ErrorCode, errorMessage: string): ResolutionDetails<T> => ({
      value: defaultValue,
      reason: StandardResolutionReasons.ERROR,
      errorCode,
      errorMessage,
    });
    if (flag === undefined || flag === null || typeof flag !== "object") {
      return fail(ErrorCode.FLAG_NOT_FOUND, `flag "${flagName}" is not in ${this.url.pathname} (declare it in the flags file and deploy)`);
    }
    let value: unknown;
    if (dot < 0) {
      if (kind === "boolean") value = flag.enabled;
      else if (kind === "object") value = withoutInternals(flag);
      else return fail(ErrorCode.TYPE_MISMATCH, `"${flagKey}" is a flag, not a ${kind}: ask for "${flagKey}.<attribute>"`);
    } else {
      const attribute = flagKey.slice(dot + 1);
      if (!Object.prototype.hasOwnProperty.call(flag, attribute) || attribute.startsWith("_")) {
        return fail(ErrorCode.FLAG_NOT_FOUND, `flag "${flagName}" has no attribute "${attribute}"`);
      }
      value = flag[attribute];
    }
    const actual = value === null ? "null" : Array.isArray(value) ? "object" : typeof value;
    if (actual !== kind) return fail(ErrorCode.TYPE_MISMATCH, `"${flagKey}" is a ${actual}, not a ${kind}`);
    const variant = typeof flag._variant === "string" ? flag._variant : undefined;
    const details: ResolutionDetails<T> = Object.freeze(
      variant === undefined
        ? { value: value as T, reason: StandardResolutionReasons.STATIC }
        : { value: value as T, variant, reason: StandardResolutionReasons.TARGETING_MATCH },
    );
    entry.resolved.set(memoKey, details);
    return details;
  }

  /** The cache key: the Context header values this context is sent as. */
  private contextKey(context: EvaluationContext): string {
    let key = "";
    const targetingKey = context.targetingKey;
    if (typeof targetingKey === "string" && targetingKey !== "") key = this.options.targetingKeyAttribute + "=" + targetingKey;
    const only = this.options.contextAttributes;
    if (only !== undefined) {
      for (let i = 0; i < only.length; i++) {
        const v = context[only[i]];
        if (isScalar(v)) key += (key === "" ? "" : "\n") + only[i] + "=" + v;
      }
      return key;
    }
    for (const name in context) {
      if (name === "targetingKey") continue;
      const v = context[name];
      if (isScalar(v)) key += (key === "" ? "" : "\n") + name + "=" + v;
    }
    return key;
  }

  private headerValues(context: EvaluationContext): string[] {
    return this.contextKey(context)
      .split("\n")
      // The agent splits on commas; headers carry printable ASCII only: such values are not sent.
      .filter((pair) => pair.includes("=") && !/[,]|[^\t\x20-\x7e]/.test(pair));
  }

  /** Fetches (once per key at a time) and caches the agent's answer for one context. */
  private load(key: string, headers?: string[], context?: EvaluationContext): Promise<CacheEntry> {
    const running = this.inflight.get(key);
    if (running) return running;
    const promise = this.fetchFlags(headers ?? this.headerValues(context ?? {}))
      .then((flags) => {
        const entry: CacheEntry = { fetchedAt: Date.now(), refreshedAt: Date.now(), flags, resolved: new Map() };
        this.failures.delete(key);
        this.cache.delete(key);
        this.cache.set(key, entry);
        if (this.cache.size > this.options.maxCacheEntries) this.cache.delete(this.cache.keys().next().value as string);
        return entry;
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, promise);
    return promise;
  }

  private fetchFlags(contextHeaders: string[]): Promise<FlagValues> {
    const { timeoutMs } = this.options;
    const where = `AppConfig Agent at ${this.url.origin}${this.url.pathname}`;
    return new Promise<FlagValues>((resolve, reject) => {
      const headers: Record<string, string | string[]> = { accept: "application/json" };
      if (contextHeaders.length > 0) headers["context"] = contextHeaders;
      if (this.options.accessToken) headers["authorization"] = `Bearer ${this.options.accessToken}`;
      const req = request(this.url, { method: "GET", headers, agent: this.httpAgent, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", (error) => reject(new AgentError(ErrorCode.GENERAL, `${where}: ${error.message}`)));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 200) {
            reject(new AgentError(ErrorCode.GENERAL, `${where} answered HTTP ${res.statusCode}: ${body.slice(0, 200)}`));
            return;
          }
          let parsed: unknown;
          try {
            parsed = JSON.parse(body);
          } catch {
            reject(new AgentError(ErrorCode.PARSE_ERROR, `${where} answered with invalid JSON: ${body.slice(0, 80)}`));
            return;
          }
          if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
            reject(new AgentError(ErrorCode.PARSE_ERROR, `${where} answered ${Array.isArray(parsed) ? "an array" : typeof parsed}, not feature flags (is the profile of type AWS.AppConfig.FeatureFlags?)`));
            return;
          }
          resolve(parsed as FlagValues);
        });
      });
      req.on("timeout", () => req.destroy(new AgentError(ErrorCode.GENERAL, `${where} did not answer within ${timeoutMs} ms`)));
      req.on("error", (error: NodeJS.ErrnoException) =>
        reject(error instanceof AgentError ? error : new AgentError(ErrorCode.GENERAL, `${where} is unreachable: ${error.code ?? error.message}`)),
      );
      req.end();
    });
  }
}

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

function withoutInternals(flag: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flag)) if (!k.startsWith("_")) out[k] = v;
  return out;
}
