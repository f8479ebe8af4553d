import { GetParametersCommand, SSMClient } from "@aws-sdk/client-ssm";
import { parameterName, StackParameterKey } from "../../infra/stack-parameters";
import { awsCall, DeployError } from "./aws";
import { APPLY_STACK_HINT } from "../lib/apply-stack";
import { STACKS, type StackName } from "../../infra/naming";

/** Checks a --stack value before anything talks to AWS. */
export function validateStackName(stack: string): StackName {
  if (!(STACKS as readonly string[]).includes(stack)) {
    throw new DeployError(`--stack must be one of ${STACKS.join(", ")} (got "${stack}").`);
  }
  return stack as StackName;
}

/** What the deploy commands need to find a stack's service (published by the stack in SSM). */
export interface StackIdentifiers {
  stack: string;
  clusterName: string;
  serviceName: string;
  serviceArn: string;
  /** Family the deploy step registers revisions in. */
  taskDefinitionFamily: string;
  /** The template revision the stack last published: every deploy starts from it. */
  taskDefinitionTemplateArn: string;
  /** The app container whose image a deploy swaps. */
  containerName: string;
  /** Alarms blue/green deploys roll back on (empty when the stack publishes none). */
  rollbackAlarmNames: string[];
}

const REQUIRED: readonly StackParameterKey[] = [
  "clusterName",
  "serviceName",
  "serviceArn",
  "taskDefinitionFamily",
  "taskDefinitionTemplateArn",
  "containerName",
  "rollbackAlarmNames",
];

/**
 * Reads a stack's identifiers from SSM (/friday/<stack>/...) in one GetParameters call. A stack that
 * was never brought up, or one whose parameters are incomplete, fails with the fix (APPLY_STACK_HINT).
 */
export async function loadStackIdentifiers(ssm: SSMClient, stack: string): Promise<StackIdentifiers> {
  const names = REQUIRED.map((key) => parameterName(stack, key));
  let response;
  try {
    response = await awsCall("ssm:GetParameters", () => ssm.send(new GetParametersCommand({ Names: names })));
  } catch (error) {
    const cause = error instanceof DeployError ? error.details : error;
    if ((cause as { name?: string } | undefined)?.name === "ParameterNotFound") throw noStack(stack);
    throw error;
  }
  const values = new Map((response.Parameters ?? []).map((p) => [p.Name ?? "", p.Value ?? ""]));
  const missing = names.filter((n) => !values.has(n));
  if (missing.length === names.length) throw noStack(stack);
  if (missing.length > 0) {
    throw new DeployError(
      `Stack "${stack}" is missing SSM parameter(s) ${missing.join(", ")}: its last infrastructure update did not finish or predates them. ` +
        `To fix it, ${APPLY_STACK_HINT}, then try again.`,
    );
  }
  const get = (key: StackParameterKey) => values.get(parameterName(stack, key)) as string;
  return {
    stack,
    clusterName: get("clusterName"),
    serviceName: get("serviceName"),
    serviceArn: get("serviceArn"),
    taskDefinitionFamily: get("taskDefinitionFamily"),
    taskDefinitionTemplateArn: get("taskDefinitionTemplateArn"),
    containerName: get("containerName"),
    rollbackAlarmNames: get("rollbackAlarmNames")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0 && s !== "none"),
  };
}

function noStack(stack: string): DeployError {
  return new DeployError(
    `No stack "${stack}" in this account and region: its SSM parameters under /friday/${stack}/ do not exist. ` +
      `If it should exist, check --region / AWS_PROFILE; otherwise ${APPLY_STACK_HINT}.`,
  );
}
