import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig, type StackConfig } from "./config";
import { PARITY } from "./parity";
import { createEnvironment } from "../stacks/environment";
import { createPipeline, readStackOutputs } from "../stacks/pipeline";

/** Compares dotted numeric versions: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Staging first: prod may not run an engine version staging does not already run. Throws before
 * any prod resource is registered.
 */
export function assertStagingIsAhead(stagingStack: string, stagingEngineVersion: unknown, prodEngineVersion: string): void {
  if (typeof stagingEngineVersion !== "string" || !stagingEngineVersion) {
    throw new Error(
      `Staging first: the staging stack "${stagingStack}" has no dbEngineVersion output. Run \`pulumi up -s staging\` before prod ` +
        "(or fix friday:stagingStack in Pulumi.prod.yaml).",
    );
  }
  if (compareVersions(prodEngineVersion, stagingEngineVersion) > 0) {
    throw new Error(
      `Staging first: prod would run PostgreSQL ${prodEngineVersion} but staging ("${stagingStack}") runs ${stagingEngineVersion}. ` +
        "Run `pulumi up -s staging` first, let it bake, then update prod.",
    );
  }
}

/**
 * The commit the pipeline's infra step is applying (`friday infra up --release` sets FRIDAY_RELEASE);
 * undefined when Pulumi runs outside the pipeline (the one-time bootstrap, `npm run plan`).
 */
export function infraRelease(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.FRIDAY_RELEASE?.trim() || undefined;
}

/**
 * Staging first, for the infrastructure too: in the pipeline, prod applies only the commit staging's
 * stack last applied (staging exports it as `infraRelease`). Throws before any prod resource is registered.
 */
export function assertStagingHasRelease(stagingStack: string, stagingRelease: unknown, release: string | undefined): void {
  if (release === undefined || stagingRelease === release) return;
  throw new Error(
    `Staging first: prod is asked to apply commit ${release}, but staging ("${stagingStack}") last applied ${typeof stagingRelease === "string" && stagingRelease ? stagingRelease : "no pipeline release"}. ` +
      "Prod's infrastructure changes only through the pipeline, after the same commit's staging step; re-run the pipeline for this commit.",
  );
}

/** Reads staging's outputs (prod only) and holds prod back if staging is behind. */
async function readStaging(config: StackConfig): Promise<pulumi.StackReference> {
  const staging = new pulumi.StackReference("staging", { name: config.stagingStack! });
  const engine = await staging.getOutputDetails("dbEngineVersion");
  assertStagingIsAhead(config.stagingStack!, engine.value ?? engine.secretValue, PARITY.database.engineVersion);
  const release = await staging.getOutputDetails("infraRelease");
  assertStagingHasRelease(config.stagingStack!, release.value ?? release.secretValue, infraRelease());
  return staging;
}

/**
 * The program: validates this stack's config, and for prod staging's outputs, before any resource
 * is registered; then builds the environment. Prod also builds the pipeline, which deploys the
 * same image digest to staging and then to prod.
 */
export async function program(): Promise<Record<string, unknown>> {
  const config = parseStackConfig(pulumi.getStack(), pulumi.runtime.allConfig());
  const staging = config.stack === "prod" ? await readStackOutputs(await readStaging(config), "staging") : undefined;
  const environment = createEnvironment(config);
  if (!staging) return { ...environment.outputs, infraRelease: infraRelease() ?? "outside-the-pipeline" };
  const pipeline = createPipeline({ config, prod: environment.outputs, staging });
  return { ...environment.outputs, pipelineName: pipeline.pipelineName, pipelineConnectionArn: pipeline.connectionArn };
}
