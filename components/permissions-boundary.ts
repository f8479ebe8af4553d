/**
 * The permissions boundary of each stack (`friday-<stack>-boundary`), as a pure function of plain
 * strings: `friday bootstrap` creates it with an administrator's credentials, the program puts it on
 * every role it makes (service-trust.ts `permissionsBoundary`), tests evaluate it.
 *
 * Why: the infra roles that run `pulumi up` create roles and write their policies. Without a
 * boundary a change to the program could make a role that holds more than the infra role itself
 * (any IAM action, another stack). With it, a role holds at most what the boundary allows, the
 * infra roles may create or widen a role only when it carries its stack's boundary, and nobody under
 * friday's roles can edit a boundary or take one off a role.
 */

import { parameterPrefix, PROJECT_NAME, stackName, stackResourcePrefix, type StackName } from "../infra/naming";
import {
  BOUNDED_IAM_ACTIONS,
  boundaryGuardDenies,
  databaseSecretsDeny,
  INFRA_SERVICES,
  InfraScope,
  namedResources,
  stateObjectArns,
  withinBoundaryStatement,
} from "./infra-delivery-policies";

/** A statement of the boundary: denies use NotAction to keep the crossings by design open. */
export interface BoundaryStatement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Action?: string[];
  NotAction?: string[];
  Resource?: string[];
  NotResource?: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** Service prefixes friday's roles use at run time beyond those `pulumi up` manages (the pipeline's source action). */
const RUNTIME_ONLY_SERVICES = ["codestar-connections"];

/**
 * What a staging role may do to a prod resource, whoever it is (docs/security.md, crossings by
 * design): pull the release images (staging runs prod's digests), find and snapshot prod's instance
 * (the refresh job). Each role's own policy narrows these further (the refresh job: only into
 * `…-source`, tagged as such).
 */
export const STAGING_INTO_PROD_ACTIONS: readonly string[] = [
  "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
  "rds:CreateDBSnapshot", "rds:DescribeDBInstances", "rds:DescribeDBSnapshots", "ssm:GetParameters",
];

/** The services a boundary allows: every service of INFRA_SERVICES (derived, not listed twice) and the run-time ones. */
export function boundaryServices(): string[] {
  const prefixes = new Set(Object.values(INFRA_SERVICES).flatMap((svc) => [...svc.read, ...svc.write]).map((a) => a.split(":")[0]));
  for (const prefix of RUNTIME_ONLY_SERVICES) prefixes.add(prefix);
  return [...prefixes].sort();
}

/**
 * The other stack's resources by name: any ARN with `friday-<stack>-` in it, its parameters, its
 * log groups under `/friday/`, and its state. (Patterns with a `/` after a leading `*` are spelled
 * out per service: the evaluator the tests use does not match them, and explicit ARNs read better.)
 */
function namedByStack(s: InfraScope, stack: StackName): string[] {
  const arn = (service: string, resource: string) => `arn:${s.partition}:${service}:${s.region}:${s.account}:${resource}`;
  return [
    `arn:${s.partition}:*:*:*:*${stackResourcePrefix(stack)}*`,
    arn("ssm", `parameter${parameterPrefix(stack)}/*`),
    arn("logs", `log-group:${parameterPrefix(stack)}/*`),
    arn("logs", `log-group:/${PROJECT_NAME}/${stackName(stack)}/*`),
    ...stateObjectArns(s, stack),
  ];
}

/**
 * The other stack is off limits. Staging's boundary denies prod to every role that carries it,
 * except the crossings above. Prod's boundary carries prod's program, whose pipeline deploys both
 * stacks by design (`friday-staging-deploy-role`, the gate, the staging infra role): it denies
 * staging to prod's own roles (`friday-prod-…`) but the prod infra role, which reads staging's state
 * and manages the pipeline's staging steps.
 */
function otherStackBoundaryDenies(s: InfraScope, stack: StackName): BoundaryStatement[] {
  const them: StackName = stack === "prod" ? "staging" : "prod";
  const role = (prefix: string) => `arn:${s.partition}:iam::${s.account}:role/${prefix}*`;
  const principal = { ArnLike: { "aws:PrincipalArn": role(stackResourcePrefix("prod")) }, ArnNotLike: { "aws:PrincipalArn": role(`${stackResourcePrefix("prod")}infra-`) } };
  const scoped = (statement: BoundaryStatement): BoundaryStatement => (stack === "prod" ? { ...statement, Condition: { ...principal, ...statement.Condition } } : statement);
  const actions = stack === "prod" ? { Action: ["*"] } : { NotAction: [...STAGING_INTO_PROD_ACTIONS] };
  const statements = [
    { Sid: "DenyOtherStackTagged", Effect: "Deny" as const, ...actions, Resource: ["*"], Condition: { StringEquals: { "aws:ResourceTag/friday:stack": them } } },
    { Sid: "DenyOtherStackNamed", Effect: "Deny" as const, ...actions, Resource: namedByStack(s, them) },
    { ...databaseSecretsDeny(s, them), Sid: "DenyOtherStackDatabaseSecrets" },
  ].map(scoped);
  if (stack === "staging") {
    // Snapshots a staging role makes are staging's (friday-staging-…): prod's data never lands under another name.
    statements.push({
      Sid: "SnapshotsStayStaging",
      Effect: "Deny",
      Action: ["rds:CreateDBSnapshot"],
      NotResource: [`arn:${s.partition}:rds:${s.region}:${s.account}:db:*`, `arn:${s.partition}:rds:${s.region}:${s.account}:snapshot:${stackResourcePrefix("staging")}*`],
    });
  }
  return statements;
}

/** The boundary of one stack's roles: the services friday uses, friday's names in IAM and S3, and the denies above. */
export function permissionsBoundaryPolicy(s: InfraScope, stack: StackName): { Version: "2012-10-17"; Statement: BoundaryStatement[] } {
  const named = namedResources(s, stack);
  const roles = named.filter((arn) => arn.includes(":role/"));
  const stateBucket = s.backend.kind === "s3" ? [`arn:${s.partition}:s3:::${s.backend.bucket}`, `arn:${s.partition}:s3:::${s.backend.bucket}/*`] : [];
  const iam = [...new Set([...INFRA_SERVICES.iam.read, ...INFRA_SERVICES.iam.write])].filter((a) => !BOUNDED_IAM_ACTIONS.includes(a)).sort();
  return {
    Version: "2012-10-17",
    Statement: [
      {
        // A ceiling, not a grant: each role's own policy names its actions and ARNs (and the tests hold
        // those to least privilege). Listing every action here would not fit IAM's 6,144 characters.
        Sid: "FridayServices",
        Effect: "Allow",
        Action: boundaryServices().filter((p) => p !== "iam" && p !== "s3").map((p) => `${p}:*`),
        Resource: ["*"],
      },
      { Sid: "FridayBuckets", Effect: "Allow", Action: ["s3:*"], Resource: [...named.filter((arn) => arn.startsWith(`arn:${s.partition}:s3:`)), ...stateBucket] },
      { Sid: "FridayRolesAndPolicies", Effect: "Allow", Action: iam, Resource: named.filter((arn) => arn.includes(":iam:")) },
      { Sid: "ServiceLinkedRoles", Effect: "Allow", Action: ["iam:CreateServiceLinkedRole"], Resource: [`arn:${s.partition}:iam::${s.account}:role/aws-service-role/*`] },
      // Roles made under this boundary carry a friday boundary too: staging's only staging's; prod's
      // either (prod's stack holds the staging infra role, which makes staging's roles).
      { ...withinBoundaryStatement(s, stack === "prod" ? ["staging", "prod"] : ["staging"], roles), Sid: "RolesWithinBoundary" },
      ...boundaryGuardDenies(s).map((d) => ({ ...d, Sid: d.Sid ?? "" })),
      ...otherStackBoundaryDenies(s, stack),
    ],
  };
}
