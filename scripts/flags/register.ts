import { Command, Option } from "commander";
import { FLAGS_FILE, loadFlagsFile } from "../../infra/flags";
import { STACKS } from "../../infra/naming";
import { type Prompt, terminalPrompt } from "../deploy/cli-support";
import { createFlagsClients, FlagsClients, FlagsError, resolveFlagsResources } from "./aws";
import { changeFlag, ChangeOptions, ChangeResult, FlagChange, FlagRow, flagRows, parsePercent, readStackFlags, renderRows, syncFlags, validateChange } from "./flags";

/**
 * `friday flags list|on|off|rollout|team|kill|restore|sync`: the commander layer over scripts/flags/flags.ts.
 */

export interface FlagsCliContext {
  clients(region?: string): FlagsClients;
  prompt: Prompt;
  sleep(ms: number): Promise<void>;
  now(): Date;
  stdout(text: string): void;
  stderr(text: string): void;
}

function defaultContext(): FlagsCliContext {
  return {
    clients: createFlagsClients,
    prompt: terminalPrompt,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => new Date(),
    stdout: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
    stderr: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
  };
}

let overrides: Partial<FlagsCliContext> = {};
/** Tests inject mocked clients, prompt, clock and output here; buildCli() uses the defaults. */
export function setFlagsCliContextForTests(context: Partial<FlagsCliContext>): void {
  overrides = context;
}
function context(): FlagsCliContext {
  return { ...defaultContext(), ...overrides };
}

interface Common {
  stack: string;
  region?: string;
  json?: boolean;
  file: string;
}
interface ChangeFlags extends Common {
  yes?: boolean;
  prune?: boolean;
  pollSeconds: string;
  timeoutMinutes: string;
}

function checkStack(stack: string): void {
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(stack)) throw new FlagsError(`--stack must be a stack name such as ${STACKS.join(" or ")} (got "${stack}").`);
}

function positive(name: string, raw: string, max: number): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > max) throw new FlagsError(`${name} must be a number above 0 and at most ${max} (got "${raw}").`);
  return value;
}

function list(raw: string | undefined): string[] {
  return (raw ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function withCommon(command: Command, stackRequired: boolean): Command {
  const stack = new Option("--stack <stack>", stackRequired ? "stack to change: staging or prod" : "only this stack (default: staging and prod)");
  if (stackRequired) stack.makeOptionMandatory();
  return command
    .addOption(stack)
    .option("--region <region>", "AWS region of the stack (default: AWS_REGION / your AWS profile)")
    .option("--json", "print the result as JSON on stdout (progress goes to stderr)")
    .option("--file <path>", "the flags file", FLAGS_FILE);
}

function withChange(command: Command, prune = true): Command {
  const withYes = withCommon(command, true).option("--yes", "do not ask for confirmation on prod");
  if (prune) withYes.option("--prune", "also remove deployed flags that flags.yaml no longer declares (default: keep them as deployed)");
  return withYes
    .option("--poll-seconds <seconds>", "seconds between deployment status polls", "5")
    .option("--timeout-minutes <minutes>", "stop following the deployment after this long", "60");
}

/** Runs a change (a flag's, or a sync of the whole file) with the common checks, output and exit code. */
async function runChange(changeOf: FlagChange | "sync" | (() => FlagChange), flags: ChangeFlags): Promise<void> {
  const ctx = context();
  const change = typeof changeOf === "function" ? changeOf() : changeOf;
  checkStack(flags.stack);
  const pollMs = positive("--poll-seconds", flags.pollSeconds, 3600) * 1000;
  const timeoutMs = positive("--timeout-minutes", flags.timeoutMinutes, 24 * 60) * 60_000;
  const file = loadFlagsFile(flags.file);
  if (change !== "sync") validateChange(file, change);
  const clients = ctx.clients(flags.region);
  const resources = await resolveFlagsResources(clients.ssm, flags.stack);
  const log = flags.json ? ctx.stderr : ctx.stdout;
  const options: ChangeOptions = {
    log,
    sleep: ctx.sleep,
    now: ctx.now,
    pollMs,
    timeoutMs,
    prune: Boolean(flags.prune),
    confirm: async (plan) => {
      if (flags.stack !== "prod" || flags.yes) return;
      const answer = await ctx.prompt(`${plan}\nDeploy this to prod?`);
      if (answer === undefined) throw new FlagsError("This changes prod and needs confirmation: run it in a terminal, or pass --yes. Nothing was changed.");
      if (!answer) throw new FlagsError("Not confirmed: nothing was changed.");
    },
  };
  const result: ChangeResult = change === "sync" ? await syncFlags(clients, resources, file, options) : await changeFlag(clients, resources, file, change, options);
  ctx.stdout(flags.json ? JSON.stringify(result, null, 2) : result.message);
  if (!result.ok) throw new FlagsError(result.message);
}

async function runList(flags: Omit<Common, "stack"> & { stack?: string; staleAfterDays?: string }): Promise<void> {
  const ctx = context();
  const stacks: readonly string[] = flags.stack ? [flags.stack] : STACKS;
  stacks.forEach(checkStack);
  const file = loadFlagsFile(flags.file);
  const staleAfterDays = flags.staleAfterDays !== undefined ? positive("--stale-after-days", flags.staleAfterDays, 3650) : file.settings.staleAfterDays;
  const clients = ctx.clients(flags.region);
  const now = ctx.now();
  const rows: FlagRow[] = [];
  const running: Array<{ stack: string; deployment: number; state: string; percent: number }> = [];
  const problems: string[] = [];
  for (const stack of stacks) {
    try {
      const stackFlags = await readStackFlags(clients, await resolveFlagsResources(clients.ssm, stack));
      rows.push(...flagRows(file, stackFlags, now, staleAfterDays));
      const d = stackFlags.running;
      if (d) running.push({ stack, deployment: d.DeploymentNumber ?? 0, state: d.State ?? "?", percent: d.PercentageComplete ?? 0 });
    } catch (error) {
      if (stacks.length === 1) throw error;
      problems.push(`${stack}: ${(error as Error).message}`);
    }
  }
  if (rows.length === 0 && problems.length > 0) throw new FlagsError(problems.join("\n"));
  rows.sort((a, b) => a.flag.localeCompare(b.flag) || stacks.indexOf(a.stack) - stacks.indexOf(b.stack));
  const stale = rows.filter((r) => r.stale);
  if (flags.json) {
    ctx.stdout(JSON.stringify({ flags: rows, running, problems, staleAfterDays }, null, 2));
    return;
  }
  const lines = [renderRows(rows)];
  for (const r of running) lines.push(`${r.stack}: deployment #${r.deployment} is ${r.state} (${r.percent}%)`);
  for (const p of problems) lines.push(`could not read ${p}`);
  lines.push(
    stale.length
      ? `${stale.length} stale: remove the flag from the code and flags.yaml (see docs/runbooks/flags.md). Stale = past expiry, or at 100%/0% for more than ${staleAfterDays} days.`
      : `No stale flags (stale = past expiry, or at 100%/0% for more than ${staleAfterDays} days).`,
  );
  ctx.stdout(lines.join("\n"));
}

/** Adds `friday flags …` to the CLI. */
export function registerFlags(program: Command): void {
  const flags = program.command("flags").description("Release features with AppConfig feature flags: team, then a percentage, then everyone; kill switch.");

  withCommon(flags.command("list"), false)
    .description("each flag's state per stack, rollout %, owner, expiry, and stale flags")
    .option("--stale-after-days <days>", "report flags at 100%/0% for longer than this (default: flags.yaml settings.staleAfterDays)")
    .action((opts) => runList(opts));

  withChange(flags.command("on").argument("<flag>").description("turn a flag on for everyone (gradual deployment)")).action((flag: string, opts: ChangeFlags) =>
    runChange({ kind: "on", flag }, opts),
  );
  withChange(flags.command("off").argument("<flag>").description("turn a flag off for everyone (gradual deployment)")).action((flag: string, opts: ChangeFlags) =>
    runChange({ kind: "off", flag }, opts),
  );
  withChange(flags.command("rollout").argument("<flag>").description("turn a flag on for a stable percentage of users (plus its team)"))
    .requiredOption("--percent <n>", "percentage of users, 0 to 100")
    .action((flag: string, opts: ChangeFlags & { percent: string }) => runChange(() => ({ kind: "rollout", flag, percent: parsePercent(opts.percent) }), opts));
  withChange(flags.command("team").argument("<flag>").description("turn a flag on for listed user ids and/or groups (replaces the flag's team; keeps its percentage)"))
    .option("--users <ids>", "comma-separated user ids (the OpenFeature targeting key)")
    .option("--groups <groups>", "comma-separated groups (the `group` context attribute)")
    .action((flag: string, opts: ChangeFlags & { users?: string; groups?: string }) => runChange({ kind: "team", flag, users: list(opts.users), groups: list(opts.groups) }, opts));
  withChange(flags.command("sync").description("deploy flags.yaml as it is (new flags at their default, states kept)")).action((opts: ChangeFlags) => runChange("sync", opts));
  withChange(flags.command("kill").argument("<flag>").description("switch a flag off now: stops a running flag deployment, deploys immediately, no bake; keeps its team/percentage for `restore`"), false).action(
    (flag: string, opts: ChangeFlags) => runChange({ kind: "kill", flag }, opts),
  );
  withChange(flags.command("restore").argument("<flag>").description("undo a kill: bring back the team/percentage (or on) the flag had before it (gradual deployment)")).action(
    (flag: string, opts: ChangeFlags) => runChange({ kind: "restore", flag }, opts),
  );
}
