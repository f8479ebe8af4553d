import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { ECSClient } from "@aws-sdk/client-ecs";
import { SSMClient } from "@aws-sdk/client-ssm";

/**
 * AWS plumbing shared by deploy, rollback, status and gate: client construction with retries
 * configured, and turning AWS errors into one clear message that names what to do.
 */

/** The error every deploy command fails with: a message for a human, no stack trace needed. */
export class DeployError extends Error {
  constructor(message: string, readonly details?: unknown) {
    super(message);
    this.name = "DeployError";
  }
}

/** Attempts per AWS call (first try + retries) before a throttled or transient error surfaces. */
export const AWS_MAX_ATTEMPTS = 8;

/**
 * The client configuration every deploy command uses. "adaptive" retries throttling errors with
 * exponential backoff and also slows the client's own sending rate while AWS throttles it, which
 * matters for the polling loops that follow a deployment for many minutes.
 */
export function awsClientConfig(region?: string): { region?: string; maxAttempts: number; retryMode: "adaptive" } {
  return { ...(region ? { region } : {}), maxAttempts: AWS_MAX_ATTEMPTS, retryMode: "adaptive" };
}

/** The clients the deploy commands need. Tests construct these with aws-sdk-client-mock. */
export interface DeployClients {
  ecs: ECSClient;
  ssm: SSMClient;
  cloudwatch: CloudWatchClient;
}

export function createDeployClients(region?: string): DeployClients {
  const config = awsClientConfig(region);
  return { ecs: new ECSClient(config), ssm: new SSMClient(config), cloudwatch: new CloudWatchClient(config) };
}

const THROTTLING_NAMES = new Set([
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
]);

function errorName(error: unknown): string {
  if (error && typeof error === "object") {
    const e = error as { name?: unknown; Code?: unknown; code?: unknown };
    for (const v of [e.name, e.Code, e.code]) if (typeof v === "string" && v !== "Error") return v;
  }
  return "";
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function isThrottling(error: unknown): boolean {
  if (THROTTLING_NAMES.has(errorName(error))) return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return status === 429;
}

export function isAccessDenied(error: unknown): boolean {
  const name = errorName(error);
  return (
    name === "AccessDeniedException" ||
    name === "AccessDenied" ||
    name === "UnauthorizedOperation" ||
    /not authorized to perform/i.test(errorMessage(error))
  );
}

/**
 * The role behind a denial, from AWS's message ("User: arn:aws:sts::1:assumed-role/Deploy/s is
 * not authorized to perform: ecs:UpdateService on resource: ..."): the role name when the caller
 * assumed a role, the principal ARN otherwise, undefined when AWS did not say.
 */
export function principalFromDenial(message: string): string | undefined {
  const principal = /User: (arn:[^\s]+)/.exec(message)?.[1];
  if (!principal) return undefined;
  const role = /:assumed-role\/([^/]+)\//.exec(principal)?.[1];
  return role ? `role ${role} (${principal})` : principal;
}

/** Turns an AWS SDK error from `action` (an IAM action like "ecs:UpdateService") into a DeployError. */
export function explainAwsError(error: unknown, action: string): Error {
  if (error instanceof DeployError) return error;
  const message = errorMessage(error);
  if (isAccessDenied(error)) {
    const who = principalFromDenial(message) ?? "the current AWS credentials (see `aws sts get-caller-identity`)";
    return new DeployError(
      `Permission denied: ${action} is not allowed for ${who}. ` +
        `Grant ${action} on this stack's resources to that role (the pipeline's deploy roles get it from the stack's infrastructure), ` +
        `or run with credentials of a role that has it. Nothing was changed by this call. (AWS said: ${message})`,
      error,
    );
  }
  if (isThrottling(error)) {
    return new DeployError(
      `AWS kept throttling ${action} after ${AWS_MAX_ATTEMPTS} attempts with backoff. ` +
        `Another tool may be calling the same API hard; wait a minute and run the command again. (AWS said: ${message})`,
      error,
    );
  }
  const name = errorName(error);
  if (name === "ExpiredTokenException" || name === "ExpiredToken" || name === "UnrecognizedClientException" || name === "CredentialsProviderError") {
    return new DeployError(
      `No valid AWS credentials for ${action}: ${message}. Log in again (e.g. \`aws sso login\`) or set AWS_PROFILE, then rerun.`,
      error,
    );
  }
  return new DeployError(`${action} failed: ${name ? `${name}: ` : ""}${message}`, error);
}

/** Runs one AWS call, rethrowing its failure as a DeployError that names the IAM action. */
export async function awsCall<T>(action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw explainAwsError(error, action);
  }
}
