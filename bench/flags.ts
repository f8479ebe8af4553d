/**
 * `npm run bench:flags`: flag evaluation cost on one core.
 *
 * 1. Through the OpenFeature client: AppConfigAgentProvider on a warm cache vs the SDK's own
 *    InMemoryProvider holding the same flags, interleaved in the same run (p50/p99, throughput).
 * 2. The providers' own resolve path (no SDK around it), warm cache.
 * 3. Uncached: every evaluation asks a local fake agent over HTTP (keep-alive); the agent runs as its
 *    own process, on the other core when there is one.
 * 4. A hung agent (accepts connections, never answers) with the default 200 ms timeout, on fresh
 *    providers (nothing cached, circuit closed): 10 users one after another, and 100 users at once —
 *    how long callers wait, and how many requests reach the agent.
 *
 * Pins itself to CPU 0 with taskset when available (set FRIDAY_BENCH_NO_PIN=1 to skip).
 */
import { spawn, spawnSync } from "node:child_process";
import { cpus } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

if (process.platform === "linux" && !process.env.FRIDAY_BENCH_PINNED && !process.env.FRIDAY_BENCH_NO_PIN) {
  const pinned = spawnSync("taskset", ["-c", "0", process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, FRIDAY_BENCH_PINNED: "1" },
  });
  if (!pinned.error) process.exit(pinned.status ?? 1);
}

import { EvaluationContext, InMemoryProvider, OpenFeature, Provider } from "@openfeature/server-sdk";
import { AppConfigAgentProvider } from "../packages/openfeature-appconfig-agent/src";
import { evaluateDocument, FeatureFlagsDocument, startFakeAgent } from "../packages/openfeature-appconfig-agent/src/testing/fake-agent";

const USERS = Array.from({ length: 1000 }, (_, i) => `user-${i}`);
const CONTEXTS: EvaluationContext[] = USERS.map((u) => ({ targetingKey: u }));

const DOCUMENT: FeatureFlagsDocument = {
  version: "1",
  flags: { "dark-mode": { name: "dark-mode" }, "new-checkout": { name: "new-checkout" } },
  values: {
    "dark-mode": { enabled: true },
    "new-checkout": {
      _variants: [
        { name: "team", enabled: true, rule: '(in $userId ["user-1", "user-2"])' },
        { name: "rollout", enabled: true, rule: '(split by::$userId pct::30 seed::"new-checkout")' },
        { name: "default", enabled: false },
      ],
    },
  },
};

/** The same flags for InMemoryProvider: the targeted flag's answer per user precomputed (a map lookup). */
function inMemoryFlags() {
  const variantOf = new Map(USERS.map((u) => [u, evaluateDocument(DOCUMENT, { userId: u })["new-checkout"]._variant as string]));
  return {
    "dark-mode": { disabled: false, variants: { on: true, off: false }, defaultVariant: "on" },
    "new-checkout": {
      disabled: false,
      variants: { team: true, rollout: true, default: false },
      defaultVariant: "default",
      contextEvaluator: (ctx: EvaluationContext) => variantOf.get(ctx.targetingKey ?? "") ?? "default",
    },
  };
}

interface Stats {
  p50: number;
  p99: number;
  perSecond: number;
}

function stats(samplesNs: number[], totalMs: number, count: number): Stats {
  const sorted = Float64Array.from(samplesNs).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p99: at(0.99), perSecond: count / (totalMs / 1000) };
}

const now = () => process.hrtime.bigint();

/** Each evaluation timed on its own, through the client. */
async function throughClient(domain: string, flag: string, iterations: number): Promise<{ samples: number[]; totalMs: number }> {
  const client = OpenFeature.getClient(domain);
  const samples = new Array<number>(iterations);
  const start = performance.now();
  for (let i = 0; i < iterations; i++) {
    const context = CONTEXTS[i % CONTEXTS.length];
    const t0 = now();
    await client.getBooleanValue(flag, false, context);
    samples[i] = Number(now() - t0);
  }
  return { samples, totalMs: performance.now() - start };
}

/** The provider's resolve, timed per batch of 1000 (a single call is near the timer's own cost). */
async function resolvePath(provider: Provider, flag: string, batches: number): Promise<{ samples: number[]; totalMs: number }> {
  const batch = 1000;
  const samples = new Array<number>(batches);
  const start = performance.now();
  for (let b = 0; b < batches; b++) {
    const t0 = now();
    for (let i = 0; i < batch; i++) await provider.resolveBooleanEvaluation(flag, false, CONTEXTS[(b * batch + i) % CONTEXTS.length], undefined as never);
    samples[b] = Number(now() - t0) / batch;
  }
  return { samples, totalMs: performance.now() - start };
}

function merge(runs: Array<{ samples: number[]; totalMs: number }>, perRunCount: number): Stats {
  return stats(
    runs.flatMap((r) => r.samples),
    runs.reduce((s, r) => s + r.totalMs, 0),
    perRunCount * runs.length,
  );
}

const us = (ns: number) => (ns / 1000).toFixed(2).padStart(8);
const row = (name: string, s: Stats) => `${name.padEnd(52)} ${us(s.p50)} µs ${us(s.p99)} µs ${Math.round(s.perSecond).toLocaleString("en-US").padStart(12)} /s`;

async function main(): Promise<void> {
  OpenFeature.setLogger({ error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined });
  const agent = await startFakeAgent();
  agent.deploy("friday-bench", "bench", "flags", DOCUMENT);
  const appconfig = new AppConfigAgentProvider({ application: "friday-bench", environment: "bench", endpoint: agent.url, cacheTtlMs: 3_600_000, maxStaleMs: 3_600_000, maxCacheEntries: 10_000 });
  const inMemory = new InMemoryProvider(inMemoryFlags());
  await OpenFeature.setProviderAndWait("appconfig", appconfig);
  await OpenFeature.setProviderAndWait("in-memory", inMemory);

  // Warm the provider's cache for every user (one agent round trip per user), and the JIT.
  for (const context of CONTEXTS) await OpenFeature.getClient("appconfig").getBooleanValue("new-checkout", false, context);
  const check = await OpenFeature.getClient("appconfig").getBooleanDetails("new-checkout", false, CONTEXTS[1]);
  if (check.errorCode || check.value !== true) throw new Error(`bench setup: expected user-1 in the team, got ${JSON.stringify(check)}`);
  for (const flag of ["dark-mode", "new-checkout"]) {
    await throughClient("appconfig", flag, 20_000);
    await throughClient("in-memory", flag, 20_000);
  }

  const iterations = Number(process.env.FRIDAY_BENCH_ITERATIONS ?? 100_000);
  const rounds = 3;
  const results: Record<string, Stats> = {};
  for (const flag of ["dark-mode", "new-checkout"]) {
    const a: Array<{ samples: number[]; totalMs: number }> = [];
    const m: Array<{ samples: number[]; totalMs: number }> = [];
    for (let r = 0; r < rounds; r++) {
      a.push(await throughClient("appconfig", flag, iterations));
      m.push(await throughClient("in-memory", flag, iterations));
    }
    results[`client/appconfig/${flag}`] = merge(a, iterations);
    results[`client/in-memory/${flag}`] = merge(m, iterations);
  }
  const batches = Math.max(50, Math.round(iterations / 1000));
  for (const flag of ["dark-mode", "new-checkout"]) {
    await resolvePath(appconfig, flag, 20);
    await resolvePath(inMemory, flag, 20);
    results[`resolve/appconfig/${flag}`] = merge([await resolvePath(appconfig, flag, batches), await resolvePath(appconfig, flag, batches)], batches * 1000);
    results[`resolve/in-memory/${flag}`] = merge([await resolvePath(inMemory, flag, batches), await resolvePath(inMemory, flag, batches)], batches * 1000);
  }

  // Uncached: every evaluation is an HTTP request to a fake agent in its own process.
  const remote = await startAgentProcess();
  const uncached = new AppConfigAgentProvider({ application: "friday-bench", environment: "bench", endpoint: remote.url, cacheTtlMs: 0, maxStaleMs: 0, timeoutMs: 1000 });
  await OpenFeature.setProviderAndWait("uncached", uncached);
  await throughClient("uncached", "new-checkout", 500);
  results["client/uncached-agent-process/new-checkout"] = merge([await throughClient("uncached", "new-checkout", 3000)], 3000);
  // The same against the in-process fake agent (same core: no cross-process scheduling).
  await OpenFeature.setProviderAndWait("uncached-local", new AppConfigAgentProvider({ application: "friday-bench", environment: "bench", endpoint: agent.url, cacheTtlMs: 0, maxStaleMs: 0, timeoutMs: 1000 }));
  await throughClient("uncached-local", "new-checkout", 500);
  results["client/uncached-in-process-agent/new-checkout"] = merge([await throughClient("uncached-local", "new-checkout", 3000)], 3000);
  const check2 = await OpenFeature.getClient("uncached").getBooleanDetails("new-checkout", false, CONTEXTS[1]);
  if (check2.errorCode || check2.value !== true) throw new Error(`bench setup: the uncached provider failed: ${JSON.stringify(check2)}`);

  const hung = await hungAgent();

  const ratio = (flag: string) => results[`client/appconfig/${flag}`].p50 / results[`client/in-memory/${flag}`].p50;
  console.log(`flags benchmark — node ${process.version}, ${process.env.FRIDAY_BENCH_PINNED ? "pinned to CPU 0 (uncached: agent process on the other core)" : "not pinned"}, ${iterations.toLocaleString("en-US")} evaluations × ${rounds} rounds per client row`);
  console.log(`${"".padEnd(52)} ${"p50".padStart(11)} ${"p99".padStart(11)} ${"throughput".padStart(15)}`);
  for (const [name, s] of Object.entries(results)) console.log(row(name, s));
  for (const flag of ["dark-mode", "new-checkout"]) {
    console.log(`through the client, AppConfigAgentProvider / InMemoryProvider p50 (${flag}): ${ratio(flag).toFixed(3)}× (target ≤ 1.1×)`);
  }
  const resolveP50 = Math.max(results["resolve/appconfig/dark-mode"].p50, results["resolve/appconfig/new-checkout"].p50);
  console.log(`AppConfigAgentProvider resolve path p50, warm cache: ${(resolveP50 / 1000).toFixed(3)} µs (target < 1 µs)`);
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  console.log(`hung agent, timeout 200 ms, 10 users in a row: ${ms(hung.inRow.totalMs)} in all; first ${ms(hung.inRow.firstMs)}, the other 9 at most ${ms(hung.inRow.restMaxMs)} each; ${hung.inRow.requests} request(s) reached the agent`);
  console.log(`hung agent, timeout 200 ms, 100 users at once: p50 ${ms(hung.atOnce.p50Ms)}, slowest ${ms(hung.atOnce.maxMs)}; ${hung.atOnce.requests} request(s) reached the agent`);
  const json = Object.fromEntries(Object.entries(results).map(([k, s]) => [k, { p50Us: +(s.p50 / 1000).toFixed(3), p99Us: +(s.p99 / 1000).toFixed(3), perSecond: Math.round(s.perSecond) }]));
  console.log(`JSON: ${JSON.stringify({ ...json, hungAgent: hung })}`);

  await OpenFeature.close();
  await agent.close();
  remote.stop();
}

interface HungFigures {
  inRow: { totalMs: number; firstMs: number; restMaxMs: number; requests: number };
  atOnce: { p50Ms: number; maxMs: number; requests: number };
}

/** Section 4: a fake agent that never answers; each figure on a fresh provider with the default timeout (200 ms). */
async function hungAgent(): Promise<HungFigures> {
  const agent = await startFakeAgent();
  agent.deploy("friday-bench", "bench", "flags", DOCUMENT);
  agent.setBehavior({ mode: "slow", delayMs: 600_000 });
  const fresh = () => new AppConfigAgentProvider({ application: "friday-bench", environment: "bench", endpoint: agent.url, timeoutMs: 200 });
  const timed = async (provider: AppConfigAgentProvider, user: string): Promise<number> => {
    const t0 = performance.now();
    const details = await provider.resolveBooleanEvaluation("new-checkout", false, { targetingKey: user }, undefined as never);
    if (!details.errorCode) throw new Error(`bench: the hung agent answered ${JSON.stringify(details)}`);
    return performance.now() - t0;
  };

  const inRowProvider = fresh();
  let before = agent.requests.length;
  const start = performance.now();
  const inRow: number[] = [];
  for (let i = 0; i < 10; i++) inRow.push(await timed(inRowProvider, `hung-row-${i}`));
  const totalMs = performance.now() - start;
  const inRowRequests = agent.requests.length - before;
  await inRowProvider.onClose();

  const atOnceProvider = fresh();
  before = agent.requests.length;
  const atOnce = (await Promise.all(Array.from({ length: 100 }, (_, i) => timed(atOnceProvider, `hung-burst-${i}`)))).sort((a, b) => a - b);
  const atOnceRequests = agent.requests.length - before;
  await atOnceProvider.onClose();
  await agent.close();
  const round = (v: number) => +v.toFixed(1);
  return {
    inRow: { totalMs: round(totalMs), firstMs: round(inRow[0]), restMaxMs: round(Math.max(...inRow.slice(1))), requests: inRowRequests },
    atOnce: { p50Ms: round(atOnce[49]), maxMs: round(atOnce[99]), requests: atOnceRequests },
  };
}

/** Starts bench/flags-agent.ts pinned to the last core (the benchmark itself runs on core 0). */
function startAgentProcess(): Promise<{ url: string; stop(): void }> {
  const last = cpus().length - 1;
  const args = [...process.execArgv, join(__dirname, "flags-agent.ts"), "friday-bench", "bench", "flags", JSON.stringify(DOCUMENT)];
  const pinned = process.platform === "linux" && last > 0 && !process.env.FRIDAY_BENCH_NO_PIN;
  const child = pinned ? spawn("taskset", ["-c", String(last), process.execPath, ...args]) : spawn(process.execPath, args);
  child.stderr.pipe(process.stderr);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`fake agent exited with ${code}`)));
    child.stdout.once("data", (chunk: Buffer) => resolve({ url: chunk.toString().trim(), stop: () => child.stdin.end() }));
  });
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
