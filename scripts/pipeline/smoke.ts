import { awsClientConfig } from "../deploy/aws";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { Command } from "commander";
import { PARITY } from "../../infra/parity";
import { parameterName } from "../../infra/stack-parameters";
import { APPLY_STACK_HINT } from "../lib/apply-stack";

/**
 * `friday smoke --stack <s>`: the pipeline's smoke test after a staging deploy. Finds the stack's
 * service URL in its SSM parameters and asks the health endpoint (and any extra paths) until each
 * answers 2xx, a bounded number of times. Fails the step otherwise.
 */

export class SmokeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SmokeError";
  }
}

export interface SmokeOptions {
  readonly stack: string;
  /** Paths to check, each must answer 2xx. @default [PARITY.service.healthCheckPath] */
  readonly paths?: string[];
  /** Tries per path. @default 5 */
  readonly attempts?: number;
  /** Wait between tries. @default 3000 */
  readonly intervalMs?: number;
  /** Per-request timeout. @default 10000 */
  readonly timeoutMs?: number;
  /** Progress lines (a no-op with --json). */
  readonly log?: (line: string) => void;
  /** Injected for tests. @default global fetch */
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface SmokeCheck {
  readonly url: string;
  readonly status: number;
  readonly attempts: number;
  readonly ms: number;
}

export interface SmokeResult {
  readonly stack: string;
  readonly serviceUrl: string;
  readonly checks: SmokeCheck[];
}

export function validateSmokeOptions(options: SmokeOptions): void {
  if (options.stack !== "staging" && options.stack !== "prod") {
    throw new SmokeError(`--stack must be staging or prod (got "${options.stack}").`);
  }
  const attempts = options.attempts ?? 5;
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 60) {
    throw new SmokeError(`--attempts must be a whole number from 1 to 60 (got ${options.attempts}).`);
  }
  for (const path of options.paths ?? []) {
    if (!path.startsWith("/")) throw new SmokeError(`--path must start with "/" (got "${path}").`);
  }
}

/** Reads the stack's service URL from /friday/<stack>/service-url. */
export async function findServiceUrl(ssm: SSMClient, stack: string): Promise<string> {
  const name = parameterName(stack, "serviceUrl");
  let value: string | undefined;
  try {
    value = (await ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
  } catch (error) {
    const code = (error as { name?: string }).name;
    if (code === "ParameterNotFound") {
      throw new SmokeError(`${name} does not exist: the stack publishes its service URL there; ${APPLY_STACK_HINT}.`);
    }
    throw new SmokeError(`Could not read ${name}: ${(error as Error).message}`);
  }
  if (!value || !/^https?:\/\/[^\s/]+/.test(value)) {
    throw new SmokeError(`${name} holds "${value ?? ""}", not a URL like https://api.example.com: ${APPLY_STACK_HINT}.`);
  }
  return value.replace(/\/+$/, "");
}

/** Runs the smoke tests; resolves with what passed, rejects with a SmokeError naming what failed. */
export async function runSmokeTests(ssm: SSMClient, options: SmokeOptions): Promise<SmokeResult> {
  validateSmokeOptions(options);
  const log = options.log ?? (() => undefined);
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const attempts = options.attempts ?? 5;
  const paths = options.paths?.length ? options.paths : [PARITY.service.healthCheckPath];
  const serviceUrl = await findServiceUrl(ssm, options.stack);
  log(`Smoke testing ${options.stack} at ${serviceUrl} (${paths.length} path(s), up to ${attempts} tries each)`);

  const checks: SmokeCheck[] = [];
  for (const path of paths) {
    const url = `${serviceUrl}${path}`;
    const started = Date.now();
    let last = "";
    let passed: SmokeCheck | undefined;
    for (let attempt = 1; attempt <= attempts && !passed; attempt++) {
      try {
        const response = await doFetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 10_000), redirect: "manual" });
        await response.arrayBuffer().catch(() => undefined);
        if (response.status >= 200 && response.status < 300) {
          passed = { url, status: response.status, attempts: attempt, ms: Date.now() - started };
        } else {
          last = `HTTP ${response.status}`;
        }
      } catch (error) {
        last = (error as Error).name === "TimeoutError" ? `no answer within ${options.timeoutMs ?? 10_000} ms` : (error as Error).message;
      }
      if (!passed) {
        log(`  ${url}: try ${attempt}/${attempts} failed (${last})`);
        if (attempt < attempts) await sleep(options.intervalMs ?? 3000);
      }
    }
    if (!passed) {
      throw new SmokeError(`Smoke test failed: ${url} did not answer 2xx in ${attempts} tries (last: ${last}). The ${options.stack} deploy is not healthy.`);
    }
    log(`  ${url}: HTTP ${passed.status} after ${passed.attempts} tr${passed.attempts === 1 ? "y" : "ies"} (${passed.ms} ms)`);
    checks.push(passed);
  }
  log(`Smoke tests passed: ${checks.length}/${paths.length}`);
  return { stack: options.stack, serviceUrl, checks };
}

/** Registers `friday smoke`. */
export function registerSmoke(program: Command, makeSsm: (region?: string) => SSMClient = (region) => new SSMClient(awsClientConfig(region))): void {
  program
    .command("smoke")
    .description("Smoke-test a stack's service URL (health endpoint must answer 2xx); the pipeline runs it after the staging deploy.")
    .requiredOption("--stack <stack>", "staging or prod")
    .option("--region <region>", "AWS region (default: from the environment)")
    .option("--path <path...>", `paths to check (default: ${PARITY.service.healthCheckPath})`)
    .option("--attempts <n>", "tries per path", (v) => Number(v), 5)
    .option("--json", "print the result as JSON")
    .action(async (opts: { stack: string; region?: string; path?: string[]; attempts: number; json?: boolean }) => {
      const result = await runSmokeTests(makeSsm(opts.region), {
        stack: opts.stack,
        paths: opts.path,
        attempts: opts.attempts,
        log: opts.json ? undefined : (line) => console.log(line),
      });
      if (opts.json) console.log(JSON.stringify(result, null, 2));
    });
}
