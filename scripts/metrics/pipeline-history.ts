import {
  ActionExecutionDetail,
  CodePipelineClient,
  ListActionExecutionsCommand,
  ListPipelineExecutionsCommand,
  PipelineExecutionSummary,
} from "@aws-sdk/client-codepipeline";
import { awsCall, DeployError } from "../deploy/aws";
import type { StackName } from "../../infra/naming";
import { HistoryProgress, mapWithLimit, READ_CONCURRENCY } from "./progress";

/**
 * The delivery pipeline's runs in the window: which commit each carried (and when it was authored),
 * the image digest it built, and when each stage started and ended. Read with ListPipelineExecutions
 * (newest first, paged) and one ListActionExecutions per run, filtered to that run (a few at once).
 */

/**
 * Stage and action names as components/pipeline.ts declares them (STAGES, NAMESPACES). Copied, not
 * imported, so the CLI does not load the Pulumi program; a test checks they still agree.
 */
export const PIPELINE_NAMES = {
  sourceAction: "Source",
  buildAction: "BuildImage",
  deployAction: "Deploy",
  /** The stage whose Deploy action deploys to each environment. */
  deployStage: { staging: "Staging", prod: "Prod" } as Record<StackName, string>,
  /** Output variable of the CodeStarSourceConnection action: when the commit was authored (ISO 8601). */
  authorDateVariable: "AuthorDate",
  commitIdVariable: "CommitId",
  /** CodeBuild exported variable of the build action (pipeline/buildspecs/build.yml). */
  imageUriVariable: "IMAGE_URI",
} as const;

/** One stage of one run: from its first action's start to its last action's last update. */
export interface StageTiming {
  readonly stage: string;
  readonly status: string;
  readonly startedAt?: Date;
  readonly endedAt?: Date;
}

/** One pipeline run, flattened to what the figures need. */
export interface PipelineRun {
  readonly executionId: string;
  /** InProgress, Succeeded, Failed, Stopped, Stopping, Superseded, Cancelled. */
  readonly status: string;
  /** STANDARD, or ROLLBACK for a stage rollback CodePipeline ran (onFailure / onSuccess conditions, or by hand). */
  readonly executionType: string;
  /** For a ROLLBACK run: the earlier run whose artifacts it deployed again. */
  readonly rollbackTargetExecutionId?: string;
  /** What started it: e.g. "CloudWatchEvent"/"Webhook"/"StartPipelineExecution", with its detail. */
  readonly trigger?: string;
  readonly startedAt?: Date;
  readonly lastUpdatedAt?: Date;
  readonly commitId?: string;
  readonly commitSummary?: string;
  /** When the commit was authored: the source action's AuthorDate output variable. */
  readonly commitAuthoredAt?: Date;
  /** The image the run deployed, and its digest (sha256:…). */
  readonly imageUri?: string;
  readonly imageDigest?: string;
  readonly stages: StageTiming[];
  /** When the Deploy action of each environment's stage succeeded. */
  readonly deployedAt: Partial<Record<StackName, Date>>;
}

const SOURCE_LIST = "codepipeline:ListPipelineExecutions";
const SOURCE_ACTIONS = "codepipeline:ListActionExecutions";

/**
 * The runs of `pipelineName` that started since `since`, newest first; undefined when there is no
 * such pipeline (the prod stack was never brought up in this account and region).
 */
export async function readPipelineRuns(
  codepipeline: CodePipelineClient,
  pipelineName: string,
  since: Date,
  progress: HistoryProgress,
): Promise<PipelineRun[] | undefined> {
  const summaries: PipelineExecutionSummary[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const response = await awsCall(SOURCE_LIST, () =>
        codepipeline.send(new ListPipelineExecutionsCommand({ pipelineName, maxResults: 100, ...(nextToken ? { nextToken } : {}) })),
      );
      const page = response.pipelineExecutionSummaries ?? [];
      const inWindow = page.filter((s) => !s.startTime || s.startTime >= since);
      summaries.push(...inWindow);
      progress.page(SOURCE_LIST, page.length);
      // Newest first: once a page reaches past the window, older pages are all outside it.
      nextToken = inWindow.length < page.length ? undefined : response.nextToken;
    } while (nextToken);
  } catch (error) {
    const cause = error instanceof DeployError ? error.details : error;
    if ((cause as { name?: string } | undefined)?.name === "PipelineNotFoundException") return undefined;
    throw error;
  }

  const withId = summaries.filter((s) => s.pipelineExecutionId);
  return mapWithLimit(withId, READ_CONCURRENCY, async (summary) =>
    toRun(summary, await readActions(codepipeline, pipelineName, summary.pipelineExecutionId as string, progress)),
  );
}

async function readActions(codepipeline: CodePipelineClient, pipelineName: string, executionId: string, progress: HistoryProgress): Promise<ActionExecutionDetail[]> {
  const actions: ActionExecutionDetail[] = [];
  let nextToken: string | undefined;
  do {
    const response = await awsCall(SOURCE_ACTIONS, () =>
      codepipeline.send(
        new ListActionExecutionsCommand({ pipelineName, filter: { pipelineExecutionId: executionId }, maxResults: 100, ...(nextToken ? { nextToken } : {}) }),
      ),
    );
    const page = response.actionExecutionDetails ?? [];
    actions.push(...page);
    progress.page(SOURCE_ACTIONS, page.length);
    nextToken = response.nextToken;
  } while (nextToken);
  return actions;
}

/** The digest in `<repository>@sha256:<hex>`. */
export function digestOf(imageUri: string | undefined): string | undefined {
  return imageUri ? /@(sha256:[a-f0-9]{64})$/.exec(imageUri)?.[1] : undefined;
}

/** The IMAGE_URI a CodeBuild action was handed, from its resolved EnvironmentVariables (a JSON list). */
function imageUriHandedTo(action: ActionExecutionDetail | undefined): string | undefined {
  const raw = action?.input?.resolvedConfiguration?.EnvironmentVariables;
  if (!raw) return undefined;
  try {
    const variables = JSON.parse(raw) as { name?: string; value?: string }[];
    return variables.find((v) => v.name === PIPELINE_NAMES.imageUriVariable)?.value;
  } catch {
    return undefined;
  }
}

function parseDate(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function toRun(summary: PipelineExecutionSummary, actions: ActionExecutionDetail[]): PipelineRun {
  const action = (stage: string | undefined, name: string) => actions.find((a) => (stage === undefined || a.stageName === stage) && a.actionName === name);
  const source = action(undefined, PIPELINE_NAMES.sourceAction);
  const build = action(undefined, PIPELINE_NAMES.buildAction);
  const deploys = Object.entries(PIPELINE_NAMES.deployStage).map(([stack, stage]) => [stack as StackName, action(stage, PIPELINE_NAMES.deployAction)] as const);
  // A ROLLBACK run has no build: its deploy actions carry the image it deployed again.
  const imageUri = build?.output?.outputVariables?.[PIPELINE_NAMES.imageUriVariable] ?? deploys.map(([, a]) => imageUriHandedTo(a)).find((u) => u);
  const revision = summary.sourceRevisions?.find((r) => r.actionName === PIPELINE_NAMES.sourceAction) ?? summary.sourceRevisions?.[0];

  const stageNames = [...new Set(actions.map((a) => a.stageName).filter((s): s is string => !!s))];
  const stages = stageNames
    .map((stage) => {
      const inStage = actions.filter((a) => a.stageName === stage);
      const starts = inStage.map((a) => a.startTime?.getTime()).filter((t): t is number => t !== undefined);
      const ends = inStage.map((a) => a.lastUpdateTime?.getTime()).filter((t): t is number => t !== undefined);
      const statuses = inStage.map((a) => a.status ?? "?");
      const status = statuses.includes("Failed") ? "Failed" : statuses.includes("InProgress") ? "InProgress" : statuses.every((s) => s === "Succeeded") ? "Succeeded" : statuses[0];
      return {
        stage,
        status,
        startedAt: starts.length ? new Date(Math.min(...starts)) : undefined,
        endedAt: ends.length && status !== "InProgress" ? new Date(Math.max(...ends)) : undefined,
      };
    })
    .sort((a, b) => (a.startedAt?.getTime() ?? 0) - (b.startedAt?.getTime() ?? 0));

  const deployedAt: Partial<Record<StackName, Date>> = {};
  for (const [stack, deploy] of deploys) if (deploy?.status === "Succeeded" && deploy.lastUpdateTime) deployedAt[stack] = deploy.lastUpdateTime;

  return {
    executionId: summary.pipelineExecutionId as string,
    status: summary.status ?? "Unknown",
    executionType: summary.executionType ?? "STANDARD",
    rollbackTargetExecutionId: summary.rollbackMetadata?.rollbackTargetPipelineExecutionId,
    trigger: summary.trigger?.triggerType ? `${summary.trigger.triggerType}${summary.trigger.triggerDetail ? ` (${summary.trigger.triggerDetail})` : ""}` : undefined,
    startedAt: summary.startTime,
    lastUpdatedAt: summary.lastUpdateTime,
    commitId: revision?.revisionId ?? source?.output?.outputVariables?.[PIPELINE_NAMES.commitIdVariable],
    commitSummary: revision?.revisionSummary,
    commitAuthoredAt: parseDate(source?.output?.outputVariables?.[PIPELINE_NAMES.authorDateVariable]),
    imageUri,
    imageDigest: digestOf(imageUri),
    stages,
    deployedAt,
  };
}
