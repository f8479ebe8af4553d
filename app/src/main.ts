import type { Server } from "node:http";
import { createDatabase, databaseConfigFromEnv, type Database } from "./database";
import { closeFlags, configureFlags, flagSettingsFromEnv } from "./flags";
import { createServer, listen, stopServer } from "./server";
import { readCommit } from "./version";

/**
 * The app's entry: reads its settings from the environment, listens on PORT (default 8080, the
 * container port friday's parity constants fix), and stops gracefully on SIGTERM (what ECS sends
 * when it stops a task: blue after a deploy, or any task during a scale-in).
 */

export interface RunningApp {
  readonly server: Server;
  readonly port: number;
  readonly commit: string;
  /** Graceful stop (see stopServer), then closes the pool and the flag provider. */
  stop(): Promise<void>;
}

const log = (entry: Record<string, unknown>) => console.log(JSON.stringify({ time: new Date().toISOString(), ...entry }));

/** Reads PORT (default 8080); throws one message naming the bad value. */
export function portFromEnv(env: NodeJS.ProcessEnv): number {
  if (env.PORT === undefined || env.PORT === "") return 8080;
  const port = Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`app: PORT must be a port number (got "${env.PORT}").`);
  return port;
}

export async function startApp(env: NodeJS.ProcessEnv = process.env): Promise<RunningApp> {
  // Validate everything before opening anything.
  const port = portFromEnv(env);
  const dbConfig = databaseConfigFromEnv(env);
  const flagSettings = flagSettingsFromEnv(env);
  const shutdownTimeoutMs = Number(env.SHUTDOWN_TIMEOUT_MS ?? 20_000);
  const commit = readCommit(env);

  const db: Database = createDatabase(dbConfig, log);
  const flags = await configureFlags(flagSettings);
  const server = createServer({ db, flags, commit, log });
  const bound = await listen(server, port);
  log({ event: "started", port: bound, commit, flags: flagSettings.provider, database: `${dbConfig.host}:${dbConfig.port}/${dbConfig.database}` });

  let stopping: Promise<void> | undefined;
  return {
    server,
    port: bound,
    commit,
    stop() {
      stopping ??= (async () => {
        log({ event: "stopping", timeoutMs: shutdownTimeoutMs });
        const { forced } = await stopServer(server, shutdownTimeoutMs);
        await Promise.allSettled([db.close(), closeFlags()]);
        log({ event: "stopped", forced });
      })();
      return stopping;
    },
  };
}

async function main(): Promise<void> {
  let app: RunningApp;
  try {
    app = await startApp();
  } catch (error) {
    log({ level: "error", event: "start-failed", error: (error as Error).message });
    process.exit(1);
  }
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      log({ event: "signal", signal });
      app.stop().then(
        () => process.exit(0),
        (error) => {
          log({ level: "error", event: "stop-failed", error: (error as Error).message });
          process.exit(1);
        },
      );
    });
  }
}

if (require.main === module) void main();
