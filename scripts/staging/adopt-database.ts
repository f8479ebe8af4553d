import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeDBInstancesCommand, RDSClient } from "@aws-sdk/client-rds";
import { Command } from "commander";
import { awsClientConfig } from "../deploy/aws";
import { stagingCommand } from "./refresh-command";
import { APPLY_STACK_HINT } from "../lib/apply-stack";

/**
 * `friday staging adopt-database --stack staging`: after a refresh swapped a new instance in under
 * staging's identifier, point Pulumi's state at it.
 *
 * Why: @pulumi/aws 7 tracks an `aws.rds.Instance` by its DBI resource id (`db-…`, the Terraform
 * provider's `id` since its v5), not by its identifier. After the swap the state still tracks the old
 * instance, now `<identifier>-previous`: a `pulumi refresh` would read that one in (and `pulumi up`
 * would try to rename it back), and once it is deleted `pulumi up` would try to create the database
 * again. This command exports the stack's state, sets the database resource's id to the instance
 * that holds the identifier now, and imports the state back — so every resource that depends on the
 * database stays in place. Then `pulumi refresh` reads the new instance's attributes in.
 *
 * It changes nothing when the state already tracks the live instance, refuses a state with pending
 * operations (an interrupted update), and needs the Pulumi CLI logged in to the stack's backend.
 */

export const RDS_INSTANCE_TYPE = "aws:rds/instance:Instance";

/** The Pulumi CLI calls the command makes (tests replace them). */
export interface PulumiStateCli {
  /** `pulumi stack export --stack <stack>`: the state as JSON text. */
  exportState(stack: string): Promise<string>;
  /** `pulumi stack import --stack <stack> --file <file>`. */
  importState(stack: string, stateJson: string): Promise<void>;
}

/** The live instance behind an identifier (undefined when there is none). */
export type DescribeInstance = (identifier: string) => Promise<{ resourceId: string; status: string } | undefined>;

export interface AdoptResult {
  readonly stack: string;
  readonly urn: string;
  readonly identifier: string;
  /** The DBI resource id the state tracked. */
  readonly trackedResourceId: string;
  /** The DBI resource id of the instance that holds the identifier now. */
  readonly liveResourceId: string;
  readonly changed: boolean;
  readonly dryRun: boolean;
}

/** The state is not what the command can safely edit: nothing was changed. */
export class AdoptDatabaseError extends Error {
  constructor(
    message: string,
    /** The state holds no database at all (a stack before its first up): nothing to adopt. */
    readonly noDatabase = false,
  ) {
    super(message);
    this.name = "AdoptDatabaseError";
  }
}

interface StateResource {
  urn: string;
  type: string;
  id?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

interface StackState {
  version: number;
  deployment: { resources?: StateResource[]; pending_operations?: unknown[] };
}

function parseState(stack: string, text: string): StackState {
  let state: StackState;
  try {
    state = JSON.parse(text) as StackState;
  } catch (error) {
    throw new AdoptDatabaseError(`\`pulumi stack export --stack ${stack}\` did not print JSON (${(error as Error).message}): check the Pulumi CLI and its login`);
  }
  if (state?.version !== 3 || typeof state.deployment !== "object" || state.deployment === null) {
    throw new AdoptDatabaseError(`the exported state of ${stack} is not a version-3 deployment (got version ${String(state?.version)}): use a Pulumi CLI of v3`);
  }
  return state;
}

/** The stack's one RDS instance resource (the database); an error naming the fix otherwise. */
export function findDatabaseResource(stack: string, state: StackState): StateResource {
  if (state.deployment.pending_operations?.length) {
    throw new AdoptDatabaseError(
      `${stack} has ${state.deployment.pending_operations.length} pending operation(s) from an interrupted update: resolve them first (\`pulumi refresh -s ${stack}\` lists them; see Pulumi's "pending operations" docs), then run this again`,
    );
  }
  const instances = (state.deployment.resources ?? []).filter((r) => r.type === RDS_INSTANCE_TYPE);
  if (instances.length !== 1) {
    throw new AdoptDatabaseError(
      `${stack}'s state holds ${instances.length} ${RDS_INSTANCE_TYPE} resources (${instances.map((r) => r.urn).join(", ") || "none"}): expected exactly one, staging's database — if it has none, ${APPLY_STACK_HINT}`,
      instances.length === 0,
    );
  }
  return instances[0];
}

/** Returns the state with the database resource's id (and resourceId output) set to `liveResourceId`. */
export function repointDatabase(state: StackState, resource: StateResource, liveResourceId: string): StackState {
  const resources = (state.deployment.resources ?? []).map((r) => {
    if (r !== resource) return r;
    const outputs: Record<string, unknown> = { ...(r.outputs ?? {}), resourceId: liveResourceId };
    if ("id" in (r.outputs ?? {})) outputs.id = liveResourceId;
    return { ...r, id: liveResourceId, outputs };
  });
  return { ...state, deployment: { ...state.deployment, resources } };
}

export async function adoptDatabase(options: { stack: string; cli: PulumiStateCli; describe: DescribeInstance; dryRun?: boolean }): Promise<AdoptResult> {
  const { stack, cli, describe } = options;
  const state = parseState(stack, await cli.exportState(stack));
  const resource = findDatabaseResource(stack, state);
  const identifier = String(resource.inputs?.identifier ?? resource.outputs?.identifier ?? "");
  if (!identifier) throw new AdoptDatabaseError(`${resource.urn} has no identifier in ${stack}'s state: run \`pulumi refresh -s ${stack}\` first`);
  const live = await describe(identifier);
  if (!live) {
    throw new AdoptDatabaseError(`no RDS instance is named "${identifier}" (check --region): a refresh may be half-way through a swap — finish it with \`friday staging refresh --stack ${stack}\` first`);
  }
  if (live.status !== "available") {
    throw new AdoptDatabaseError(`"${identifier}" is ${live.status}: wait until it is available (a refresh may still be running), then run this again`);
  }
  const tracked = resource.id ?? "";
  const result = { stack, urn: resource.urn, identifier, trackedResourceId: tracked, liveResourceId: live.resourceId, dryRun: Boolean(options.dryRun) };
  if (tracked === live.resourceId) return { ...result, changed: false };
  if (!options.dryRun) await cli.importState(stack, JSON.stringify(repointDatabase(state, resource, live.resourceId), null, 2));
  return { ...result, changed: true };
}

/** One line for people; the next steps when the state changed. */
export function formatAdoptResult(r: AdoptResult): string {
  if (!r.changed) return `${r.stack}: the state already tracks the live "${r.identifier}" (${r.liveResourceId}); nothing to do`;
  const verb = r.dryRun ? "would point" : "points";
  return [
    `${r.stack}: the state ${verb} ${r.urn} at the live "${r.identifier}" (${r.liveResourceId}, was ${r.trackedResourceId || "none"})`,
    r.dryRun ? "dry run: nothing imported" : `next: pulumi refresh -s ${r.stack} --target '${r.urn}' --yes, then pulumi preview -s ${r.stack} (no replacement or rename of the database expected)`,
  ].join("\n");
}

/** Runs the real Pulumi CLI; a missing CLI gets one line naming the fix. */
export function pulumiCli(run: typeof execFile = execFile): PulumiStateCli {
  const pulumi = (args: string[]) =>
    new Promise<string>((resolve, reject) => {
      run("pulumi", args, { maxBuffer: 512 * 1024 * 1024, env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } }, (error, stdout, stderr) => {
        if (!error) return resolve(String(stdout));
        const code = (error as NodeJS.ErrnoException).code;
        reject(
          code === "ENOENT"
            ? new AdoptDatabaseError("the Pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/iac/download-install/) and log in to the backend that holds the stack")
            : new AdoptDatabaseError(`pulumi ${args.slice(0, 2).join(" ")} failed: ${String(stderr).trim() || error.message}`),
        );
      });
    });
  return stateCliOver(pulumi);
}

/** `pulumi stack export|import` over any way of running the Pulumi CLI (its stdout, or a rejection). */
export function stateCliOver(pulumi: (args: string[]) => Promise<string>): PulumiStateCli {
  return {
    exportState: (stack) => pulumi(["stack", "export", "--stack", stack]),
    importState: async (stack, stateJson) => {
      const dir = await mkdtemp(join(tmpdir(), "friday-state-"));
      try {
        const file = join(dir, "state.json");
        await writeFile(file, stateJson, { mode: 0o600 });
        await pulumi(["stack", "import", "--stack", stack, "--file", file]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** DescribeDBInstances by identifier. */
export function describeWith(rds: RDSClient): DescribeInstance {
  return async (identifier) => {
    try {
      const out = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }));
      const instance = out.DBInstances?.[0];
      return instance ? { resourceId: instance.DbiResourceId ?? "", status: instance.DBInstanceStatus ?? "unknown" } : undefined;
    } catch (error) {
      if ((error as { name?: string }).name === "DBInstanceNotFoundFault") return undefined;
      throw error;
    }
  };
}

/** What tests replace: the Pulumi CLI, the RDS client, the output. */
export interface AdoptDatabaseDependencies {
  readonly cli?: PulumiStateCli;
  readonly rds?: (region: string | undefined) => RDSClient;
  readonly stdout?: (text: string) => void;
}

/** Registers `friday staging adopt-database`. */
export function registerAdoptDatabase(program: Command, deps: AdoptDatabaseDependencies = {}): void {
  stagingCommand(program)
    .command("adopt-database")
    .description(
      "After a refresh, point Pulumi's state at the database instance that now holds staging's identifier (the pipeline's StagingInfra step runs this itself; by hand, run it before the next preview of staging; needs the Pulumi CLI logged in to the stack's backend).",
    )
    .requiredOption("--stack <stack>", 'the refreshed stack: "staging"')
    .option("--region <region>", "AWS region (default: the SDK's, e.g. AWS_REGION)")
    .option("--dry-run", "show what would change; import nothing")
    .option("--json", "print the result as JSON")
    .action(async (opts: { stack: string; region?: string; dryRun?: boolean; json?: boolean }) => {
      const out = deps.stdout ?? ((text: string) => process.stdout.write(text));
      const rds = (deps.rds ?? ((region) => new RDSClient(awsClientConfig(region))))(opts.region);
      const result = await adoptDatabase({ stack: opts.stack, cli: deps.cli ?? pulumiCli(), describe: describeWith(rds), dryRun: Boolean(opts.dryRun) });
      out((opts.json ? JSON.stringify(result, null, 2) : formatAdoptResult(result)) + "\n");
    });
}
