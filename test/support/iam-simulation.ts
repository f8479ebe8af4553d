import { runSimulation } from "@cloud-copilot/iam-simulate";
import { ACCOUNT, asList, type GraphRole, type GraphTarget, type PolicyDoc } from "./iam-graph";

/**
 * Runs a real IAM policy evaluator (@cloud-copilot/iam-simulate, whose action, resource-type and
 * condition-key data come from AWS's Service Authorization Reference) over the graph's policies.
 */

/** Keys the caller chooses (request tags, the service a role is passed to…): tried at every value the role's policies name. */
const CALLER_CHOSEN_KEYS = [/^aws:requesttag\//i, /^aws:tagkeys$/i, /^aws:viaawsservice$/i, /^aws:calledvia/i, /^iam:passedtoservice$/i, /^ec2:authorizedservice$/i, /^rds:req-tag\//i, /^kms:viaservice$/i, /^s3:x-amz-server-side-encryption/i];

export type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied" | "NotApplicable";

export interface SimulatedRequest {
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
}

/**
 * One decision over a role's identity policies (and its permissions boundary, when given);
 * "NotApplicable" when the ARN is not a resource type the action takes.
 */
export async function decide(policies: Array<{ name: string; document: PolicyDoc }>, principal: string, request: SimulatedRequest, resourcePolicy?: PolicyDoc, boundary?: PolicyDoc): Promise<Decision> {
  const result = await runSimulation(
    {
      request: { principal, action: request.action, resource: { resource: request.resource, accountId: ACCOUNT }, contextVariables: { "aws:PrincipalArn": principal, "aws:PrincipalAccount": ACCOUNT, ...request.context } },
      identityPolicies: policies.map((p) => ({ name: p.name, policy: p.document })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
      ...(boundary ? { permissionBoundaryPolicies: [{ name: "permissions-boundary", policy: boundary }] } : {}),
    },
    {},
  );
  if (result.resultType === "error") {
    const message = JSON.stringify(result.errors);
    if (/no\.resource\.types|must\.use\.wildcard|does not match|resource.*type/i.test(message)) return "NotApplicable";
    throw new Error(`simulating ${request.action} on ${request.resource}: ${message}`);
  }
  return result.overallResult as Decision;
}

/**
 * Allowed if every resource of a multi-resource request is allowed (AWS authorizes each one). A
 * resource may come with keys of its own (its tags), added to the request's `context`.
 */
export async function decideAll(policies: Array<{ name: string; document: PolicyDoc }>, principal: string, action: string, resources: Array<string | [string, Record<string, string>]>, context: Record<string, string | string[]> = {}, boundary?: PolicyDoc): Promise<Decision> {
  let overall: Decision = "Allowed";
  for (const entry of resources) {
    const [resource, own] = typeof entry === "string" ? [entry, {}] : entry;
    const d = await decide(policies, principal, { action, resource, context: { ...context, ...own } }, undefined, boundary);
    if (d === "ExplicitlyDenied") return d;
    if (d !== "Allowed") overall = d;
  }
  return overall;
}

/** Every action a role's Allow statements name (no wildcards in friday's policies: a `*` in an action fails the test elsewhere). */
export function allowedActions(role: GraphRole): string[] {
  return [...new Set(role.policies.flatMap((p) => p.document.Statement.filter((s) => s.Effect === "Allow").flatMap((s) => asList(s.Action))))].sort();
}

/** The caller-chosen condition values a role's policies name: each is tried, alone, on top of the resource's own context. */
export function callerContexts(role: GraphRole): Array<Record<string, string>> {
  const contexts: Array<Record<string, string>> = [{}];
  for (const statement of role.policies.flatMap((p) => p.document.Statement)) {
    for (const block of Object.values(statement.Condition ?? {})) {
      for (const [key, values] of Object.entries(block)) {
        if (!CALLER_CHOSEN_KEYS.some((k) => k.test(key))) continue;
        for (const value of asList(values)) contexts.push({ [key]: value });
      }
    }
  }
  return contexts;
}

export interface CrossingFinding {
  readonly role: string;
  readonly roleEnvironment: string;
  readonly action: string;
  readonly resource: string;
  readonly resourceEnvironment: string;
  readonly what: string;
}

const serviceOfAction = (action: string) => action.split(":")[0].toLowerCase();
const serviceOfArn = (arn: string) => arn.split(":")[2];
/** IAM actions with a service prefix that differs from the ARNs they act on. */
const ARN_SERVICE: Record<string, string[]> = { codestar_connections: ["codeconnections"], "codestar-connections": ["codeconnections", "codestar-connections"], codeconnections: ["codeconnections", "codestar-connections"], iam: ["iam"] };

/**
 * Every Allowed request of `role` on a target of another environment (`foreign(role, target)` says
 * which targets count), over every action the role's policies allow (or `actions`, for a role whose
 * policy says `*`) and every caller-chosen condition value they name, within the role's boundary.
 */
export async function crossings(role: GraphRole, targets: GraphTarget[], foreign: (role: GraphRole, target: GraphTarget) => boolean, actions?: string[]): Promise<CrossingFinding[]> {
  const findings: CrossingFinding[] = [];
  const contexts = callerContexts(role);
  for (const action of actions ?? allowedActions(role)) {
    const services = ARN_SERVICE[serviceOfAction(action)] ?? [serviceOfAction(action)];
    for (const target of targets) {
      if (!foreign(role, target) || !services.includes(serviceOfArn(target.arn))) continue;
      for (const context of contexts) {
        const decision = await decide(role.policies, role.arn, { action, resource: target.arn, context: { ...target.context, ...context } }, target.resourcePolicy, role.permissionsBoundary);
        if (decision === "Allowed") {
          findings.push({ role: role.resourceName, roleEnvironment: role.environment, action, resource: target.arn, resourceEnvironment: target.environment, what: target.what });
          break;
        }
      }
    }
  }
  return findings;
}
