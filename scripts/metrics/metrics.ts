import { AppConfigClient } from "@aws-sdk/client-appconfig";
import { CodePipelineClient } from "@aws-sdk/client-codepipeline";
import { ECSClient } from "@aws-sdk/client-ecs";
import { SSMClient } from "@aws-sdk/client-ssm";
import { PIPELINE_NAME, type StackName } from "../../infra/naming";
import { awsClientConfig, DeployError } from "../deploy/aws";
import { Clock, Log } from "../deploy/follow";
import { loadStackIdentifiers, validateStackName } from "../deploy/stack";
import { FlagsError, resolveFlagsResources } from "../flags/aws";
import { computeMetrics, MetricsReport } from "./compute";
import { ECS_HISTORY_DAYS, readServiceDeployments } from "./ecs-history";
import { FlagRelease, readFlagReleases } from "./flag-history";
import { readPipelineRuns } from "./pipeline-history";
import { HistoryProgress } from "./progress";

/**
 * `friday metrics`' work as one plain function over AWS SDK clients: read the environment's history
 * for the window (ECS service deployments, the pipeline's runs, flag deployments), then compute.
 * Every call is a read (List*, Get*, Describe*): see METRICS_PERMISSIONS.
 */

/** The clients `friday metrics` reads with (tests hand it aws-sdk-client-mock clients). */
export interface MetricsClients {
  readonly ecs: ECSClient;
  readonly ssm: SSMClient;
  readonly codepipeline: CodePipelineClient;
  readonly appconfig: AppConfigClient;
}

export function createMetricsClients(region?: string): MetricsClients {
  const config = awsClientConfig(region);
  return { ecs: new ECSClient(config), ssm: new SSMClient(config), codepipeline: new CodePipelineClient(config), appconfig: new AppConfigClient(config) };
}

export interface MetricsOptions {
  /** staging or prod. */
  readonly stack: string;
  /** Whole days back from now. @default 30 */
  readonly days?: number;
  /** The pipeline whose runs give commit times. @default PIPELINE_NAME ("friday", what the prod stack creates) */
  readonly pipelineName?: string;
}

export interface MetricsDeps extends MetricsClients {
  readonly clock: Pick<Clock, "now">;
  /** Progress lines (stderr). */
  readonly log: Log;
}

/**
 * Every AWS permission `friday metrics` uses: all reads. The resource patterns are what a policy
 * can scope each action to (docs/runbooks/metrics.md has the policy).
 */
export const METRICS_PERMISSIONS: readonly { readonly action: string; readonly resource: string; readonly why: string }[] = [
  { action: "ssm:GetParameters", resource: "arn:aws:ssm:<region>:<account>:parameter/friday/<stack>/*", why: "the stack's cluster, service, container and AppConfig ids" },
  { action: "ecs:ListServiceDeployments", resource: "arn:aws:ecs:<region>:<account>:service/<cluster>/<service>", why: "the service's deployments in the window" },
  { action: "ecs:DescribeServiceDeployments", resource: "arn:aws:ecs:<region>:<account>:service-deployment/<cluster>/<service>/*", why: "status, times, rollback start and reason" },
  { action: "ecs:DescribeServiceRevisions", resource: "arn:aws:ecs:<region>:<account>:service-revision/<cluster>/<service>/*", why: "task definition and image digest deployed" },
  { action: "codepipeline:ListPipelineExecutions", resource: "arn:aws:codepipeline:<region>:<account>:friday", why: "the pipeline's runs: commit, trigger, rollback runs" },
  { action: "codepipeline:ListActionExecutions", resource: "arn:aws:codepipeline:<region>:<account>:friday", why: "per-stage times, commit author date, image built" },
  { action: "appconfig:ListDeployments", resource: "arn:aws:appconfig:<region>:<account>:application/<application-id>/environment/<environment-id>", why: "flag deployments in the window" },
  { action: "appconfig:GetDeployment", resource: "arn:aws:appconfig:<region>:<account>:application/<application-id>/environment/<environment-id>/deployment/*", why: "which flag changed, from what to what (the description)" },
];

/** Checks --days: a whole number of days ECS still has history for. */
export function validateDays(raw: string | number | undefined): number {
  const text = String(raw ?? "").trim();
  const days = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(Number.isInteger(days) && days >= 1 && days <= ECS_HISTORY_DAYS)) {
    throw new DeployError(
      `--days must be a whole number of days from 1 to ${ECS_HISTORY_DAYS} (got "${raw}"): the window ends now and reaches back that many days, ` +
        `and ECS keeps ${ECS_HISTORY_DAYS} days of service deployment history. For example: --days 30.`,
    );
  }
  return days;
}

export function validateMetricsOptions(options: MetricsOptions): { stack: StackName; days: number; pipelineName: string } {
  const stack = validateStackName(options.stack);
  const days = validateDays(options.days ?? 30);
  return { stack, days, pipelineName: options.pipelineName ?? PIPELINE_NAME };
}

/** Reads the window's history and computes the report. Fails with the fix when there is no history at all. */
export async function collectMetrics(deps: MetricsDeps, raw: MetricsOptions): Promise<MetricsReport> {
  const { stack, days, pipelineName } = validateMetricsOptions(raw);
  const to = new Date(deps.clock.now());
  const from = new Date(to.getTime() - days * 86_400_000);
  const progress = new HistoryProgress(deps.clock, deps.log);
  const warnings: string[] = [];

  const ids = await loadStackIdentifiers(deps.ssm, stack);
  progress.note(`reading ${stack}'s history since ${from.toISOString()} (service ${ids.serviceName}, pipeline ${pipelineName})`);
  const deployments = await readServiceDeployments(deps.ecs, ids, from, progress);

  const runs = await readPipelineRuns(deps.codepipeline, pipelineName, from, progress);
  if (!runs) {
    warnings.push(
      `No pipeline "${pipelineName}" in this account and region: lead time and per-stage times are unknown. ` +
        "The prod stack creates it (a new account starts with `npx friday bootstrap`, docs/infra-pipeline.md); if it lives in another region, pass --region.",
    );
  }

  let flags: FlagRelease[] | undefined;
  try {
    flags = await readFlagReleases(deps.appconfig, await resolveFlagsResources(deps.ssm, stack), from, progress);
  } catch (error) {
    // Flags are optional for the figures: say why they are missing and carry on without kills.
    if (!(error instanceof FlagsError)) throw error;
    warnings.push(`Flag history not read: ${error.message} Flag releases and kills are left out.`);
  }

  if (deployments.length === 0 && (runs ?? []).length === 0 && (flags ?? []).length === 0) {
    throw new DeployError(
      `No delivery history for ${stack} in the last ${days} day(s): ECS lists no deployments of ${ids.serviceName}, ` +
        `the pipeline "${pipelineName}" ${runs ? "no runs" : "does not exist here"}, and AppConfig no flag deployments. ` +
        `Widen the window (--days ${ECS_HISTORY_DAYS}), check that --region / AWS_PROFILE point at ${stack}'s account, or deploy first (merge to main).`,
    );
  }

  const report = computeMetrics({ stack, window: { days, from, to }, deployments, runs, flags, warnings });
  deps.log(progress.summary());
  return report;
}
