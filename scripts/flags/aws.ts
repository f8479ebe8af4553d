import { AppConfigClient } from "@aws-sdk/client-appconfig";
import { GetParametersCommand, SSMClient } from "@aws-sdk/client-ssm";
import { parameterPrefix, stackName } from "../../infra/naming";
import { parameterName, type StackParameterKey } from "../../infra/stack-parameters";
import { awsClientConfig } from "../deploy/aws";
import { APPLY_STACK_HINT } from "../lib/apply-stack";

/** The AWS clients `friday flags` uses (tests pass aws-sdk-client-mock clients). */
export interface FlagsClients {
  readonly appconfig: AppConfigClient;
  readonly ssm: SSMClient;
}

export function createFlagsClients(region?: string): FlagsClients {
  // A flag change follows its deployment for up to an hour: adaptive retries ride out throttling.
  const config = awsClientConfig(region);
  return { appconfig: new AppConfigClient(config), ssm: new SSMClient(config) };
}

/** An error for people: what is wrong and how to fix it (the CLI prints only the message). */
export class FlagsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FlagsError";
  }
}

/** The AppConfig ids of one stack's flags, as the FeatureFlags component published them. */
export interface FlagsResources {
  readonly stack: string;
  readonly applicationId: string;
  readonly environmentId: string;
  readonly profileId: string;
  readonly gradualStrategyId: string;
  readonly immediateStrategyId: string;
}

const KEYS: Record<Exclude<keyof FlagsResources, "stack">, StackParameterKey> = {
  applicationId: "appConfigApplicationId",
  environmentId: "appConfigEnvironmentId",
  profileId: "appConfigProfileId",
  gradualStrategyId: "appConfigGradualStrategyId",
  immediateStrategyId: "appConfigImmediateStrategyId",
};

/** The IAM actions `friday flags` needs, for the missing-permission message. */
export const REQUIRED_ACTIONS = [
  "ssm:GetParameters",
  "appconfig:ListDeployments",
  "appconfig:GetDeployment",
  "appconfig:GetHostedConfigurationVersion",
  "appconfig:CreateHostedConfigurationVersion",
  "appconfig:StartDeployment",
  "appconfig:StopDeployment",
];

/** Turns AWS's access-denied errors into one message naming what is missing and the fix. */
export function explainAwsError(error: unknown, stack: string, doing: string): Error {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  if (e?.name === "AccessDeniedException" || e?.name === "AccessDenied" || e?.name === "UnauthorizedException" || e?.$metadata?.httpStatusCode === 403) {
    return new FlagsError(
      `Missing permission while ${doing} on ${stack}: ${e.message ?? e.name}. ` +
        `friday flags needs ${REQUIRED_ACTIONS.join(", ")} on the ${stackName(stack)} AppConfig application and ${parameterPrefix(stack)}/* parameters. Nothing was changed by this step.`,
    );
  }
  if (e?.name === "CredentialsProviderError" || /Could not load credentials/i.test(e?.message ?? "")) {
    return new FlagsError(`No AWS credentials while ${doing} on ${stack}: set AWS_PROFILE or AWS credentials, and --region (or AWS_REGION).`);
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** Reads the stack's AppConfig ids from SSM (/friday/<stack>/appconfig-…). */
export async function resolveFlagsResources(ssm: SSMClient, stack: string): Promise<FlagsResources> {
  const names = Object.fromEntries(Object.entries(KEYS).map(([field, key]) => [field, parameterName(stack, key)]));
  let found: Record<string, string>;
  try {
    const out = await ssm.send(new GetParametersCommand({ Names: Object.values(names) }));
    found = Object.fromEntries((out.Parameters ?? []).map((p) => [p.Name!, p.Value!]));
  } catch (error) {
    throw explainAwsError(error, stack, "reading the stack's parameters");
  }
  const missing = Object.values(names).filter((name) => !found[name]);
  if (missing.length > 0) {
    throw new FlagsError(
      `Stack "${stack}" has no ${missing.join(", ")}: its feature flags are not provisioned, or --region points at another region. If they should be there, ${APPLY_STACK_HINT}.`,
    );
  }
  return { stack, ...(Object.fromEntries(Object.entries(names).map(([field, name]) => [field, found[name]])) as Omit<FlagsResources, "stack">) };
}
