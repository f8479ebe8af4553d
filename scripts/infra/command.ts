import { CodePipelineClient } from "@aws-sdk/client-codepipeline";
import { RDSClient } from "@aws-sdk/client-rds";
import type { Command } from "commander";
import { awsClientConfig } from "../deploy/aws";
import { validateStackName } from "../deploy/stack";
import { infraContext } from "./hooks";
import { adoptDatabase, AdoptDatabaseError, describeWith, stateCliOver, type PulumiStateCli } from "../staging/adopt-database";
import { InfraContext, InfraError, preview, selectStack, up } from "./pulumi-run";

/**
 * `friday infra preview|up --stack <s>`: the pipeline's infra steps (pull-request previews, and
 * `pulumi up` of staging, then prod). They need the Pulumi CLI and the backend variables the
 * pipeline's projects set; see docs/infra-pipeline.md.
 */

interface InfraFlags {
  stack: string;
  pulumiStack?: string;
  region?: string;
  json?: boolean;
}

function target(flags: InfraFlags) {
  const stack = validateStackName(flags.stack) as "staging" | "prod";
  const pulumiStack = flags.pulumiStack ?? process.env.PULUMI_STACK ?? stack;
  if (!/^[\w.-]+(\/[\w.-]+){0,2}$/.test(pulumiStack)) {
    throw new InfraError(`--pulumi-stack must be a stack name like "prod" or "organization/friday/prod" (got "${pulumiStack}").`);
  }
  return { stack, pulumiStack };
}

export function registerInfra(program: Command): void {
  const infra = program.command("infra").description("Run Pulumi for a stack the way the pipeline does (previews on pull requests, `pulumi up` on merge)");

  infra
    .command("preview")
    .description("pulumi preview of a stack, summarised; fails naming each resource whose preview fails")
    .requiredOption("--stack <stack>", "staging or prod")
    .option("--pulumi-stack <name>", "the fully qualified Pulumi stack (default: PULUMI_STACK, else --stack)")
    .option("--json", "print the summary as JSON on stdout (progress goes to stderr)")
    .action(async (flags: InfraFlags) => {
      const env = { ...process.env };
      const ctx = infraContext(env, flags.json);
      const t = target(flags);
      await selectStack(ctx, t);
      const summary = await preview(ctx, t);
      if (flags.json) ctx.stdout(JSON.stringify(summary, null, 2));
    });

  infra
    .command("up")
    .description("preview, then pulumi up of a stack (the pipeline's StagingInfra and ProdInfra steps)")
    .requiredOption("--stack <stack>", "staging or prod")
    .option("--pulumi-stack <name>", "the fully qualified Pulumi stack (default: PULUMI_STACK, else --stack)")
    .option("--image <uri>", "run this image digest (the Build stage's) instead of building app/")
    .option("--release <commit>", "the commit being applied: staging records it, prod must match it")
    .option("--pipeline <name>", "(prod) the pipeline this runs in: restarted when the update changed it")
    .option("--execution-id <id>", "(with --pipeline) this run's execution id")
    .option("--region <region>", "AWS region of the pipeline")
    .option("--yes", "apply without asking (the pipeline's gate is the confirmation)")
    .option("--json", "print the result as JSON on stdout (progress goes to stderr)")
    .action(async (flags: InfraFlags & { image?: string; release?: string; pipeline?: string; executionId?: string; yes?: boolean }) => {
      const t = target(flags);
      if (!flags.yes) throw new InfraError("friday infra up changes a stack and runs unattended in the pipeline: pass --yes. Nothing was changed.");
      if (flags.image && !/@sha256:[a-f0-9]{64}$/.test(flags.image)) {
        throw new InfraError(`--image must be an image digest reference (…@sha256:<64 hex>), the Build stage's IMAGE_URI (got "${flags.image}").`);
      }
      if (flags.release !== undefined && !/^[0-9a-f]{7,40}$/.test(flags.release)) {
        throw new InfraError(`--release must be a git commit id (got "${flags.release}").`);
      }
      if (Boolean(flags.pipeline) !== Boolean(flags.executionId)) {
        throw new InfraError("--pipeline and --execution-id go together (the run to restart if the pipeline changes).");
      }
      const env = { ...process.env, ...(flags.release ? { FRIDAY_RELEASE: flags.release } : {}) };
      const ctx = infraContext(env, flags.json);
      const codepipeline = (region?: string) => new CodePipelineClient(awsClientConfig(region));
      const rds = (region?: string) => new RDSClient(awsClientConfig(region));
      const result = await up(ctx, t, {
        adoptDatabase: t.stack === "staging" ? (stack) => adoptSwappedDatabase(ctx, stack, rds(flags.region)) : undefined,
        image: flags.image,
        release: flags.release,
        pipeline: flags.pipeline && flags.executionId ? { name: flags.pipeline, executionId: flags.executionId, client: codepipeline(flags.region) } : undefined,
      });
      if (flags.json) ctx.stdout(JSON.stringify(result, null, 2));
    });
}

/** `pulumi stack export|import` through the step's runner. */
function stateCli(ctx: InfraContext): PulumiStateCli {
  return stateCliOver(async (args) => {
    const out = await ctx.run(args);
    if (out.code !== 0) throw new AdoptDatabaseError(`pulumi ${args.slice(0, 2).join(" ")} failed: ${out.stderr.trim()}`);
    return out.stdout;
  });
}

/**
 * What `friday staging adopt-database` does by hand, as part of staging's infra step: after a
 * staging refresh the state tracks the replaced instance. A stack whose state holds no database yet
 * (its first up) has nothing to adopt.
 */
async function adoptSwappedDatabase(ctx: InfraContext, stack: string, rds: RDSClient) {
  try {
    return await adoptDatabase({ stack, cli: stateCli(ctx), describe: describeWith(rds) });
  } catch (error) {
    if (error instanceof AdoptDatabaseError && error.noDatabase) return undefined;
    throw new InfraError(`Before staging's update: ${(error as Error).message}`);
  }
}
