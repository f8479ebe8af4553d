import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Client, EvaluationContext } from "@openfeature/server-sdk";
import type { Database } from "./database";
import { FLAGS } from "./flags";

/**
 * friday's reference service: what the pipeline builds, and what blue/green deploys and the hook's
 * smoke test exercise.
 *
 *   GET /healthz   200 {"status":"ok"} when the database answers SELECT 1, else 503 (the ALB's health check)
 *   GET /version   200 {"commit":"<sha>"} — the image's commit (the hook's smoke test reads it)
 *   GET /greeting  200 {"greeting": …, "flag": {…}} — reads the `new-greeting` flag through OpenFeature
 */

export interface ServerDeps {
  readonly db: Database;
  /** OpenFeature client (see flags.ts for where its provider is chosen). */
  readonly flags: Client;
  /** The commit this build came from. */
  readonly commit: string;
  /** One structured log line. */
  readonly log: (entry: Record<string, unknown>) => void;
}

const draining = new WeakSet<Server>();

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), "cache-control": "no-store", ...headers });
  res.end(text);
}

/** A user-supplied name, kept short and printable. */
function cleanName(raw: string | null): string | undefined {
  if (!raw) return undefined;
  const name = raw.replace(/[^\p{L}\p{N} .'-]/gu, "").trim().slice(0, 40);
  return name || undefined;
}

async function greeting(req: IncomingMessage, url: URL, deps: ServerDeps): Promise<unknown> {
  const userId = (req.headers["x-user-id"] as string | undefined) ?? url.searchParams.get("user") ?? undefined;
  const context: EvaluationContext = userId ? { targetingKey: userId.slice(0, 128) } : {};
  const details = await deps.flags.getBooleanDetails(FLAGS.newGreeting.key, FLAGS.newGreeting.default, context);
  const name = cleanName(url.searchParams.get("name")) ?? "friend";
  return {
    greeting: details.value ? `Hey ${name}, welcome to the new friday!` : `Hello, ${name}.`,
    flag: { key: details.flagKey, value: details.value, reason: details.reason, ...(details.errorCode ? { errorCode: details.errorCode } : {}) },
  };
}

/** Creates the HTTP server (not listening). */
export function createServer(deps: ServerDeps): Server {
  const server = createHttpServer(async (req, res) => {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? "/", "http://app.local");
    let status = 500;
    try {
      if (req.method !== "GET" && req.method !== "HEAD") {
        status = 405;
        return send(res, status, { error: `method ${req.method} not allowed` }, { allow: "GET, HEAD" });
      }
      switch (url.pathname) {
        case "/healthz": {
          if (draining.has(server)) {
            status = 503;
            return send(res, status, { status: "shutting-down" });
          }
          try {
            await deps.db.ping();
            status = 200;
            return send(res, status, { status: "ok" });
          } catch (error) {
            deps.log({ level: "warn", event: "healthz-db-failed", error: (error as Error).message });
            status = 503;
            return send(res, status, { status: "unavailable", reason: "database did not answer" });
          }
        }
        case "/version":
          status = 200;
          return send(res, status, { commit: deps.commit });
        case "/greeting":
          status = 200;
          return send(res, status, await greeting(req, url, deps));
        default:
          status = 404;
          return send(res, status, { error: `no route for ${url.pathname}` });
      }
    } catch (error) {
      deps.log({ level: "error", event: "request-failed", path: url.pathname, error: (error as Error).message });
      status = 500;
      if (!res.headersSent) send(res, status, { error: "internal error" });
      else res.destroy();
    } finally {
      // Health checks are frequent and boring: log them only when they fail.
      if (url.pathname !== "/healthz" || status !== 200) {
        deps.log({ event: "request", method: req.method, path: url.pathname, status, ms: Number(process.hrtime.bigint() - started) / 1e6 });
      }
    }
  });
  // Longer than the ALB's idle timeout (60 s), so the ALB, not the app, closes idle connections
  // (otherwise a request can race the app's close and the client gets a 502).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}

/** Starts listening; resolves with the bound port. */
export function listen(server: Server, port: number, host = "0.0.0.0"): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

/**
 * Graceful stop: /healthz answers 503 from now on, no new connections are accepted, idle keep-alive
 * connections close, requests in flight finish. After `timeoutMs` the remaining connections are cut.
 * Resolves with whether any had to be cut (`forced`).
 */
export async function stopServer(server: Server, timeoutMs: number): Promise<{ forced: boolean }> {
  draining.add(server);
  if (!server.listening) return { forced: false };
  let forced = false;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // Keep-alive connections that become idle after their last response close too.
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  const timer = setTimeout(() => {
    forced = true;
    server.closeAllConnections();
  }, timeoutMs);
  try {
    await closed;
  } finally {
    clearInterval(sweep);
    clearTimeout(timer);
  }
  return { forced };
}
