import { awsClientConfig } from "../deploy/aws";
import { Command, InvalidArgumentError, Option } from "commander";
import { RDSClient } from "@aws-sdk/client-rds";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SSMClient } from "@aws-sdk/client-ssm";
import { SNSClient } from "@aws-sdk/client-sns";
import { ECSClient } from "@aws-sdk/client-ecs";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { refreshStaging, RefreshClients, RefreshDatabaseSteps, RefreshOptions, RefreshReport, formatDuration } from "./refresh";

/** Where the scrub rules live in the repo (and, relative to the working directory, in the job image); --rules overrides. */
export const DEFAULT_RULES_PATH = "app/scrub-rules.yaml";

/** What tests (and only tests) replace: the AWS clients, the PostgreSQL steps, the clock. */
export interface StagingRefreshDependencies {
  readonly clients?: (region: string | undefined) => RefreshClients;
  readonly databaseSteps?: () => Promise<RefreshDatabaseSteps>;
  readonly sleep?: RefreshOptions["sleep"];
  readonly now?: RefreshOptions["now"];
  /** Where the report and progress go. */
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
}

/** Gets or creates the `staging` command group (the scrub/verify/rules commands live there too). */
export function stagingCommand(program: Command): Command {
  return program.commands.find((c) => c.name() === "staging") ?? program.command("staging").description("Staging's database: refresh it from prod, scrub, verify, suggest rules.");
}

/** Registers `friday staging refresh`. */
export function registerStagingRefresh(program: Command, deps: StagingRefreshDependencies = {}): void {
  stagingCommand(program)
    .command("refresh")
    .description(
      "Replace staging's database with a scrubbed copy of prod's: snapshot prod (read only) → restore in an isolated security group → scrub + verify → snapshot → restore → swap under staging's name → health check → clean up. Resumes an unfinished run.",
    )
    .requiredOption("--stack <stack>", 'the stack whose database is replaced: "staging"')
    .option("--region <region>", "AWS region (default: the SDK's, e.g. AWS_REGION)")
    .option("--rules <path>", "scrub rules file", DEFAULT_RULES_PATH)
    .option("--retention-hours <hours>", "keep the replaced instance as <id>-previous this long (default: the stack's setting, else 72)", number("--retention-hours"))
    .option("--concurrency <n>", "tables scrubbed in parallel (default: the stack's setting, else 2)", number("--concurrency"))
    .option("--ca-bundle <path>", "RDS CA bundle (PEM) to verify the database servers (default: $PGSSLROOTCERT when set)")
    .option("--fresh", "delete an unfinished run's leftovers and start over instead of resuming")
    .option("--prune", "only delete an expired <id>-previous instance")
    .addOption(new Option("--poll-seconds <s>", "seconds between AWS polls").argParser(number("--poll-seconds")).default(30).hideHelp())
    .option("--json", "print the report as JSON on stdout (progress goes to stderr)")
    .action(async (opts: { stack: string; region?: string; rules: string; retentionHours?: number; concurrency?: number; fresh?: boolean; prune?: boolean; pollSeconds: number; json?: boolean; caBundle?: string }) => {
      const out = deps.stdout ?? ((text: string) => process.stdout.write(text));
      const err = deps.stderr ?? ((text: string) => process.stderr.write(text));
      const progress = (line: string) => (opts.json ? err : out)(line + "\n");
      const clients = (deps.clients ?? defaultClients)(opts.region);
      const steps = lazySteps(deps.databaseSteps ?? realDatabaseSteps);
      let report: RefreshReport;
      try {
        report = await refreshStaging(clients, steps, {
          stack: opts.stack,
          rulesPath: opts.rules,
          retentionHours: opts.retentionHours,
          concurrency: opts.concurrency,
          fresh: Boolean(opts.fresh),
          caBundlePath: opts.caBundle ?? (process.env.PGSSLROOTCERT || undefined),
          pruneOnly: Boolean(opts.prune),
          pollSeconds: opts.pollSeconds,
          sleep: deps.sleep,
          now: deps.now,
          log: progress,
          // ECS sets this in every task: a scheduled run counts itself among the job's running tasks.
          insideTask: Boolean(process.env.ECS_CONTAINER_METADATA_URI_V4),
        });
      } catch (error) {
        // Bad input (or AWS refusing the first reads): nothing was changed. The line below is what
        // the job's failure alarm counts.
        progress(`STAGING REFRESH FAILED: ${error instanceof Error ? error.message : String(error)}`);
        throw error;
      }
      if (opts.json) out(JSON.stringify(report, null, 2) + "\n");
      else {
        out("\nstep                                          status    duration\n");
        for (const s of report.steps) out(`${String(s.step).padEnd(2)}${s.name.padEnd(44)}${s.status.padEnd(10)}${formatDuration(s.durationMs)}\n`);
        out(`${report.ok ? "refreshed" : "FAILED"} in ${formatDuration(report.totalMs)} (run ${report.runId}${report.resumed ? ", resumed" : ""})\n`);
        // Pulumi tracks the database by its DBI resource id: the swapped-in instance is a new one.
        if (report.ok && !opts.prune) out(`next: staging's next infrastructure update (the pipeline's StagingInfra step) adopts the new database into Pulumi's state; without the pipeline: friday staging adopt-database --stack ${opts.stack}\n`);
      }
      if (!report.ok) process.exitCode = 1;
    });
}

function number(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError(`${flag} must be a number (got "${value}").`);
    return n;
  };
}

function defaultClients(region: string | undefined): RefreshClients {
  // The job polls AWS for hours: adaptive retries ride out throttling, as the deploy commands do.
  const config = awsClientConfig(region);
  return {
    rds: new RDSClient(config),
    ssm: new SSMClient(config),
    secretsManager: new SecretsManagerClient(config),
    sns: new SNSClient(config),
    ecs: new ECSClient(config),
    elb: new ElasticLoadBalancingV2Client(config),
  };
}

/** Loads the PostgreSQL steps on first use (a --prune run, or a failure before step 3, needs none). */
function lazySteps(load: () => Promise<RefreshDatabaseSteps>): RefreshDatabaseSteps {
  let loaded: Promise<RefreshDatabaseSteps> | undefined;
  const get = () => (loaded ??= load());
  return {
    loadRules: async (path) => (await get()).loadRules(path),
    takeSample: async (input) => (await get()).takeSample(input),
    scrub: async (input) => (await get()).scrub(input),
    verify: async (input) => (await get()).verify(input),
    prewarm: async (input) => (await get()).prewarm(input),
  };
}

/** The real PostgreSQL steps (they pull in pg and the scrub SQL). */
async function realDatabaseSteps(): Promise<RefreshDatabaseSteps> {
  const { databaseStepsForRefresh } = await import("./refresh-database-steps");
  return databaseStepsForRefresh();
}
