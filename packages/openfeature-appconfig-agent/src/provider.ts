import { Agent, ClientRequest, request } from "node:http";
import type { EvaluationContext, FlagMetadata, JsonValue, Logger, Provider, ResolutionDetails } from "@openfeature/server-sdk";
import { ErrorCode, OpenFeatureEventEmitter, ProviderEvents, StandardResolutionReasons } from "@openfeature/server-sdk";

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
  /** Longest a request to the agent may take, from the call to the last byte (waiting for a socket included). @default 200 */
  readonly timeoutMs?: number;
  /**
   * After a failed request the provider stops asking the agent (every evaluation that would need it
   * answers the caller's default at once) and sends one probe this often until one succeeds. @default 1000
   */
  readonly probeIntervalMs?: number;
  /** Distinct evaluation contexts cached at most (oldest evicted first). @default 10000 */
  readonly maxCacheEntries?: number;
  /** Context key the OpenFeature `targetingKey` is sent as (what `split by::$userId` reads). @default "userId" */
  readonly targetingKeyAttribute?: string;
  /**
   * Context attributes sent to the agent besides the targeting key. Default: every string, number or
   * boolean attribute. Listing only the ones your rules read (e.g. ["group"]) keeps the cache small.
   */
  readonly contextAttributes?: readonly string[];
  /** Name of the variant with no rule (what users no rule matched get): answers from it have reason DEFAULT. @default "default" */
  readonly defaultVariant?: string;
  /** Bearer token, if the agent runs with ACCESS_TOKEN. */
  readonly accessToken?: string;
  /** Where problems outside an evaluation go (probes, background refreshes). @default the logger of the latest evaluation (the SDK's) */
  readonly logger?: Logger;
}

type FlagValues = Record<string, Record<string, unknown>>;
type Kind = "boolean" | "string" | "number" | "object";
/** How an answer was obtained: just now from the agent, from the cache within its TTL, or past it. */
type Freshness = "fresh" | "cached" | "stale";

interface CacheEntry {
  /** When the agent answered (ms since epoch). */
  fetchedAt: number;
  /** When a background refresh was last started: at most one per TTL. */
  refreshedAt: number;
  flags: FlagValues;
  /** The agent's Configuration-Version header, when it sends one. */
  version?: string;
  /** Memoized successful resolutions, by freshness, then kind + flag key: the warm path allocates nothing. */
  resolved: Record<Freshness, Map<string, ResolutionDetails<any>>>;
}

class AgentError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The circuit: closed (ask the agent) or open since a failure (answer defaults, probe). */
type Circuit = { readonly open: false } | { readonly open: true; readonly since: number; readonly error: AgentError; event: ProviderEvents.Error | ProviderEvents.Stale };

/** One context attribute as the agent will get it: a `Context: name=value` header. */
interface ContextPair {
  readonly name: string;
  readonly value: string;
}

const DEFAULTS = {
  endpoint: "http://localhost:2772",
  profile: "flags",
  cacheTtlMs: 1000,
  maxStaleMs: 30_000,
  timeoutMs: 200,
  probeIntervalMs: 1000,
  maxCacheEntries: 10_000,
  targetingKeyAttribute: "userId",
  defaultVariant: "default",
};

/** Context names a rule can read (`$name`, as rules.ts parses it): nothing that could break the header's `name=value` form. */
const CONTEXT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/**
 * Why a value cannot go in a `Context` header, or undefined when it can. The agent documents the
 * header as `key=value` pairs, several headers or comma-separated in one, with no escaping: a comma
 * would split the value into another pair (`alice,group=staff` would add a group), and HTTP header
 * values are ASCII (Node refuses CR/LF outright; other bytes reach the agent as it decodes them).
 */
function unsendable(value: string): string | undefined {
  if (/[^\x20-\x7e]/.test(value)) return "it has non-ASCII or control characters (HTTP header values are printable ASCII)";
  if (value.includes(",")) return "it contains a comma (the Context header separates pairs with commas, without escaping)";
  if (value.includes("=")) return 'it contains "=" (the Context header separates name and value with "=", without escaping)';
  if (value !== value.trim()) return "it starts or ends with spaces (HTTP trims them)";
  return undefined;
}

/**
 * OpenFeature server provider that reads feature flags from the AWS AppConfig Agent on localhost
 * (`AWS.AppConfig.FeatureFlags` profiles, including multi-variant flags with `split` rules).
 *
 * - Flag keys: `"<flag>"` resolves the flag's `enabled` (boolean) or its whole value (object);
 *   `"<flag>.<attribute>"` resolves one attribute (boolean, string, number or object).
 * - The evaluation context is sent as one `Context: name=value` header per attribute, the targeting
 *   key as `userId`; what cannot be sent safely is left out and logged (see {@link unsendable}).
 * - Answers are cached per evaluation context for `cacheTtlMs` (keyed by the JSON of the context);
 *   expired answers are served while a background refresh runs, for at most `maxStaleMs`.
 * - One failed request opens a provider-wide circuit: until a probe succeeds, evaluations that would
 *   need the agent answer the caller's default at once instead of each waiting for a timeout.
 * - It never throws: evaluations return the caller's default with reason ERROR and an OpenFeature
 *   error code (GENERAL, PARSE_ERROR, FLAG_NOT_FOUND, TYPE_MISMATCH) and a message naming the cause.
 * - Events: READY when the agent answers again, STALE when it stops answering while cached answers
 *   remain, ERROR when it stops answering with none (or they expire), CONFIGURATION_CHANGED when a
 *   refreshed answer differs. `initialize` rejects when the agent does not answer (status ERROR).
 */
export class AppConfigAgentProvider implements Provider {
  readonly metadata = { name: "appconfig-agent" } as const;
  readonly runsOn = "server" as const;
  readonly events = new OpenFeatureEventEmitter();

  private readonly options: Required<Omit<AppConfigAgentProviderOptions, "contextAttributes" | "accessToken" | "logger">> &
    Pick<AppConfigAgentProviderOptions, "contextAttributes" | "accessToken" | "logger">;
  private readonly url: URL;
  private readonly where: string;
  private readonly httpAgent: Agent;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<CacheEntry>>();
  /** Requests under way, so that opening the circuit can end them at once. */
  private readonly pending = new Set<ClientRequest>();
  private circuit: Circuit = { open: false };
  private probeTimer: NodeJS.Timeout | undefined;
  private lastVersion: string | undefined;
  private lastChange = { signature: "", at: 0 };
  private readonly warned = new Map<string, number>();
  /** The SDK hands each evaluation its logger; probes and background work use the latest one. */
  private lastLogger: Logger | undefined;

  constructor(options: AppConfigAgentProviderOptions) {
    for (const field of ["application", "environment"] as const) {
      if (typeof options?.[field] !== "string" || options[field].length === 0) {
        throw new Error(`AppConfigAgentProvider: options.${field} is required (got ${JSON.stringify(options?.[field])}).`);
      }
    }
    this.options = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as AppConfigAgentProvider["options"];
    for (const field of ["timeoutMs", "probeIntervalMs"] as const) {
      const value = this.options[field];
      if (!Number.isFinite(value) || value <= 0) throw new Error(`AppConfigAgentProvider: options.${field} must be a number of milliseconds above 0 (got ${JSON.stringify(value)}).`);
    }
    if (!CONTEXT_NAME.test(this.options.targetingKeyAttribute)) {
      throw new Error(`AppConfigAgentProvider: options.targetingKeyAttribute must be a context name a rule can read, such as "userId" (got ${JSON.stringify(this.options.targetingKeyAttribute)}).`);
    }
    const { application, environment, profile } = this.options;
    const path = `/applications/${encodeURIComponent(application)}/environments/${encodeURIComponent(environment)}/configurations/${encodeURIComponent(profile)}`;
    this.url = new URL(path, this.options.endpoint);
    this.where = `AppConfig Agent at ${this.url.origin}${this.url.pathname}`;
    this.httpAgent = new Agent({ keepAlive: true, maxSockets: 16 });
  }

  /**
   * Asks the agent once, so the first requests hit a warm cache. When it does not answer, this rejects
   * (the SDK sets status ERROR and emits ERROR) and the circuit is open: evaluations answer their
   * defaults, a probe runs every `probeIntervalMs`, and READY follows the first one that succeeds.
   */
  async initialize(context?: EvaluationContext): Promise<void> {
    await this.load(this.contextKey(context ?? {}), context ?? {}, this.options.logger, true);
  }

  async onClose(): Promise<void> {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    for (const req of this.pending) req.destroy();
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
    if (logger !== undefined) this.lastLogger = logger;
    const key = this.contextKey(context);
    const entry = this.cache.get(key);
    if (entry !== undefined) {
      const now = Date.now();
      const age = now - entry.fetchedAt;
      if (age < this.options.cacheTtlMs) return Promise.resolve(this.fromEntry(entry, "cached", kind, flagKey, defaultValue));
      if (age < this.options.maxStaleMs) {
        // Serve the last answer now; refresh in the background at most once per TTL, unless the
        // circuit is open (then the probe finds out when the agent is back).
        if (!this.circuit.open && now - entry.refreshedAt >= this.options.cacheTtlMs) {
          entry.refreshedAt = now;
          this.load(key, context, logger).catch(() => undefined);
        }
        return Promise.resolve(this.fromEntry(entry, "stale", kind, flagKey, defaultValue));
      }
      this.cache.delete(key);
    }
    if (this.circuit.open) return Promise.resolve(this.failure(this.circuit.error, defaultValue));
    return this.load(key, context, logger).then(
      (fresh) => this.fromEntry(fresh, "fresh", kind, flagKey, defaultValue),
      (error: unknown) => this.failure(asAgentError(error), defaultValue),
    );
  }

  private failure<T>(error: AgentError, defaultValue: T): ResolutionDetails<T> {
    return { value: defaultValue, reason: StandardResolutionReasons.ERROR, errorCode: error.code, errorMessage: error.message };
  }

  /** An outage or a bad context would log on every evaluation: each distinct message at most once a minute. */
  private warnOnce(logger: Logger | undefined, message: string): void {
    const now = Date.now();
    const last = this.warned.get(message);
    if (last !== undefined && now - last < 60_000) return;
    if (this.warned.size > 1000) this.warned.clear();
    this.warned.set(message, now);
    this.loggerFor(logger)?.warn(message);
  }

  private loggerFor(logger: Logger | undefined): Logger | undefined {
    return this.options.logger ?? logger ?? this.lastLogger;
  }

  private fromEntry<T>(entry: CacheEntry, freshness: Freshness, kind: Kind, flagKey: string, defaultValue: T): ResolutionDetails<T> {
    const memoKey = kind + ":" + flagKey;
    const memo = entry.resolved[freshness].get(memoKey);
    if (memo !== undefined) return memo;
    const dot = flagKey.indexOf(".");
    const flagName = dot < 0 ? flagKey : flagKey.slice(0, dot);
    const flag = Object.prototype.hasOwnProperty.call(entry.flags, flagName) ? entry.flags[flagName] : undefined;
    const fail = (errorCode: ErrorCode, errorMessage: string): ResolutionDetails<T> => ({ value: defaultValue, reason: StandardResolutionReasons.ERROR, errorCode, errorMessage });
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
    // How the agent chose the value: a basic flag is STATIC; a multi-variant flag's rule-less default
    // variant is DEFAULT; any other variant matched a rule.
    const evaluation = variant === undefined ? StandardResolutionReasons.STATIC : variant === this.options.defaultVariant ? StandardResolutionReasons.DEFAULT : StandardResolutionReasons.TARGETING_MATCH;
    const reason = freshness === "fresh" ? evaluation : freshness === "cached" ? StandardResolutionReasons.CACHED : StandardResolutionReasons.STALE;
    const flagMetadata: FlagMetadata = { evaluationReason: evaluation, fetchedAt: new Date(entry.fetchedAt).toISOString() };
    if (entry.version !== undefined) flagMetadata.configurationVersion = entry.version;
    const details: ResolutionDetails<T> = Object.freeze({ value: value as T, ...(variant === undefined ? {} : { variant }), reason, flagMetadata: Object.freeze(flagMetadata) });
    entry.resolved[freshness].set(memoKey, details);
    return details;
  }

  /**
   * The cache key: the context as JSON text, name and value each JSON-encoded, so no value can
   * imitate a separator (two contexts share a key only when they are the same context).
   */
  private contextKey(context: EvaluationContext): string {
    let key = "";
    const targetingKey = context.targetingKey;
    if (typeof targetingKey === "string" && targetingKey !== "") key = JSON.stringify(targetingKey);
    const only = this.options.contextAttributes;
    if (only !== undefined) {
      for (let i = 0; i < only.length; i++) {
        const v = context[only[i]];
        if (isScalar(v)) key += "," + JSON.stringify(only[i]) + ":" + JSON.stringify(v);
      }
      return key;
    }
    for (const name in context) {
      if (name === "targetingKey") continue;
      const v = context[name];
      if (isScalar(v)) key += "," + JSON.stringify(name) + ":" + JSON.stringify(v);
    }
    return key;
  }

  /** The Context headers for a context: one per attribute that can be sent; the rest logged (names, never values). */
  private contextPairs(context: EvaluationContext, logger: Logger | undefined): ContextPair[] {
    const pairs: ContextPair[] = [];
    const keyName = this.options.targetingKeyAttribute;
    const add = (name: string, raw: unknown) => {
      if (!isScalar(raw)) return;
      const value = String(raw);
      const why = !CONTEXT_NAME.test(name) ? "its name is not one a rule can read ($ then a letter or _, then letters, digits, _ . -)" : unsendable(value);
      if (why !== undefined) {
        const what = name === keyName && raw === context.targetingKey ? `the targeting key (sent as ${keyName})` : `context attribute ${JSON.stringify(name)}`;
        this.warnOnce(logger, `${this.where}: ${what} is not sent: ${why}; rules that read it see no value`);
        return;
      }
      pairs.push({ name, value });
    };
    if (typeof context.targetingKey === "string" && context.targetingKey !== "") add(keyName, context.targetingKey);
    const names = this.options.contextAttributes ?? Object.keys(context).filter((n) => n !== "targetingKey");
    for (const name of names) {
      if (name === keyName && typeof context.targetingKey === "string" && context.targetingKey !== "") {
        this.warnOnce(logger, `${this.where}: context attribute ${JSON.stringify(name)} is not sent: the targeting key is sent under that name`);
        continue;
      }
      add(name, context[name]);
    }
    return pairs;
  }

  /** Fetches (once per key at a time) and caches the agent's answer for one context. */
  private load(key: string, context: EvaluationContext, logger: Logger | undefined, initializing = false): Promise<CacheEntry> {
    const running = this.inflight.get(key);
    if (running) return running;
    const promise = this.fetchFlags(this.contextPairs(context, logger))
      .then(({ flags, version }) => {
        const previous = this.cache.get(key);
        const entry: CacheEntry = { fetchedAt: Date.now(), refreshedAt: Date.now(), flags, version, resolved: memos() };
        this.cache.delete(key);
        this.cache.set(key, entry);
        if (this.cache.size > this.options.maxCacheEntries) this.cache.delete(this.cache.keys().next().value as string);
        this.closeCircuit(logger);
        this.noticeChange(previous, entry);
        return entry;
      })
      .catch((error: unknown) => {
        const agentError = asAgentError(error);
        this.openCircuit(agentError, logger, initializing);
        throw agentError;
      })
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, promise);
    return promise;
  }

  /** One failure: stop asking, end the other requests under way (their callers get defaults now), probe. */
  private openCircuit(error: AgentError, logger: Logger | undefined, initializing: boolean): void {
    if (this.circuit.open) return;
    const usable = this.hasUsableCache();
    const event = usable ? ProviderEvents.Stale : ProviderEvents.Error;
    const message = `${error.message}; until it answers again, ${usable ? `cached answers are served for up to ${this.options.maxStaleMs} ms and ` : ""}other evaluations return the caller's default (probing every ${this.options.probeIntervalMs} ms)`;
    this.circuit = { open: true, since: Date.now(), error: new AgentError(error.code, `${error.message} (answering defaults until the agent answers a probe)`), event };
    // During initialize the SDK logs the rejection itself.
    if (!initializing) this.warnOnce(logger, message);
    for (const req of this.pending) req.destroy(this.circuit.error);
    // During initialize the SDK reports the failure itself (status ERROR, an ERROR event).
    if (!initializing) this.events.emit(event, { message });
    this.scheduleProbe(logger);
  }

  private closeCircuit(logger: Logger | undefined): void {
    if (!this.circuit.open) return;
    const down = Date.now() - this.circuit.since;
    this.circuit = { open: false };
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    this.loggerFor(logger)?.info(`${this.where} answers again after ${down} ms`);
    this.events.emit(ProviderEvents.Ready, { message: `${this.where} answers again` });
  }

  private hasUsableCache(): boolean {
    const now = Date.now();
    for (const entry of this.cache.values()) if (now - entry.fetchedAt < this.options.maxStaleMs) return true;
    return false;
  }

  /** While the circuit is open: one probe (the empty context) every probeIntervalMs; STALE turns ERROR once no cached answer is usable. */
  private scheduleProbe(logger: Logger | undefined): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      if (!this.circuit.open) return;
      if (this.circuit.event === ProviderEvents.Stale && !this.hasUsableCache()) {
        this.circuit.event = ProviderEvents.Error;
        this.events.emit(ProviderEvents.Error, { message: `${this.circuit.error.message}; no cached answer is younger than ${this.options.maxStaleMs} ms any more` });
      }
      this.fetchFlags([])
        .then(({ flags, version }) => {
          const key = this.contextKey({});
          this.cache.set(key, { fetchedAt: Date.now(), refreshedAt: Date.now(), flags, version, resolved: memos() });
          this.closeCircuit(logger);
        })
        .catch(() => this.circuit.open && this.scheduleProbe(logger));
    }, this.options.probeIntervalMs);
    this.probeTimer.unref();
  }

  /** CONFIGURATION_CHANGED when the agent reports a new version, or a refreshed answer differs; once per change. */
  private noticeChange(previous: CacheEntry | undefined, entry: CacheEntry): void {
    const versionChanged = entry.version !== undefined && this.lastVersion !== undefined && entry.version !== this.lastVersion;
    if (entry.version !== undefined) this.lastVersion = entry.version;
    const flagsChanged = previous ? changedFlags(previous.flags, entry.flags) : [];
    if (!versionChanged && flagsChanged.length === 0) return;
    if (!versionChanged) {
      // Without a version header every context's refresh would report the same deployment.
      const signature = flagsChanged.join(",");
      if (signature === this.lastChange.signature && entry.fetchedAt - this.lastChange.at < 60_000) return;
      this.lastChange = { signature, at: entry.fetchedAt };
    }
    this.events.emit(ProviderEvents.ConfigurationChanged, {
      message: versionChanged ? `configuration version ${entry.version}` : "a refreshed answer differs",
      ...(flagsChanged.length ? { flagsChanged } : {}),
    });
  }

  /** One GET to the agent, bounded by timeoutMs from this call to the last byte of the answer. */
  private fetchFlags(pairs: readonly ContextPair[]): Promise<{ flags: FlagValues; version?: string }> {
    const { timeoutMs } = this.options;
    const where = this.where;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | string[]> = { accept: "application/json" };
      // One header per attribute (the agent reads several Context headers); never one joined string.
      if (pairs.length > 0) headers["context"] = pairs.map((p) => `${p.name}=${p.value}`);
      if (this.options.accessToken) headers["authorization"] = `Bearer ${this.options.accessToken}`;
      let req: ClientRequest;
      try {
        req = request(this.url, { method: "GET", headers, agent: this.httpAgent }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", (error) => reject(asAgentError(error, where)));
          res.on("end", () => {
            const body = Buffer.concat(chunks).toString("utf8");
            if (res.statusCode !== 200) return reject(new AgentError(ErrorCode.GENERAL, `${where} answered HTTP ${res.statusCode}: ${body.slice(0, 200)}`));
            let parsed: unknown;
            try {
              parsed = JSON.parse(body);
            } catch {
              return reject(new AgentError(ErrorCode.PARSE_ERROR, `${where} answered with invalid JSON: ${body.slice(0, 80)}`));
            }
            if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
              return reject(new AgentError(ErrorCode.PARSE_ERROR, `${where} answered ${Array.isArray(parsed) ? "an array" : typeof parsed}, not feature flags (is the profile of type AWS.AppConfig.FeatureFlags?)`));
            }
            const version = res.headers["configuration-version"];
            resolve({ flags: parsed as FlagValues, ...(typeof version === "string" ? { version } : {}) });
          });
        });
      } catch (error) {
        return reject(asAgentError(error, where));
      }
      // The whole call, not the socket's idle time: waiting for a free socket counts too.
      const timer = setTimeout(() => req.destroy(new AgentError(ErrorCode.GENERAL, `${where} did not answer within ${timeoutMs} ms`)), timeoutMs);
      this.pending.add(req);
      req.on("close", () => {
        clearTimeout(timer);
        this.pending.delete(req);
      });
      req.on("error", (error: NodeJS.ErrnoException) => reject(asAgentError(error, where)));
      req.end();
    });
  }
}

function memos(): CacheEntry["resolved"] {
  return { fresh: new Map(), cached: new Map(), stale: new Map() };
}

function asAgentError(error: unknown, where?: string): AgentError {
  if (error instanceof AgentError) return error;
  const e = error as NodeJS.ErrnoException;
  return new AgentError(ErrorCode.GENERAL, where ? `${where} is unreachable: ${e?.code ?? e?.message ?? String(error)}` : (e?.message ?? String(error)));
}

function changedFlags(before: FlagValues, after: FlagValues): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((n) => JSON.stringify(before[n]) !== JSON.stringify(after[n])).sort();
}

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

function withoutInternals(flag: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flag)) if (!k.startsWith("_")) out[k] = v;
  return out;
}
