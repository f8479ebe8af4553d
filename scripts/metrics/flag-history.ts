import { AppConfigClient, DeploymentSummary, GetDeploymentCommand, ListDeploymentsCommand } from "@aws-sdk/client-appconfig";
import { FLAGS_PROFILE_NAME } from "../../infra/flags-appconfig";
import { awsCall } from "../deploy/aws";
import { parseFlagDescription } from "../flags/description";
import { FlagsResources } from "../flags/aws";
import { HistoryProgress, mapWithLimit, READ_CONCURRENCY } from "./progress";

/**
 * A stack's flag releases in the window: the AppConfig deployments of its feature-flag profile,
 * each read back into "which flag, from what, to what" from the description `friday flags` gave it
 * (scripts/flags/description.ts), and placed on the release ladder team → N% → 100% → kill.
 */

/** Where a flag change puts the flag on the release ladder. */
export type FlagStep = "team" | "percent" | "everyone" | "off" | "kill" | "sync" | "other";

export interface FlagRelease {
  readonly deploymentNumber: number;
  /** AppConfig state: COMPLETE, ROLLED_BACK (an alarm or a stop undid it), REVERTED, or still running. */
  readonly state: string;
  readonly startedAt?: Date;
  readonly completedAt?: Date;
  /** The flag changed; undefined for a sync or a deployment friday did not start. */
  readonly flag?: string;
  /** The `friday flags` subcommand that started it (on, off, kill, restore, rollout, team, sync). */
  readonly change?: string;
  readonly step: FlagStep;
  /** The percentage of users for step "percent". */
  readonly percent?: number;
  readonly from?: string;
  readonly to?: string;
  readonly description?: string;
}

const SOURCE_LIST = "appconfig:ListDeployments";
const SOURCE_GET = "appconfig:GetDeployment";

/** Where `to` (as describeState() words it) sits on the ladder; a kill is a kill whatever it keeps for `restore`. */
export function flagStep(kind: string, to: string): { step: FlagStep; percent?: number } {
  if (kind === "kill") return { step: "kill" };
  if (to === "off") return { step: "off" };
  if (to.startsWith("on")) return { step: "everyone" };
  const pct = /(\d+(?:\.\d+)?)% of users/.exec(to);
  if (pct && Number(pct[1]) > 0) return { step: "percent", percent: Number(pct[1]) };
  if (to.startsWith("team")) return { step: "team" };
  return { step: "other" };
}

/**
 * The flag profile's deployments that started since `since`, oldest first. ListDeployments lists an
 * environment's deployments newest first (descending deployment number), so paging stops at the
 * first page that reaches past the window. Each one in the window costs a GetDeployment (a few at
 * once): only that call returns the description.
 */
export async function readFlagReleases(appconfig: AppConfigClient, resources: FlagsResources, since: Date, progress: HistoryProgress): Promise<FlagRelease[]> {
  const { applicationId, environmentId } = resources;
  const summaries: DeploymentSummary[] = [];
  let nextToken: string | undefined;
  do {
    const response = await awsCall(SOURCE_LIST, () =>
      appconfig.send(new ListDeploymentsCommand({ ApplicationId: applicationId, EnvironmentId: environmentId, MaxResults: 50, ...(nextToken ? { NextToken: nextToken } : {}) })),
    );
    const page = response.Items ?? [];
    const inWindow = page.filter((d) => !d.StartedAt || d.StartedAt >= since);
    summaries.push(...inWindow.filter((d) => d.ConfigurationName === undefined || d.ConfigurationName === FLAGS_PROFILE_NAME));
    progress.page(SOURCE_LIST, page.length);
    nextToken = inWindow.length < page.length ? undefined : response.NextToken;
  } while (nextToken);

  const releases = await mapWithLimit(summaries, READ_CONCURRENCY, async (summary): Promise<FlagRelease> => {
    const deployment = await awsCall(SOURCE_GET, () =>
      appconfig.send(new GetDeploymentCommand({ ApplicationId: applicationId, EnvironmentId: environmentId, DeploymentNumber: summary.DeploymentNumber })),
    );
    progress.page(SOURCE_GET, 1);
    const parsed = parseFlagDescription(deployment.Description);
    const base = {
      deploymentNumber: summary.DeploymentNumber ?? deployment.DeploymentNumber ?? 0,
      state: deployment.State ?? summary.State ?? "UNKNOWN",
      startedAt: deployment.StartedAt ?? summary.StartedAt,
      completedAt: deployment.CompletedAt ?? summary.CompletedAt,
      description: deployment.Description,
    };
    if (!parsed) return { ...base, step: "other" };
    if (parsed.kind === "sync") return { ...base, change: "sync", step: "sync" };
    return { ...base, flag: parsed.flag, change: parsed.kind, from: parsed.from, to: parsed.to, ...flagStep(parsed.kind, parsed.to) };
  });
  return releases.sort((a, b) => a.deploymentNumber - b.deploymentNumber);
}
