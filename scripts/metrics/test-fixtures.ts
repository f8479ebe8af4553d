import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AppConfigClient, GetDeploymentCommand, GetDeploymentCommandOutput, ListDeploymentsCommand, ListDeploymentsCommandOutput } from "@aws-sdk/client-appconfig";
import {
  CodePipelineClient,
  ListActionExecutionsCommand,
  ListActionExecutionsCommandOutput,
  ListPipelineExecutionsCommand,
  ListPipelineExecutionsCommandOutput,
} from "@aws-sdk/client-codepipeline";
import {
  DescribeServiceDeploymentsCommand,
  DescribeServiceDeploymentsCommandOutput,
  DescribeServiceRevisionsCommand,
  DescribeServiceRevisionsCommandOutput,
  ECSClient,
  ListServiceDeploymentsCommand,
  ListServiceDeploymentsCommandOutput,
} from "@aws-sdk/client-ecs";
import { GetParametersCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { parameterName } from "../../infra/stack-parameters";
import { ids } from "../deploy/test-fixtures";

/**
 * Recorded history for the metrics tests: fixtures/prod-history.json holds SDK outputs exactly as
 * the clients return them (dates as ISO strings in the file, revived into Date objects here, as the
 * SDK's deserializers do). `mockMetricsClients()` answers each call from it, honouring pagination
 * tokens and filters, so the code pages through it the way it would through AWS.
 */

type Output<T> = Omit<T, "$metadata">;

export interface RecordedHistory {
  "ecs:ListServiceDeployments": Output<ListServiceDeploymentsCommandOutput>[];
  "ecs:DescribeServiceDeployments": Output<DescribeServiceDeploymentsCommandOutput>;
  "ecs:DescribeServiceRevisions": Output<DescribeServiceRevisionsCommandOutput>;
  "codepipeline:ListPipelineExecutions": Output<ListPipelineExecutionsCommandOutput>[];
  "codepipeline:ListActionExecutions": Record<string, Output<ListActionExecutionsCommandOutput>>;
  "appconfig:ListDeployments": Output<ListDeploymentsCommandOutput>[];
  "appconfig:GetDeployment": Record<string, Output<GetDeploymentCommandOutput>>;
}

const DATE_KEYS = new Set([
  "createdAt",
  "startedAt",
  "finishedAt",
  "stoppedAt",
  "updatedAt",
  "expiresAt",
  "startTime",
  "lastUpdateTime",
  "StartedAt",
  "CompletedAt",
  "OccurredAt",
]);

/** The recorded prod history (the window the tests use ends at NOW). */
export function loadHistory(name = "prod-history"): RecordedHistory {
  const text = readFileSync(join(__dirname, "fixtures", `${name}.json`), "utf8");
  return JSON.parse(text, (key, value) => (DATE_KEYS.has(key) && typeof value === "string" ? new Date(value) : value)) as RecordedHistory;
}

/** The clock the recorded history was read at. */
export const NOW = Date.parse("2026-06-30T12:00:00Z");

export const APPCONFIG_IDS = { applicationId: "app1234", environmentId: "env5678", profileId: "prof9012", gradualStrategyId: "grd0001", immediateStrategyId: "imm0001" };

/** Every parameter a stack publishes that metrics reads, by SSM name. */
export function stackParameters(stack: string): Record<string, string> {
  const i = ids(stack);
  return {
    [parameterName(stack, "clusterName")]: i.clusterName,
    [parameterName(stack, "serviceName")]: i.serviceName,
    [parameterName(stack, "serviceArn")]: i.serviceArn,
    [parameterName(stack, "taskDefinitionFamily")]: i.taskDefinitionFamily,
    [parameterName(stack, "taskDefinitionTemplateArn")]: i.taskDefinitionTemplateArn,
    [parameterName(stack, "containerName")]: i.containerName,
    [parameterName(stack, "rollbackAlarmNames")]: i.rollbackAlarmNames.join(","),
    [parameterName(stack, "appConfigApplicationId")]: APPCONFIG_IDS.applicationId,
    [parameterName(stack, "appConfigEnvironmentId")]: APPCONFIG_IDS.environmentId,
    [parameterName(stack, "appConfigProfileId")]: APPCONFIG_IDS.profileId,
    [parameterName(stack, "appConfigGradualStrategyId")]: APPCONFIG_IDS.gradualStrategyId,
    [parameterName(stack, "appConfigImmediateStrategyId")]: APPCONFIG_IDS.immediateStrategyId,
  };
}

/** Pages by token: the first call gets page 0, a call with page N's token gets page N+1. */
function paged<T extends object>(pages: T[], tokenOf: (page: T) => string | undefined) {
  return (token: string | undefined): T => {
    if (!token) return pages[0];
    const index = pages.findIndex((p) => tokenOf(p) === token);
    if (index < 0 || index + 1 >= pages.length) throw new Error(`test fixture: no page after token ${token}`);
    return pages[index + 1];
  };
}

export function mockMetricsClients() {
  const mocks = {
    ecs: mockClient(ECSClient),
    ssm: mockClient(SSMClient),
    codepipeline: mockClient(CodePipelineClient),
    appconfig: mockClient(AppConfigClient),
  };
  beforeEach(() => {
    for (const m of Object.values(mocks)) m.reset();
  });
  return mocks;
}

/** Answers every call the metrics command makes from `history`, for a stack published in SSM as `stack`. */
export function answerFrom(mocks: ReturnType<typeof mockMetricsClients>, history: RecordedHistory, stack = "prod"): void {
  const params = stackParameters(stack);
  mocks.ssm.on(GetParametersCommand).callsFake((input: { Names: string[] }) => ({
    Parameters: input.Names.filter((n) => n in params).map((Name) => ({ Name, Value: params[Name], Type: "String" })),
    InvalidParameters: input.Names.filter((n) => !(n in params)),
  }));

  const ecsPage = paged(history["ecs:ListServiceDeployments"], (p) => p.nextToken);
  mocks.ecs.on(ListServiceDeploymentsCommand).callsFake((input) => ecsPage(input.nextToken));
  mocks.ecs.on(DescribeServiceDeploymentsCommand).callsFake((input: { serviceDeploymentArns: string[] }) => ({
    serviceDeployments: (history["ecs:DescribeServiceDeployments"].serviceDeployments ?? []).filter((d) => input.serviceDeploymentArns.includes(d.serviceDeploymentArn!)),
    failures: [],
  }));
  mocks.ecs.on(DescribeServiceRevisionsCommand).callsFake((input: { serviceRevisionArns: string[] }) => ({
    serviceRevisions: (history["ecs:DescribeServiceRevisions"].serviceRevisions ?? []).filter((r) => input.serviceRevisionArns.includes(r.serviceRevisionArn!)),
    failures: [],
  }));

  const cpPage = paged(history["codepipeline:ListPipelineExecutions"], (p) => p.nextToken);
  mocks.codepipeline.on(ListPipelineExecutionsCommand).callsFake((input) => cpPage(input.nextToken));
  mocks.codepipeline.on(ListActionExecutionsCommand).callsFake((input) => {
    const id = input.filter?.pipelineExecutionId;
    const found = id ? history["codepipeline:ListActionExecutions"][id] : undefined;
    if (!found) throw new Error(`test fixture: no action executions recorded for ${id}`);
    return found;
  });

  const acPage = paged(history["appconfig:ListDeployments"], (p) => p.NextToken);
  mocks.appconfig.on(ListDeploymentsCommand).callsFake((input) => acPage(input.NextToken));
  mocks.appconfig.on(GetDeploymentCommand).callsFake((input) => {
    const found = history["appconfig:GetDeployment"][String(input.DeploymentNumber)];
    if (!found) throw Object.assign(new Error(`Deployment ${input.DeploymentNumber} not found`), { name: "ResourceNotFoundException" });
    return found;
  });
}
