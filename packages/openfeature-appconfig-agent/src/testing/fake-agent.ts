import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import { AddressInfo } from "node:net";
import { evaluateRule, parseRule, RuleNode } from "../rules";

/**
 * A local HTTP server that behaves like the AWS AppConfig Agent for `AWS.AppConfig.FeatureFlags`
 * profiles: GET /applications/<app>/environments/<env>/configurations/<profile>[?flag=k…], evaluation
 * context in `Context: key=value` headers (several headers, or comma-separated), multi-variant flags
 * evaluated in order (first enabled-or-not variant whose rule matches, else the rule-less default),
 * answered in retrieval-time format: `{ "<flag>": { "enabled": …, "_variant"?: …, …attributes } }`
 * (a variant's `attributeValues` become the answer's attributes; a disabled basic flag answers
 * `{ "enabled": false }` alone, as AWS documents the retrieval format).
 *
 * `deploy` refuses a document whose layout AppConfig would refuse (a variant with keys other than
 * name, enabled, rule and attributeValues; a flag value with keys that are neither enabled, _variants
 * nor attribute names): tests that deploy what friday builds fail the way AWS would.
 *
 * It can also misbehave on purpose (slow, 5xx, malformed JSON) for tests and benchmarks.
 */

/** The hosted (definition) format: what CreateHostedConfigurationVersion stores. */
export interface FeatureFlagsDocument {
  version: "1";
  flags: Record<string, { name: string; description?: string; attributes?: Record<string, unknown>; [k: string]: unknown }>;
  values: Record<string, FlagValueDefinition>;
}

/** A variant as the hosted format defines it (AWS.AppConfig.FeatureFlags allows no other keys). */
export interface VariantDefinition {
  name: string;
  enabled: boolean;
  rule?: string;
  attributeValues?: Record<string, unknown>;
}

export type FlagValueDefinition = ({ enabled: boolean } & Record<string, unknown>) | { _variants: VariantDefinition[] };

const VARIANT_KEYS = new Set(["name", "enabled", "rule", "attributeValues"]);
const KEY = /^[a-z][a-zA-Z\d_-]{0,63}$/;

/** Throws, naming the path, where `document` breaks the layout AWS.AppConfig.FeatureFlags allows. */
export function checkDocumentLayout(document: FeatureFlagsDocument): void {
  if (document?.version !== "1") throw new Error(`version must be "1" (got ${JSON.stringify(document?.version)})`);
  for (const [flag, value] of Object.entries(document.values ?? {})) {
    if (!KEY.test(flag)) throw new Error(`values.${flag}: not a valid flag key`);
    for (const key of Object.keys(value)) {
      if (key !== "_variants" && key !== "_createdAt" && key !== "_updatedAt" && !KEY.test(key)) throw new Error(`values.${flag}.${key}: not allowed on a flag value`);
    }
    if (!("_variants" in value)) continue;
    (value._variants as VariantDefinition[]).forEach((variant, i) => {
      for (const key of Object.keys(variant)) {
        if (!VARIANT_KEYS.has(key)) throw new Error(`values.${flag}._variants[${i}].${key}: a variant takes only name, enabled, rule and attributeValues`);
      }
      if (typeof variant.name !== "string" || typeof variant.enabled !== "boolean") throw new Error(`values.${flag}._variants[${i}]: name and enabled are required`);
    });
  }
}

export type FakeAgentBehavior =
  | { mode: "ok" }
  /** Wait before answering (the answer itself is correct). */
  | { mode: "slow"; delayMs: number }
  /** Answer with this HTTP status and body. */
  | { mode: "status"; status: number; body?: string }
  /** Answer 200 with a body that is not JSON. */
  | { mode: "malformed" };

export interface FakeAgent {
  /** Base URL, e.g. http://127.0.0.1:53211. */
  readonly url: string;
  /** Every request's path and Context header values, in order (`rawContext`: each Context header as sent). */
  readonly requests: Array<{ path: string; context: Record<string, string>; rawContext: string[]; headers: IncomingMessage["headers"] }>;
  /** Deploys a new document to app/env/profile (what an AppConfig deployment does); answers then carry Configuration-Version n+1. */
  deploy(application: string, environment: string, profile: string, document: FeatureFlagsDocument): void;
  setBehavior(behavior: FakeAgentBehavior): void;
  close(): Promise<void>;
}

/** Parses `Context` header values ("a=1,b=2", or several headers joined by Node with ", "). */
export function parseContextHeader(raw: string | string[] | undefined): Record<string, string> {
  const context: Record<string, string> = {};
  const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  for (const header of values) {
    for (const part of header.split(",")) {
      const eq = part.indexOf("=");
      if (eq > 0) context[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
    }
  }
  return context;
}

/** Evaluates a hosted document for one context: the agent's retrieval-time answer. */
export function evaluateDocument(
  document: FeatureFlagsDocument,
  context: Record<string, string>,
  only?: string[],
  ruleCache = new Map<string, RuleNode>(),
): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [key, definition] of Object.entries(document.values)) {
    if (only && only.length > 0 && !only.includes(key)) continue;
    if ("_variants" in definition) {
      const variants = definition._variants as VariantDefinition[];
      const chosen =
        variants.find((v) => {
          if (v.rule === undefined) return false;
          let node = ruleCache.get(v.rule);
          if (!node) ruleCache.set(v.rule, (node = parseRule(v.rule)));
          return evaluateRule(node, context);
        }) ?? variants.find((v) => v.rule === undefined);
      if (!chosen) continue;
      out[key] = { enabled: chosen.enabled, _variant: chosen.name, ...(chosen.attributeValues ?? {}) };
    } else {
      out[key] = definition.enabled ? Object.fromEntries(Object.entries(definition).filter(([k]) => !k.startsWith("_"))) : { enabled: false };
    }
  }
  return out;
}

/** The values of every Context header, in the order sent. */
function rawContextOf(rawHeaders: string[]): string[] {
  const values: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i].toLowerCase() === "context") values.push(rawHeaders[i + 1]);
  return values;
}

export async function startFakeAgent(options: { port?: number } = {}): Promise<FakeAgent> {
  const documents = new Map<string, { document: FeatureFlagsDocument; version: number }>();
  const requests: FakeAgent["requests"] = [];
  const ruleCache = new Map<string, RuleNode>();
  let behavior: FakeAgentBehavior = { mode: "ok" };
  /** Answers a slow agent still owes: cleared on close. */
  const timers = new Set<NodeJS.Timeout>();

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const context = parseContextHeader(req.headers["context"]);
    requests.push({ path: url.pathname + url.search, context, rawContext: rawContextOf(req.rawHeaders), headers: req.headers });
    const answer = () => {
      if (behavior.mode === "status") {
        res.writeHead(behavior.status, { "content-type": "text/plain" }).end(behavior.body ?? "error");
        return;
      }
      if (behavior.mode === "malformed") {
        res.writeHead(200, { "content-type": "application/json" }).end('{"checkout": {"enabled": tr');
        return;
      }
      const match = /^\/applications\/([^/]+)\/environments\/([^/]+)\/configurations\/([^/]+)$/.exec(url.pathname);
      const deployed = match && documents.get(match.slice(1, 4).map(decodeURIComponent).join("/"));
      if (!deployed) {
        res.writeHead(404, { "content-type": "text/plain" }).end("ResourceNotFoundException: configuration not found");
        return;
      }
      const body = JSON.stringify(evaluateDocument(deployed.document, context, url.searchParams.getAll("flag"), ruleCache));
      res.writeHead(200, { "content-type": "application/json", "configuration-version": String(deployed.version) }).end(body);
    };
    if (behavior.mode === "slow") {
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, behavior.delayMs);
      timers.add(timer);
    } else answer();
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    deploy(application, environment, profile, document) {
      checkDocumentLayout(document);
      const key = `${application}/${environment}/${profile}`;
      documents.set(key, { document, version: (documents.get(key)?.version ?? 0) + 1 });
    },
    setBehavior(next) {
      behavior = next;
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
