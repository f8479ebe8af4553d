/**
 * The one place that builds friday's AWS names from a stack name. Components (which create the
 * resources), IAM policies (which scope to name patterns) and scripts (which find resources by
 * name) all import these, so a rename cannot leave a policy or a command pointing at the old name.
 * No Pulumi or AWS SDK imports: the bundled CLI and the Lambdas may import it too.
 */

/** The project's name (Pulumi.yaml): every AWS name friday makes starts with it. */
export const PROJECT_NAME = "friday";

/** The stacks friday composes. */
export const STACKS = ["staging", "prod"] as const;
export type StackName = (typeof STACKS)[number];

/** `friday-<stack>`: the ECS cluster and service, the alarm prefix, the AppConfig application, logical names. */
export function stackName(stack: string): string {
  return `${PROJECT_NAME}-${stack}`;
}

/** `friday-<stack>-`: everything a stack creates starts with it (IAM scopes a stack's resources by it). */
export function stackResourcePrefix(stack: string): string {
  return `${stackName(stack)}-`;
}

/** `friday-<stack>-db`: the stack's RDS instance identifier (scripts find it by this name). */
export function databaseIdentifier(stack: string): string {
  return `${stackResourcePrefix(stack)}db`;
}

/** `/friday/<stack>`: the SSM path all of a stack's published identifiers live under (no trailing slash). */
export function parameterPrefix(stack: string): string {
  return `/${PROJECT_NAME}/${stack}`;
}

/** `/friday/<serviceName>/app`: the app's CloudWatch log group (the service and its sidecars write to it). */
export function appLogGroupName(serviceName: string): string {
  return `/${PROJECT_NAME}/${serviceName}/app`;
}

/** Temporary resources of staging-refresh runs start with this (`friday-staging-refresh-`). */
export function refreshResourcePrefix(stack: string): string {
  return `${stackResourcePrefix(stack)}refresh-`;
}

/**
 * The instance a refresh run restores and swaps in is `friday-<stack>-refresh-<runId>-new`; this
 * matches any run's (IAM grants on the database secret cover it before it is renamed).
 */
export function refreshReplacementPattern(stack: string): string {
  return `${refreshResourcePrefix(stack)}*-new`;
}

/** `friday-<stack>-staging-refresh`: the refresh job's task-definition family and the prefix of its resources. */
export function refreshTaskFamily(stack: string): string {
  return `${stackResourcePrefix(stack)}staging-refresh`;
}

/** `/friday/<stack>/staging-refresh`: the refresh job's log group and SSM sub-path. */
export function refreshPath(stack: string): string {
  return `${parameterPrefix(stack)}/staging-refresh`;
}

/**
 * The delivery pipeline the prod stack creates (one per account and region: it deploys to staging
 * and to prod). `friday metrics` reads its execution history by this name.
 */
export const PIPELINE_NAME = PROJECT_NAME;

/**
 * `friday-<stack>-boundary`: the permissions boundary every role of the stack carries. `friday
 * bootstrap` creates it (an administrator's credentials), never the program: the infra roles that run
 * `pulumi up` must not be able to edit the boundary that caps the roles they create.
 */
export function permissionsBoundaryName(stack: string): string {
  return `${stackResourcePrefix(stack)}boundary`;
}

/** The boundary's ARN (a customer-managed policy at the path `/`). */
export function permissionsBoundaryArn(partition: string, account: string, stack: string): string {
  return `arn:${partition}:iam::${account}:policy/${permissionsBoundaryName(stack)}`;
}
