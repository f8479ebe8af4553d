import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { installMocks, promiseOf, settle, type MockOptions, type RecordedResource } from "./pulumi-mocks";

/**
 * Runs the real Pulumi program in-process under `pulumi.runtime.setMocks`, with a stack's real YAML
 * config, and records every resource it registers. Tests and `friday plan` both use it: no AWS
 * account, no Pulumi CLI, no Docker.
 */

export const REPO_ROOT = join(__dirname, "..", "..");
export { FAKE_ACCOUNT, type RecordedResource } from "./pulumi-mocks";

/** What one offline run of a stack produced. */
export interface OfflineRun {
  readonly stack: string;
  readonly resources: RecordedResource[];
  /** Stack outputs, fully resolved. */
  readonly outputs: Record<string, any>;
  /**
   * What the program said through `pulumi.log.warn` (without Pulumi's `warning: [runtime] ` prefix).
   * `pulumi up` shows these as diagnostics; offline they are returned instead of printed, so `friday
   * plan` can show them with the plan and tests can assert on the ones they expect.
   */
  readonly warnings: string[];
}

export interface OfflineRunOptions {
  /** Raw config (`friday:key` → string, as Pulumi passes it); default: read Pulumi.<stack>.yaml. */
  readonly rawConfig?: Record<string, string>;
  /** What the staging StackReference answers in the prod run; default: outputs of an offline staging run. */
  readonly stagingOutputs?: Record<string, unknown>;
  /** DB instances that already exist in the account (identifier → engine version RDS runs). @default none */
  readonly liveDatabases?: Record<string, string>;
  /** Attributes laid over the mock's fake state (e.g. the ARNs AWS would assign); see MockOptions.state. */
  readonly state?: MockOptions["state"];
}

/** Reads a stack file and flattens its `config:` the way the Pulumi CLI hands it to the program. */
export function readStackConfigFile(stack: string, root = REPO_ROOT): Record<string, string> {
  const path = join(root, `Pulumi.${stack}.yaml`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new Error(`No stack file ${path}: friday's stacks are "staging" and "prod".`);
  }
  const doc = (parseYaml(text) ?? {}) as { config?: Record<string, unknown> };
  const raw: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    const plain = value && typeof value === "object" && "value" in (value as object) ? (value as { value: unknown }).value : value;
    raw[key] = typeof plain === "string" ? plain : JSON.stringify(plain);
  }
  return raw;
}

async function resolveDeep(value: unknown): Promise<any> {
  if (pulumi.Output.isInstance(value)) {
    return resolveDeep(await promiseOf(value as pulumi.Output<unknown>));
  }
  if (value instanceof Promise) return resolveDeep(await value);
  if (Array.isArray(value)) return Promise.all(value.map(resolveDeep));
  if (value && typeof value === "object" && !(value instanceof pulumi.Resource)) {
    const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveDeep(v)] as const));
    return Object.fromEntries(entries);
  }
  return value;
}

/**
 * Runs infra/program.ts for `stack` under mocks. For prod, the staging StackReference answers with
 * `options.stagingOutputs`, or with the outputs of an offline staging run (parity by default).
 */
export async function runOffline(stack: string, options: OfflineRunOptions = {}): Promise<OfflineRun> {
  const rawConfig = options.rawConfig ?? readStackConfigFile(stack);
  const region = rawConfig["aws:region"] ?? "us-east-1";
  let stagingOutputs = options.stagingOutputs;
  if (stack === "prod" && !stagingOutputs) {
    stagingOutputs = (await runOffline("staging", { state: options.state })).outputs;
  }
  const resources = await installMocks({ stack, region, liveDatabases: options.liveDatabases, state: options.state, stackReferenceOutputs: () => stagingOutputs ?? {} });
  pulumi.runtime.setAllConfig(rawConfig, []);
  return captureProgramWarnings(async (warnings) => {
    // Imported after the mocks, as `pulumi up` would load it.
    const { program } = await import("../../infra/program");
    const outputs = await resolveDeep(await program());
    await settle();
    return { stack, resources, outputs, warnings };
  });
}

const RUNTIME_WARNING = "warning: [runtime] ";

/**
 * Without an engine (under mocks) `pulumi.log.warn` falls back to `console.warn("warning: [runtime] …")`.
 * Collects those lines while `work` runs and passes every other console.warn through untouched.
 */
async function captureProgramWarnings<T>(work: (warnings: string[]) => Promise<T>): Promise<T> {
  const warnings: string[] = [];
  const previous = console.warn;
  console.warn = (...args: unknown[]) => {
    if (args.length === 1 && typeof args[0] === "string" && args[0].startsWith(RUNTIME_WARNING)) {
      warnings.push(args[0].slice(RUNTIME_WARNING.length));
    } else {
      previous(...args);
    }
  };
  try {
    return await work(warnings);
  } finally {
    console.warn = previous;
  }
}
