import {
  ECSClient,
  RegisterTaskDefinitionCommand,
  RegisterTaskDefinitionCommandInput,
  Tag,
  TaskDefinition,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { GetParametersCommand, SSMClient } from "@aws-sdk/client-ssm";
import { Command } from "commander";
import { awsCall, DeployError } from "./aws";
import {
  addCommonFlags,
  cliContext,
  CommonFlags,
  confirmProd,
  finish,
  numberFlag,
  pollOption,
  progressLog,
  timeoutOption,
} from "./cli-support";
import { Clock, findInFlight, followDeployment, FollowResult, formatDuration, Log, validateFollowLimits } from "./follow";
import { describeTaskDefinition, runningRevision } from "./service";
import { loadStackIdentifiers, StackIdentifiers, validateStackName } from "./stack";
import { parameterName } from "../../infra/stack-parameters";
import { APPLY_STACK_HINT } from "../lib/apply-stack";

/**
 * The deploy step: start from the task-definition template the stack last published (so infra
 * changes to CPU, memory, env, secrets or sidecars ride along), swap in the new image digest,
 * register the revision, UpdateService, and follow the ECS blue/green deployment to its end.
 * The pipeline's deploy actions and `friday deploy` both run this.
 */

export interface DeployDeps {
  ecs: ECSClient;
  ssm: SSMClient;
  clock: Clock;
  log: Log;
}

export interface DeployOptions {
  stack: string;
  /** `<registry>/<repository>@sha256:<digest>`, or "current" to redeploy what runs now (infra-only change). */
  image: string;
  /** @default 60 */
  timeoutMinutes?: number;
  /** @default 15 */
  pollSeconds?: number;
}

export interface DeployResult extends FollowResult {
  stack: string;
  image: string;
  /** The revision this deploy registered. */
  taskDefinitionArn: string;
  /** The template it started from. */
  templateArn: string;
}

export const DIGEST_IMAGE = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(\/[a-z0-9]([a-z0-9._/-]*[a-z0-9])?)+@sha256:[a-f0-9]{64}$/;

/** Checks the flags before anything talks to AWS. */
export function validateDeployOptions(options: DeployOptions): Required<DeployOptions> {
  validateStackName(options.stack);
  if (options.image !== "current" && !DIGEST_IMAGE.test(options.image)) {
    throw new DeployError(
      `--image must be an image pinned by digest, like 123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:<64 hex>, ` +
        `or "current" to roll the running image through an infra-only change (got "${options.image}"). Tags can move; deploys use digests.`,
    );
  }
  const timeoutMinutes = options.timeoutMinutes ?? 60;
  const pollSeconds = options.pollSeconds ?? 15;
  validateFollowLimits(timeoutMinutes, pollSeconds);
  return { stack: options.stack, image: options.image, timeoutMinutes, pollSeconds };
}

/**
 * The fields RegisterTaskDefinition accepts, copied from a described task definition. Everything
 * else DescribeTaskDefinition returns (arn, revision, status, requiresAttributes, compatibilities,
 * registeredAt/By, deregisteredAt, deleteRequestedAt) is read-only and must not be sent back.
 */
const REGISTRABLE_FIELDS = [
  "taskRoleArn",
  "executionRoleArn",
  "networkMode",
  "containerDefinitions",
  "volumes",
  "placementConstraints",
  "requiresCompatibilities",
  "cpu",
  "memory",
  "pidMode",
  "ipcMode",
  "proxyConfiguration",
  "inferenceAccelerators",
  "ephemeralStorage",
  "runtimePlatform",
  "enableFaultInjection",
] as const satisfies readonly (keyof TaskDefinition & keyof RegisterTaskDefinitionCommandInput)[];

/** A described task definition's registrable fields and tags, as a RegisterTaskDefinition input in `family`. */
export function registrableInput(template: TaskDefinition, tags: Tag[], family: string): RegisterTaskDefinitionCommandInput {
  const input: RegisterTaskDefinitionCommandInput = { family, containerDefinitions: [] };
  for (const field of REGISTRABLE_FIELDS) {
    const value = template[field];
    if (value !== undefined) (input as unknown as Record<string, unknown>)[field] = structuredClone(value);
  }
  input.family = family;
  if (tags.length > 0) input.tags = structuredClone(tags);
  return input;
}

/**
 * The RegisterTaskDefinition input for a deploy: the template's registrable fields, its tags, and
 * the app container's image swapped for `image`. Sidecars, secrets and environment are untouched.
 */
export function buildTaskDefinitionInput(
  template: TaskDefinition,
  tags: Tag[],
  family: string,
  containerName: string,
  image: string,
): RegisterTaskDefinitionCommandInput {
  const containers = template.containerDefinitions ?? [];
  if (!containers.some((c) => c.name === containerName)) {
    throw new DeployError(
      `Task definition template ${template.taskDefinitionArn} has no container named "${containerName}" ` +
        `(it has: ${containers.map((c) => c.name).join(", ") || "none"}). The stack's parameters are out of step: ${APPLY_STACK_HINT}.`,
    );
  }
  const input = registrableInput(template, tags, family);
  input.containerDefinitions = containers.map((c) => (c.name === containerName ? { ...structuredClone(c), image } : structuredClone(c)));
  return input;
}

/**
 * The secret ARN a container secret's `valueFrom` reads: `arn:…:secret:<name>` without the
 * `:<json-key>:<stage>:<version>` suffix ECS accepts after it. Undefined for SSM parameters.
 */
export function secretArnOfValueFrom(valueFrom: string): string | undefined {
  const parts = valueFrom.split(":");
  if (parts[0] !== "arn" || parts[2] !== "secretsmanager" || parts[5] !== "secret" || parts.length < 7) return undefined;
  return parts.slice(0, 7).join(":");
}

/** True for the ARN of a secret RDS manages for a database (`…:secret:rds!db-…`). */
export function isRdsManagedSecretArn(arn: string): boolean {
  return arn.includes(":secret:rds!");
}

/**
 * Points container secrets at another secret in place: every `valueFrom` whose secret ARN `replace`
 * maps to a new ARN gets that ARN, keeping its JSON-key suffix. Returns one line per change
 * (`container/NAME: old → new`, ARNs only: never values).
 */
export function rewriteSecretArns(input: RegisterTaskDefinitionCommandInput, replace: (secretArn: string) => string | undefined): string[] {
  const changes: string[] = [];
  for (const container of input.containerDefinitions ?? []) {
    for (const secret of container.secrets ?? []) {
      const arn = secret.valueFrom ? secretArnOfValueFrom(secret.valueFrom) : undefined;
      const to = arn ? replace(arn) : undefined;
      if (!arn || !to || to === arn) continue;
      secret.valueFrom = to + secret.valueFrom!.slice(arn.length);
      changes.push(`${container.name}/${secret.name}: ${arn} → ${to}`);
    }
  }
  return changes;
}

/**
 * The stack's live RDS database secret (/friday/<stack>/db-secret-arn): after a staging refresh it
 * is the new instance's, while the published template still names the old one. Undefined when the
 * stack publishes none (or it is not an RDS-managed secret).
 */
export async function liveDatabaseSecretArn(ssm: SSMClient, stack: string): Promise<string | undefined> {
  const name = parameterName(stack, "dbSecretArn");
  const out = await awsCall("ssm:GetParameters", () => ssm.send(new GetParametersCommand({ Names: [name] })));
  const value = out?.Parameters?.find((p) => p.Name === name)?.Value;
  return value && isRdsManagedSecretArn(value) ? value : undefined;
}

/** Deploys an image to a stack and follows the deployment; `ok` is false unless ECS reports SUCCESSFUL. */
export async function deploy(deps: DeployDeps, raw: DeployOptions): Promise<DeployResult> {
  const options = validateDeployOptions(raw);
  const { ecs, log } = deps;
  const ids = await loadStackIdentifiers(deps.ssm, options.stack);
  log(`Deploying to ${options.stack}: service ${ids.serviceName} in cluster ${ids.clusterName}`);

  await refuseWhileInFlight(ecs, ids);

  const image = options.image === "current" ? await currentImage(ecs, ids) : options.image;
  const { taskDefinition: template, tags } = await describeTaskDefinition(
    ecs,
    ids.taskDefinitionTemplateArn,
    `the stack's template is gone; to publish it again, ${APPLY_STACK_HINT}.`,
  );
  log(`Template: ${template.taskDefinitionArn} (cpu ${template.cpu ?? "?"}, memory ${template.memory ?? "?"}, ${template.containerDefinitions?.length ?? 0} container(s))`);
  log(`Image: ${image}`);

  const input = buildTaskDefinitionInput(template, tags, ids.taskDefinitionFamily, ids.containerName, image);
  // A staging refresh swaps in a database with its own RDS-managed secret and records it in SSM; the
  // template still names the one the stack was created with, so follow SSM for RDS secrets.
  const liveSecret = await liveDatabaseSecretArn(deps.ssm, options.stack);
  if (liveSecret) {
    for (const change of rewriteSecretArns(input, (arn) => (isRdsManagedSecretArn(arn) ? liveSecret : undefined))) log(`Secret follows the live database: ${change}`);
  }
  const followed = await registerAndFollow(deps, ids, input, { timeoutMinutes: options.timeoutMinutes, pollSeconds: options.pollSeconds });
  return { ...followed, stack: options.stack, image, templateArn: ids.taskDefinitionTemplateArn };
}

/** The service a deployment targets (what registering and following need of a stack's identifiers). */
export type ServiceTarget = Pick<StackIdentifiers, "stack" | "clusterName" | "serviceName">;

/**
 * Registers `input` as a new revision, points the service at it (UpdateService) and follows the
 * service deployment to its end. `ok` is false unless ECS reports SUCCESSFUL. The deploy step and
 * the staging refresh (moving the service onto a new database secret) both use it.
 */
export async function registerAndFollow(
  deps: Pick<DeployDeps, "ecs" | "clock" | "log">,
  ids: ServiceTarget,
  input: RegisterTaskDefinitionCommandInput,
  options: { timeoutMinutes: number; pollSeconds: number },
): Promise<FollowResult & { taskDefinitionArn: string }> {
  const { ecs, log } = deps;
  const registered = await awsCall("ecs:RegisterTaskDefinition", () => ecs.send(new RegisterTaskDefinitionCommand(input)));
  const taskDefinitionArn = registered.taskDefinition?.taskDefinitionArn;
  if (!taskDefinitionArn) throw new DeployError("RegisterTaskDefinition returned no task definition ARN; nothing was deployed.");
  log(`Registered ${taskDefinitionArn}`);

  const serviceDeploymentArn = await startDeployment(deps, ids, taskDefinitionArn);
  log(`Service deployment ${serviceDeploymentArn} started; following it (timeout ${options.timeoutMinutes} min)`);

  const followed = await followDeployment(ecs, deps.clock, log, {
    serviceDeploymentArn,
    success: "SUCCESSFUL",
    timeoutMinutes: options.timeoutMinutes,
    pollSeconds: options.pollSeconds,
  });
  return { ...followed, taskDefinitionArn };
}

/** A new deployment on top of one in flight would fight it; say what is running and what to do. */
export async function refuseWhileInFlight(ecs: ECSClient, ids: ServiceTarget): Promise<void> {
  const inFlight = await findInFlight(ecs, ids);
  if (inFlight) {
    throw new DeployError(
      `A deployment is already in flight on ${ids.stack} (${inFlight.serviceDeploymentArn}, ${inFlight.status}). ` +
        "Wait for it (`friday status --stack " + ids.stack + "`) or stop it with `friday rollback --stack " + ids.stack + "`; nothing was changed.",
    );
  }
}

async function currentImage(ecs: ECSClient, ids: StackIdentifiers): Promise<string> {
  const running = await runningRevision(ecs, ids);
  if (!running.imageByDigest) {
    throw new DeployError(
      `--image current: cannot tell which image ${ids.serviceName} runs (no current service revision with container "${ids.containerName}"). ` +
        "Pass --image <repository>@sha256:<digest> instead.",
    );
  }
  return running.imageByDigest;
}

/**
 * UpdateService with the new revision (the stack configured ECS blue/green) and returns the new
 * service deployment's ARN: from the response, else the newest in-flight deployment.
 */
export async function startDeployment(deps: Pick<DeployDeps, "ecs" | "clock">, ids: ServiceTarget, taskDefinitionArn: string): Promise<string> {
  const { ecs } = deps;
  const updated = await awsCall("ecs:UpdateService", () =>
    ecs.send(new UpdateServiceCommand({ cluster: ids.clusterName, service: ids.serviceName, taskDefinition: taskDefinitionArn })),
  );
  const fromResponse = updated.service?.currentServiceDeployment;
  if (fromResponse) return fromResponse;
  for (let attempt = 0; attempt < 10; attempt++) {
    const newest = await findInFlight(ecs, ids);
    if (newest?.serviceDeploymentArn) return newest.serviceDeploymentArn;
    await deps.clock.sleep(3000);
  }
  throw new DeployError(
    `UpdateService accepted ${taskDefinitionArn} but no service deployment appeared after 30s. ` +
      `Check \`friday status --stack ${ids.stack}\`; the service may already run this revision.`,
  );
}

/** One line per deploy result for people. */
export function formatDeployResult(r: DeployResult): string {
  return [
    r.message,
    `  stack: ${r.stack}`,
    `  image: ${r.image}`,
    `  task definition: ${r.taskDefinitionArn}`,
    `  service deployment: ${r.serviceDeploymentArn}`,
    `  final status: ${r.status ?? "?"}${r.lifecycleStage ? ` (${r.lifecycleStage})` : ""}, ${formatDuration(r.durationSeconds)}`,
    `  stages: ${r.stages.join(" → ") || "none seen"}`,
  ].join("\n");
}

/** `friday deploy --stack <staging|prod> --image <repo@sha256:…|current>` */
export function registerDeploy(program: Command): void {
  addCommonFlags(
    program
      .command("deploy")
      .description("deploy an image digest (or the current image, for an infra-only change) through blue/green and follow it to the end"),
  )
    .requiredOption("--image <image>", 'image pinned by digest (repository@sha256:...), or "current"')
    .option("--yes", "do not ask for confirmation on prod (asked only in a terminal: the pipeline's approval gate confirms its prod deploys)")
    .addOption(timeoutOption(60))
    .addOption(pollOption())
    .action(async (flags: CommonFlags & { image: string; yes?: boolean; timeoutMinutes: string; pollSeconds: string }) => {
      const ctx = cliContext();
      const options = validateDeployOptions({
        stack: flags.stack,
        image: flags.image,
        timeoutMinutes: numberFlag("--timeout-minutes", flags.timeoutMinutes, 1, 1440),
        pollSeconds: numberFlag("--poll-seconds", flags.pollSeconds, 1, 300),
      });
      await confirmProd(ctx, options.stack, flags.yes, `Deploy ${options.image} to prod through blue/green.`, "proceed");
      const { ecs, ssm } = ctx.clients(flags.region);
      const result = await deploy({ ecs, ssm, clock: ctx.clock, log: progressLog(ctx, flags.json) }, options);
      finish(ctx, flags.json, result, formatDeployResult(result));
    });
}
