import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../infra/config";
import { PARITY } from "../infra/parity";
import type { StackParameterKey } from "../infra/stack-parameters";
import { PIPELINE_NAME } from "../infra/naming";
import { Pipeline, PipelineStackRefs } from "../components/pipeline";
import type { CliBundle } from "../infra/cli-bundle";
import { bundleCli } from "../scripts/pipeline/bundle";

/** A stack's outputs, keyed like STACK_PARAMETERS (values may be Outputs, e.g. from a StackReference). */
export type StackOutputs = Partial<Record<StackParameterKey, pulumi.Input<string>>>;

export interface CreatePipelineArgs {
  /** The prod stack's validated config (its `pipeline` section and `deploy.alarmWatchMinutes`). */
  readonly config: StackConfig;
  /** Outputs of the prod environment built in this program. */
  readonly prod: StackOutputs;
  /** Outputs of the staging stack (read through a StackReference). */
  readonly staging: StackOutputs;
  /** The bundled CLI; default: bundle scripts/cli.ts now, into a temporary directory. */
  readonly cliBundle?: CliBundle | Promise<CliBundle>;
}

/** The outputs the pipeline needs from each stack. */
export const REQUIRED_STACK_OUTPUTS: readonly (keyof PipelineStackRefs)[] = [
  "region", "clusterArn", "clusterName", "serviceArn", "serviceName", "taskDefinitionFamily", "rollbackAlarmNames",
  "privateSubnetIds", "serviceSecurityGroupId", "vpcId", "dbSecretArn", "dbInstanceIdentifier", "taskRoleArn",
  "taskExecutionRoleArn", "notificationsTopicArn", "notificationsTopicKeyArn", "ecrRepositoryUrl", "ecrRepositoryArn",
];

function refsOf(stack: "prod" | "staging", outputs: StackOutputs): PipelineStackRefs {
  const missing = REQUIRED_STACK_OUTPUTS.filter((key) => outputs[key] === undefined);
  if (missing.length) {
    throw new Error(
      `createPipeline: the ${stack} stack's outputs lack ${missing.join(", ")}. ` +
        (stack === "staging" ? "Run `pulumi up -s staging` with this version of friday first, then prod." : "Pass every STACK_PARAMETERS output of the prod environment."),
    );
  }
  return Object.fromEntries(REQUIRED_STACK_OUTPUTS.map((key) => [key, outputs[key]])) as unknown as PipelineStackRefs;
}

/**
 * Reads the outputs the pipeline needs from another stack (staging, through its StackReference),
 * and fails — naming every missing output — before any pipeline resource is registered.
 */
export async function readStackOutputs(
  reference: pulumi.StackReference,
  stackLabel = "staging",
  keys: readonly StackParameterKey[] = REQUIRED_STACK_OUTPUTS,
): Promise<StackOutputs> {
  const details = await Promise.all(keys.map(async (key) => [key, await reference.getOutputDetails(key)] as const));
  const missing = details.filter(([, d]) => typeof (d.value ?? d.secretValue) !== "string" || !(d.value ?? d.secretValue)).map(([key]) => key);
  if (missing.length) {
    throw new Error(
      `createPipeline: the ${stackLabel} stack has no ${missing.join(", ")} output${missing.length > 1 ? "s" : ""}. ` +
        `Run \`pulumi up -s ${stackLabel}\` with this version of friday first, then prod.`,
    );
  }
  return Object.fromEntries(details.map(([key, d]) => [key, (d.value ?? pulumi.secret(d.secretValue)) as pulumi.Input<string>]));
}

/** The Pulumi CLI the pipeline installs: the SDK's own version, so the CLI and the program agree. */
export const PULUMI_VERSION: string = require("@pulumi/pulumi/package.json").version;

/** "acme/friday/staging" → "acme/friday/prod": the stacks differ only in their last segment. */
export function siblingStack(stagingStack: string, stack: string): string {
  return stagingStack.includes("/") ? stagingStack.replace(/[^/]+$/, stack) : stack;
}

/**
 * `friday bootstrap` sets FRIDAY_BOOTSTRAP for the stacks' first `pulumi up`. The connection prod
 * creates then waits for a person's approval, and CodeBuild cannot create a webhook on a pending
 * connection: the pull-request checks come with the pipeline's first run (ProdInfra), which can only
 * run once the connection is approved. A connection given in friday:pipeline.connectionArn is
 * taken as approved.
 */
export function bootstrapping(connectionArn: string | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  const first = env.FRIDAY_BOOTSTRAP === "1" && !connectionArn;
  if (first) pulumi.log.info("Pull-request checks are left for the pipeline's first run: the CodeConnections connection must be approved before CodeBuild can create their webhooks.");
  return first;
}

let defaultBundle: Promise<CliBundle> | undefined;

/** Bundles the CLI once per process into a temporary directory (removed when the process exits). */
export function defaultCliBundle(): Promise<CliBundle> {
  if (!defaultBundle) {
    const dir = mkdtempSync(join(tmpdir(), "friday-cli-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    defaultBundle = bundleCli(join(dir, "friday.js"));
  }
  return defaultBundle;
}

/**
 * The prod stack's delivery pipeline. Call it from the prod composition with the prod environment's
 * outputs and the staging stack's outputs; it throws (before creating anything) when the config has
 * no `pipeline` section or a stack lacks an output the pipeline needs.
 */
export function createPipeline(args: CreatePipelineArgs, opts?: pulumi.ComponentResourceOptions): Pipeline {
  const { config } = args;
  if (config.stack !== "prod") {
    throw new Error(`createPipeline: only the prod stack builds the pipeline (called for "${config.stack}").`);
  }
  const settings = config.pipeline;
  if (!settings) {
    throw new Error('createPipeline: Pulumi.prod.yaml has no friday:pipeline section. Add `friday:pipeline: {repository: "owner/app"}`.');
  }
  const prod = refsOf("prod", args.prod);
  const staging = refsOf("staging", args.staging);
  return new Pipeline(
    PIPELINE_NAME,
    {
      repository: settings.repository,
      branch: settings.branch,
      connectionArn: settings.connectionArn,
      providerType: settings.providerType,
      filePaths: settings.filePaths,
      testCommand: settings.testCommand,
      lintCommand: settings.lintCommand,
      dockerContext: settings.dockerContext,
      dockerfile: settings.dockerfile,
      migrationsDir: settings.migrationsDir,
      manualApproval: settings.manualApproval,
      deployTimeoutMinutes: settings.deployTimeoutMinutes,
      alarmWatchMinutes: Math.max(1, config.deploy.alarmWatchMinutes),
      databaseName: PARITY.database.databaseName,
      architecture: PARITY.service.cpuArchitecture,
      prod,
      staging,
      cliBundle: args.cliBundle ?? defaultCliBundle(),
      infra: {
        ...settings.infra,
        project: pulumi.getProject(),
        stackNames: { staging: config.stagingStack!, prod: siblingStack(config.stagingStack!, config.stack) },
        pulumiVersion: PULUMI_VERSION,
      },
      pullRequests: bootstrapping(settings.connectionArn) ? { ...settings.pullRequests, enabled: false } : settings.pullRequests,
    },
    opts,
  );
}
