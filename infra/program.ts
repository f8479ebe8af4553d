import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig, type StackConfig } from "./config";
import { assertStagingIsAhead, desiredEngineVersion, readLiveEngineVersion } from "./engine-version";
import { databaseIdentifier } from "./naming";
import { PARITY } from "./parity";
import { createEnvironment } from "../stacks/environment";
import { createPipeline, readStackOutputs } from "../stacks/pipeline";


/**
 * The engine version this stack's database should run: the newer of PARITY's minimum and what the
 * instance runs now (RDS's forced minor upgrades are kept, never undone). Read before anything is registered.
 */
async function engineVersions(config: StackConfig): Promise<{ desired: string; live?: string }> {
  const live = await readLiveEngineVersion(databaseIdentifier(config.stack));
  return { desired: desiredEngineVersion(PARITY.database.engineVersion, live), live };
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
async function readStaging(config: StackConfig, prodEngine: { desired: string; live?: string }): Promise<pulumi.StackReference> {
  const staging = new pulumi.StackReference("staging", { name: config.stagingStack! });
  const engine = await staging.getOutputDetails("dbEngineVersion");
  const warning = assertStagingIsAhead(config.stagingStack!, engine.value ?? engine.secretValue, prodEngine.desired, prodEngine.live);
  if (warning) pulumi.log.warn(`Staging first: ${warning}`);
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
  const engine = await engineVersions(config);
  const staging = config.stack === "prod" ? await readStackOutputs(await readStaging(config, engine), "staging") : undefined;
  const environment = createEnvironment(config, { engineVersion: engine.desired });
  if (!staging) return { ...environment.outputs, infraRelease: infraRelease() ?? "outside-the-pipeline" };
  const pipeline = createPipeline({ config, prod: environment.outputs, staging });
  return { ...environment.outputs, pipelineName: pipeline.pipelineName, pipelineConnectionArn: pipeline.connectionArn };
}
