import { createInterface } from "node:readline/promises";
import { Command, Option } from "commander";
import { createDeployClients, DeployClients, DeployError } from "./aws";
import { Clock, realClock } from "./follow";

/**
 * The thin commander layer the deploy commands share: common flags, output (human or --json),
 * confirmation on prod, and the hooks tests use to inject clients, clock and prompt.
 */

/** Asks a yes/no question; undefined when nobody can answer (no terminal). */
export type Prompt = (question: string) => Promise<boolean | undefined>;

export interface CliContext {
  clients(region?: string): DeployClients;
  clock: Clock;
  prompt: Prompt;
  /** Result and human output. */
  stdout(text: string): void;
  /** Progress lines in --json mode, and errors. */
  stderr(text: string): void;
}

/** Asks on the terminal; without one (CI, pipes) there is nobody to ask. */
export const terminalPrompt: Prompt = async (question) => {
  if (!process.stdin.isTTY) return undefined;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
};

export function defaultContext(): CliContext {
  return {
    clients: createDeployClients,
    clock: realClock,
    prompt: terminalPrompt,
    stdout: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
    stderr: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
  };
}

/** Tests swap in mocks here; buildCli() uses the defaults. */
let overrides: Partial<CliContext> = {};
export function setCliContextForTests(context: Partial<CliContext>): void {
  overrides = context;
}
export function cliContext(): CliContext {
  return { ...defaultContext(), ...overrides };
}

export interface CommonFlags {
  stack: string;
  region?: string;
  json?: boolean;
}

export function addCommonFlags(command: Command): Command {
  return command
    .requiredOption("--stack <stack>", "stack to act on: staging or prod")
    .option("--region <region>", "AWS region of the stack (default: AWS_REGION / your AWS profile)")
    .option("--json", "print the result as JSON on stdout (progress goes to stderr)");
}

export function timeoutOption(defaultMinutes: number): Option {
  return new Option("--timeout-minutes <minutes>", "fail if the deployment has not ended after this long").default(String(defaultMinutes));
}

export function pollOption(): Option {
  return new Option("--poll-seconds <seconds>", "seconds between deployment status polls").default("15");
}

/** Parses a positive number flag, failing with the flag's name and the fix. */
export function numberFlag(name: string, raw: string | undefined, min: number, max: number): number {
  const value = Number(raw);
  if (raw === undefined || !Number.isFinite(value) || value < min || value > max) {
    throw new DeployError(`${name} must be a number from ${min} to ${max} (got "${raw}").`);
  }
  return value;
}

/** Progress goes to stdout for people and to stderr when stdout carries JSON. */
export function progressLog(ctx: CliContext, json: boolean | undefined): (line: string) => void {
  return json ? ctx.stderr : ctx.stdout;
}

/**
 * Asks before changing prod. `--yes` skips the question. Without a terminal there is nobody to
 * ask: `whenNoTerminal: "refuse"` fails rather than guess; "proceed" is for `deploy`, whose
 * unattended caller is the pipeline, where the approval gate before prod is the confirmation.
 */
export async function confirmProd(
  ctx: CliContext,
  stack: string,
  yes: boolean | undefined,
  plan: string,
  whenNoTerminal: "refuse" | "proceed" = "refuse",
): Promise<void> {
  if (stack !== "prod" || yes) return;
  const answer = await ctx.prompt(`${plan}\nProceed on prod?`);
  if (answer === undefined) {
    if (whenNoTerminal === "proceed") return;
    throw new DeployError("This changes prod and needs confirmation: run it in a terminal, or pass --yes. Nothing was changed.");
  }
  if (!answer) throw new DeployError("Not confirmed: nothing was changed.");
}

/** Prints a result and fails the command (non-zero exit) when it did not succeed. */
export function finish(ctx: CliContext, json: boolean | undefined, result: { ok: boolean; message: string }, human: string): void {
  ctx.stdout(json ? JSON.stringify(result, null, 2) : human);
  if (!result.ok) throw new DeployError(result.message);
}
