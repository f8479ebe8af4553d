import { readScrubKey } from "./scrub-key";
import { writeFileSync } from "node:fs";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { Command, InvalidArgumentError } from "commander";
import { terminalPrompt } from "../deploy/cli-support";
import { stagingCommand } from "./refresh-command";
import { formatScrubSummary, scrubDatabase } from "./scrub";
import { loadScrubRules } from "./scrub-rules";
import { suggestRules } from "./suggest";
import { formatVerifyReport, takeVerifySample, verifyScrub } from "./verify";

/**
 * `friday staging scrub | verify | rules --suggest`: the PostgreSQL side of the staging refresh, by
 * hand (the refresh orchestrator calls the same functions). Thin: parse flags, read the key, call
 * scrubDatabase / verifyScrub / suggestRules, print.
 */

/** What tests replace: the Secrets Manager client, the prompt, the output. */
export interface StagingDataDependencies {
  readonly secretsManager?: (region: string | undefined) => SecretsManagerClient;
  /** Asks yes/no; undefined when nobody can answer (no terminal). */
  readonly prompt?: (question: string) => Promise<boolean | undefined>;
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
  readonly env?: NodeJS.ProcessEnv;
}

/** The database a URL points at, without its password, for messages. */
export function describeDatabase(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ""}${u.pathname}`;
  } catch {
    throw new Error(`--database-url is not a URL: use postgres://user:password@host:5432/database`);
  }
}

function integer(flag: string, min: number, max: number) {
  return (raw: string) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${flag} must be an integer from ${min} to ${max} (got "${raw}")`);
    return n;
  };
}

interface DatabaseFlags {
  databaseUrl?: string;
  databaseUrlEnv?: string;
}

function databaseUrlOf(opts: DatabaseFlags, env: NodeJS.ProcessEnv): string {
  if (opts.databaseUrl) {
    describeDatabase(opts.databaseUrl);
    return opts.databaseUrl;
  }
  const name = opts.databaseUrlEnv ?? "DATABASE_URL";
  const url = env[name];
  if (!url) throw new Error(`no database given: pass --database-url <url>, or --database-url-env <VAR> naming a variable that holds it (${name} is not set)`);
  describeDatabase(url);
  return url;
}

function withDatabaseFlags(command: Command): Command {
  return command
    .option("--database-url <url>", "the database (postgres://user:password@host:5432/db)")
    .option("--database-url-env <VAR>", "read the database URL from this environment variable instead (default: DATABASE_URL)");
}

/** Registers `friday staging scrub`, `friday staging verify` and `friday staging rules`. */
export function registerStagingData(program: Command, deps: StagingDataDependencies = {}): void {
  const out = deps.stdout ?? ((text: string) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`));
  const err = deps.stderr ?? ((text: string) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`));
  const env = deps.env ?? process.env;
  const staging = stagingCommand(program);

  withDatabaseFlags(
    staging
      .command("scrub")
      .description(
        "Mask personal data in a database IN PLACE by the rules: one set-based rewrite per table, tables in parallel, keyed (HMAC) pseudonyms. Fails closed, changing nothing, if a table or column is not classified. Verifies afterwards.",
      ),
  )
    .requiredOption("--rules <path>", "scrub rules file (YAML)")
    .option("--key-secret-arn <arn>", "Secrets Manager secret holding the HMAC key")
    .option("--key-env <VAR>", "read the HMAC key from this environment variable (local use)")
    .option("--region <region>", "AWS region of the secret (default: the SDK's)")
    .option("--concurrency <n>", "tables rewritten in parallel", integer("--concurrency", 1, 32), 2)
    .option("--no-verify", "skip the verify step after the scrub")
    .option("--json", "print the summary (and verify report) as JSON on stdout; progress goes to stderr")
    .option("--yes", "do not ask for confirmation")
    .action(async (opts: DatabaseFlags & { rules: string; keySecretArn?: string; keyEnv?: string; region?: string; concurrency: number; verify: boolean; json?: boolean; yes?: boolean }) => {
      const databaseUrl = databaseUrlOf(opts, env);
      const rules = loadScrubRules(opts.rules);
      if (Boolean(opts.keySecretArn) === Boolean(opts.keyEnv)) {
        throw new Error("give the HMAC key with exactly one of --key-secret-arn <arn> (Secrets Manager) or --key-env <VAR> (local); never on the command line");
      }
      let key: Buffer;
      if (opts.keySecretArn) {
        const client = (deps.secretsManager ?? ((region) => new SecretsManagerClient({ region })))(opts.region);
        key = await readScrubKey(client, opts.keySecretArn);
      } else {
        const value = env[opts.keyEnv as string];
        if (!value) throw new Error(`--key-env ${opts.keyEnv}: the variable is not set or empty; export it first (e.g. from \`openssl rand -base64 48\`)`);
        key = Buffer.from(value, "utf8");
      }
      const where = describeDatabase(databaseUrl);
      if (!opts.yes) {
        const answer = await (deps.prompt ?? terminalPrompt)(`Scrub ${where} in place? Personal data in it is replaced for good.`);
        if (answer === undefined) throw new Error(`scrubbing ${where} rewrites it in place: pass --yes to confirm (nobody to ask without a terminal)`);
        if (!answer) {
          err("not scrubbed");
          return;
        }
      }
      const progress = opts.json ? err : out;
      const before = opts.verify ? await takeVerifySample({ databaseUrl, rules }) : undefined;
      progress(`scrubbing ${where} with ${rules.source} (${opts.concurrency} tables at a time)`);
      const summary = await scrubDatabase({ databaseUrl, rules, key, concurrency: opts.concurrency, onProgress: (p) => progress(p.message) });
      progress(formatScrubSummary(summary));
      const report = before ? await verifyScrub({ databaseUrl, rules, before }) : undefined;
      if (report) progress(formatVerifyReport(report));
      if (opts.json) out(JSON.stringify({ scrub: summary, verify: report ?? null }, null, 2));
      if (report && !report.ok) throw new Error(`verify failed after the scrub: ${report.problems.length} problem${report.problems.length === 1 ? "" : "s"} (listed above)`);
    });

  withDatabaseFlags(
    staging
      .command("verify")
      .description(
        "Check a scrubbed database: every column classified, every table scrubbed with these rules, truncated tables empty, foreign keys and unique indexes valid, masked columns holding only masked values.",
      ),
  )
    .requiredOption("--rules <path>", "scrub rules file (YAML)")
    .option("--json", "print the report as JSON")
    .action(async (opts: DatabaseFlags & { rules: string; json?: boolean }) => {
      const databaseUrl = databaseUrlOf(opts, env);
      const rules = loadScrubRules(opts.rules);
      const report = await verifyScrub({ databaseUrl, rules });
      out(opts.json ? JSON.stringify(report, null, 2) : formatVerifyReport(report));
      if (!report.ok) throw new Error(`verify failed: ${report.problems.length} problem${report.problems.length === 1 ? "" : "s"}`);
    });

  withDatabaseFlags(staging.command("rules").description("Scrub rules helpers."))
    .option("--suggest", "print a starting rules file for the database, each column's likely class with the reason, for a human to review")
    .option("--out <path>", "write the suggestion to this file instead of stdout")
    .action(async (opts: DatabaseFlags & { suggest?: boolean; out?: string }) => {
      if (!opts.suggest) throw new Error("say what to do: friday staging rules --suggest --database-url <url>");
      const yaml = await suggestRules({ databaseUrl: databaseUrlOf(opts, env) });
      if (opts.out) {
        writeFileSync(opts.out, yaml, { flag: "wx" });
        err(`wrote ${opts.out}: review every line before using it`);
      } else out(yaml);
    });
}
