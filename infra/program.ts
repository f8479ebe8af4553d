import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig } from "./config";
import { createEnvironment } from "../stacks/environment";

/**
 * Reads and validates this stack's config (before any resource is registered), then builds the
 * environment; prod also reads staging's outputs and builds the pipeline.
 */
export async function program(): Promise<Record<string, unknown>> {
  const config = parseStackConfig(pulumi.getStack(), pulumi.runtime.allConfig());
  const environment = createEnvironment(config);
  return environment.outputs;
}
