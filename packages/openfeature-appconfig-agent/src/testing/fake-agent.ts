import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import { AddressInfo } from "node:net";
import { evaluateRule, parseRule, RuleNode } from "../rules";

/**
 * A local HTTP server that behaves like the AWS AppConfig Agent for `AWS.AppConfig.FeatureFlags`
 * profiles: GET /applications/<app>/environments/<env>/configurations/<profile>[?flag=k…], evaluation
 * context in `Context: key=value` headers (several headers, or comma-separated), multi-variant flags
 * evaluated in order (first enabled-or-not variant whose rule matches, else the rule-less default),
 * answered in retrieval-time format: `{ "<flag>": { "enabled": …, "_variant"?: …, …attributes } }`.
 *
 * It can also misbehave on purpose (slow, 5xx, malformed JSON) for tests and benchmarks.
 */

/** The hosted (definition) format: what CreateHostedConfigurationVersion stores. */
export interface FeatureFlagsDocument {
  version: "1";
  flags: Record<string, { name: string; description?: string; attributes?: Record<string, unknown>; [k: string]: unknown }>;
  values: Record<string, FlagValueDefinition>;
}

export type FlagValueDefinition =
  | ({ enabled: boolean } & Record<string, unknown>)
  | { _variants: Array<{ name: string; enabled: boolean; rule?: string } & Record<string, unknown>> };

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
  /** Every request's path and Context header values, in order. */
  readonly requests: Array<{ path: string; context: Record<string, string>; headers: IncomingMessage["headers"] }>;
  /** Deploys a new document to app/env/profile (what an AppConfig deployment does). */
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
      const variants = definition._variants as Array<{ name: string; enabled: boolean; rule?: string } & Record<string, unknown>>;
      const chosen =
        variants.find((v) => {
          if (v.rule === undefined) return false;
          let node = ruleCache.get(v.rule);
          if (!node) ruleCache.set(v.rule, (node = parseRule(v.rule)));
          return evaluateRule(node, context);
        }) ?? variants.find((v) => v.rule === undefined);
      if (!chosen) continue;
      const { name, rule: _rule, ...rest } = chosen;
      out[key] = { _variant: name, ...rest };
    } else {
      out[key] = { ...definition };
    }
  }
  return out;
}

export async function startFakeAgent(options: { port?: number } = {}): Promise<FakeAgent> {
  const documents = new Map<string, FeatureFlagsDocument>();
  const requests: FakeAgent["requests"] = [];
  const ruleCache = new Map<string, RuleNode>();
  let behavior: FakeAgentBehavior = { mode: "ok" };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const context = parseContextHeader(req.headers["context"]);
    requests.push({ path: url.pathname + url.search, context, headers: req.headers });
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
      const document = match && documents.get(match.slice(1, 4).map(decodeURIComponent).join("/"));
      if (!document) {
        res.writeHead(404, { "content-type": "text/plain" }).end("ResourceNotFoundException: configuration not found");
        return;
      }
      const body = JSON.stringify(evaluateDocument(document, context, url.searchParams.getAll("flag"), ruleCache));
      res.writeHead(200, { "content-type": "application/json", "configuration-version": "1" }).end(body);
    };
    if (behavior.mode === "slow") setTimeout(answer, behavior.delayMs);
    else answer();
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    deploy(application, environment, profile, document) {
      documents.set(`${application}/${environment}/${profile}`, document);
    },
    setBehavior(next) {
      behavior = next;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
