import { existsSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Command } from "commander";
import { DeployError } from "../deploy/aws";
import { Clock, realClock } from "../deploy/follow";
import { renderHtml } from "./html";
import { formatReport } from "./format";
import { collectMetrics, createMetricsClients, MetricsClients, validateMetricsOptions } from "./metrics";

/**
 * `friday metrics --stack <staging|prod> [--days N] [--json] [--html FILE]`: the commander layer
 * over collectMetrics(). Figures on stdout (text, or JSON with --json), progress on stderr.
 */

export interface MetricsCliContext {
  clients(region?: string): MetricsClients;
  clock: Pick<Clock, "now">;
  stdout(text: string): void;
  stderr(text: string): void;
  writeFile(path: string, content: string): void;
}

function defaultContext(): MetricsCliContext {
  return {
    clients: createMetricsClients,
    clock: realClock,
    stdout: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
    stderr: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
    writeFile: (path, content) => writeFileSync(path, content, "utf8"),
  };
}

let overrides: Partial<MetricsCliContext> = {};
/** Tests inject clients, clock and output here; buildCli() uses the defaults. */
export function setMetricsCliContextForTests(context: Partial<MetricsCliContext>): void {
  overrides = context;
}

/** Checks --html before anything is read: its directory must exist and the path must not be a directory. */
export function validateHtmlPath(file: string): string {
  const path = resolve(file);
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new DeployError(`--html ${file}: the directory ${dir} does not exist. Create it, or write the page elsewhere (e.g. --html metrics.html).`);
  }
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new DeployError(`--html ${file} is a directory: name the page's file, e.g. --html ${file.replace(/\/$/, "")}/metrics.html.`);
  }
  return path;
}

interface MetricsFlags {
  stack: string;
  region?: string;
  json?: boolean;
  days: string;
  html?: string;
  pipeline?: string;
}

/** `friday metrics …` */
export function registerMetrics(program: Command): void {
  program
    .command("metrics")
    .description("the four DORA figures (deploy frequency, lead time, change failure rate, time to restore) and the deploy/flag timeline of an environment")
    .requiredOption("--stack <stack>", "environment to measure: staging or prod")
    .option("--days <n>", "window: this many whole days back from now (1 to 90)", "30")
    .option("--region <region>", "AWS region of the stack (default: AWS_REGION / your AWS profile)")
    .option("--json", "print the report as JSON on stdout (progress goes to stderr)")
    .option("--html <file>", "also write a self-contained HTML page with the figures and the timeline")
    .option("--pipeline <name>", "the delivery pipeline's name (default: the one the prod stack creates)")
    .action(async (flags: MetricsFlags) => {
      const ctx = { ...defaultContext(), ...overrides };
      const options = validateMetricsOptions({ stack: flags.stack, days: flags.days as unknown as number, pipelineName: flags.pipeline });
      const htmlPath = flags.html !== undefined ? validateHtmlPath(flags.html) : undefined;
      const clients = ctx.clients(flags.region);
      const report = await collectMetrics({ ...clients, clock: ctx.clock, log: ctx.stderr }, options);
      ctx.stdout(flags.json ? JSON.stringify(report, null, 2) : formatReport(report));
      if (htmlPath) {
        ctx.writeFile(htmlPath, renderHtml(report, new Date(ctx.clock.now())));
        ctx.stderr(`metrics: wrote ${htmlPath}`);
      }
    });
}
