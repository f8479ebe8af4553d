import { readStackConfigFile, runOffline, type OfflineRun, type RecordedResource } from "../../scripts/lib/offline-program";
import { FAKE_ACCOUNT } from "../../scripts/lib/pulumi-mocks";
import { stateBackendOf, type InfraScope } from "../../components/infra-delivery-policies";
import { permissionsBoundaryPolicy } from "../../components/permissions-boundary";
import { permissionsBoundaryArn } from "../../infra/naming";
import { realisticState } from "./realistic-arns";

/**
 * The IAM side of the program's resource graph, read off an offline run: every role with its trust
 * policy and every identity policy that applies to it (inline RolePolicy resources, inline policies
 * on the role, attached customer-managed policies), and every resource that would exist in AWS with
 * the ARN AWS would give it. Nothing here knows which component made a role: a role another
 * component adds later is picked up the same way.
 */

export type Environment = "staging" | "prod" | "pipeline";

export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDoc {
  Version: string;
  Statement: PolicyStatement[];
}

export interface GraphRole {
  /** The stack whose program registers the role. */
  readonly stack: string;
  /** Pulumi resource name (stable across runs). */
  readonly resourceName: string;
  /** The role's name and ARN as AWS would give them. */
  readonly name: string;
  readonly arn: string;
  /** Which environment the role belongs to, from its name (`friday-<stack>-…`), else the shared pipeline. */
  readonly environment: Environment;
  readonly trust: PolicyDoc;
  readonly policies: Array<{ readonly name: string; readonly document: PolicyDoc }>;
  /** AWS-managed (or otherwise unknown) policy ARNs attached to the role: the simulation cannot read them. */
  readonly unreadablePolicyArns: string[];
  /** The ARN of the role's permissions boundary, if it has one. */
  readonly permissionsBoundaryArn?: string;
  /** That boundary's document (as `friday bootstrap` creates it), when it is one of friday's. */
  readonly permissionsBoundary?: PolicyDoc;
}

/** A resource of one environment, as a request would name it, with the context AWS would supply. */
export interface GraphTarget {
  readonly environment: Environment;
  readonly arn: string;
  /** Keys AWS fills in from the resource itself (tags, VPC, cluster…). */
  readonly context: Record<string, string | string[]>;
  /** What the target is, for messages. */
  readonly what: string;
  /** The policy on the resource itself (key, topic, repository, bucket policy), evaluated with the caller's. */
  readonly resourcePolicy?: PolicyDoc;
}

export interface IamGraph {
  readonly roles: GraphRole[];
  /** Every resource, with its own policy (key, topic, repository, bucket) where it has one. */
  readonly targets: GraphTarget[];
  /** Both stacks' permissions boundaries, by ARN, as `friday bootstrap` creates them. */
  readonly boundaries: Record<string, PolicyDoc>;
}

export const REGION = "us-east-1";
export const ACCOUNT = FAKE_ACCOUNT;

/** `friday-staging-…` → staging, `friday-prod-…` → prod (`friday-pr-preview-<stack>-…` too), anything else is the shared pipeline's. */
export function environmentOf(name: string): Environment {
  const m = /^friday-(?:pr-preview-)?(staging|prod)-/.exec(name);
  return m ? (m[1] as "staging" | "prod") : "pipeline";
}

function parseDocument(value: unknown, what: string): PolicyDoc {
  const doc = typeof value === "string" ? JSON.parse(value) : value;
  if (!doc || !Array.isArray(doc.Statement)) throw new Error(`${what}: not an IAM policy document: ${JSON.stringify(value)?.slice(0, 200)}`);
  return doc as PolicyDoc;
}

/** Every role of one run, with every identity policy the run attaches to it. */
export function collectRoles(run: OfflineRun, boundaries: Record<string, PolicyDoc> = {}): GraphRole[] {
  const roles = run.resources.filter((r) => r.type === "aws:iam/role:Role");
  const byReference = new Map<string, RecordedResource>();
  for (const role of roles) for (const key of [role.state.id, role.state.name, role.state.arn]) if (key) byReference.set(String(key), role);
  const find = (reference: unknown, what: string) => {
    const role = byReference.get(String(reference));
    if (!role) throw new Error(`${what} names role ${JSON.stringify(reference)}, which the ${run.stack} program does not register`);
    return role;
  };
  const policies = new Map<RecordedResource, Array<{ name: string; document: PolicyDoc }>>(roles.map((r) => [r, []]));
  const unreadable = new Map<RecordedResource, string[]>(roles.map((r) => [r, []]));
  const managed = new Map(run.resources.filter((r) => r.type === "aws:iam/policy:Policy").map((p) => [String(p.state.arn), p]));
  for (const role of roles) {
    for (const inline of role.inputs.inlinePolicies ?? []) {
      if (inline?.policy) policies.get(role)!.push({ name: `${role.name}/${inline.name}`, document: parseDocument(inline.policy, role.name) });
    }
    for (const arn of role.inputs.managedPolicyArns ?? []) {
      const policy = managed.get(String(arn));
      if (policy) policies.get(role)!.push({ name: policy.name, document: parseDocument(policy.inputs.policy, policy.name) });
      else unreadable.get(role)!.push(String(arn));
    }
  }
  for (const r of run.resources) {
    if (r.type === "aws:iam/rolePolicy:RolePolicy") {
      policies.get(find(r.inputs.role, r.name))!.push({ name: r.name, document: parseDocument(r.inputs.policy, r.name) });
    } else if (r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
      const role = find(r.inputs.role, r.name);
      const policy = managed.get(String(r.inputs.policyArn));
      if (policy) policies.get(role)!.push({ name: policy.name, document: parseDocument(policy.inputs.policy, policy.name) });
      else unreadable.get(role)!.push(String(r.inputs.policyArn));
    } else if (r.type === "aws:iam/policyAttachment:PolicyAttachment") {
      const policy = managed.get(String(r.inputs.policyArn));
      for (const reference of r.inputs.roles ?? []) {
        const role = find(reference, r.name);
        if (policy) policies.get(role)!.push({ name: policy.name, document: parseDocument(policy.inputs.policy, policy.name) });
        else unreadable.get(role)!.push(String(r.inputs.policyArn));
      }
    }
  }
  return roles.map((role) => ({
    stack: run.stack,
    resourceName: role.name,
    name: String(role.state.name),
    arn: String(role.state.arn),
    environment: environmentOf(role.name),
    trust: parseDocument(role.inputs.assumeRolePolicy, `${role.name} trust policy`),
    policies: policies.get(role)!,
    unreadablePolicyArns: unreadable.get(role)!,
    ...(role.inputs.permissionsBoundary
      ? { permissionsBoundaryArn: String(role.inputs.permissionsBoundary), permissionsBoundary: boundaries[String(role.inputs.permissionsBoundary)] }
      : {}),
  }));
}

const tagContext = (tags: Record<string, string> | undefined, prefixes: string[]) => {
  const context: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags ?? {})) for (const prefix of prefixes) context[`${prefix}/${key}`] = value;
  return context;
};

/** The key policy KMS gives a key created without one: it lets the account's IAM policies apply. */
export const DEFAULT_KEY_POLICY: PolicyDoc = { Version: "2012-10-17", Statement: [{ Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" }] };

/**
 * The policy each resource carries: a KMS key's own (or the default one, which delegates to the
 * account's IAM policies — without a key policy that does, no identity policy can use a key), and
 * the topic, repository and bucket policies, matched to what they guard.
 */
function resourcePoliciesOf(run: OfflineRun): Map<RecordedResource, PolicyDoc> {
  const map = new Map<RecordedResource, PolicyDoc>();
  const find = (type: string, match: (r: RecordedResource) => boolean) => run.resources.find((r) => r.type === type && match(r));
  for (const r of run.resources) {
    if (r.type === "aws:kms/key:Key") map.set(r, r.inputs.policy ? parseDocument(r.inputs.policy, r.name) : DEFAULT_KEY_POLICY);
    const guarded =
      r.type === "aws:sns/topicPolicy:TopicPolicy" ? find("aws:sns/topic:Topic", (t) => t.state.arn === r.inputs.arn)
      : r.type === "aws:ecr/repositoryPolicy:RepositoryPolicy" ? find("aws:ecr/repository:Repository", (t) => t.state.name === r.inputs.repository)
      : r.type === "aws:s3/bucketPolicy:BucketPolicy" ? find("aws:s3/bucket:Bucket", (t) => t.state.id === r.inputs.bucket) ?? find("aws:s3/bucketV2:BucketV2", (t) => t.state.id === r.inputs.bucket)
      : undefined;
    if (guarded) map.set(guarded, parseDocument(r.inputs.policy, r.name));
  }
  return map;
}

const ec2Arn = (kind: string, id: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:${kind}/${id}`;

/**
 * What exists in AWS once a run is applied (and what its use creates: task-definition revisions,
 * tasks, deployments, snapshots, RDS-managed secrets, network interfaces, log streams, objects),
 * named as AWS names it, each with the context keys AWS supplies for it.
 */
export function collectTargets(run: OfflineRun, defaultTags: Record<string, string> = {}): GraphTarget[] {
  const targets: GraphTarget[] = [];
  const policies = resourcePoliciesOf(run);
  // The provider's aws:defaultTags land on every taggable resource, under the resource's own tags.
  const tagsOf = (r: RecordedResource): Record<string, string> => ({ ...defaultTags, ...(r.inputs.tags ?? {}) });
  // The delivery pipeline lives in the prod stack but belongs to neither environment, whatever its
  // resources are named (friday-staging-deploy is the pipeline's project that deploys staging).
  const environment = (r: RecordedResource): Environment => (r.parent?.includes("friday:delivery:Pipeline") ? "pipeline" : environmentOf(r.name));
  const add = (r: RecordedResource, arn: string, context: Record<string, string | string[]> = {}, what = r.name) =>
    targets.push({ environment: environment(r), arn, context: { ...tagContext(tagsOf(r), ["aws:ResourceTag"]), ...context }, what, resourcePolicy: policies.get(r) });
  const vpcs = run.resources.filter((r) => r.type === "aws:ec2/vpc:Vpc");
  const subnets = run.resources.filter((r) => r.type === "aws:ec2/subnet:Subnet");
  for (const r of run.resources) {
    const arn = typeof r.state.arn === "string" && r.state.arn.startsWith("arn:") ? r.state.arn : undefined;
    switch (r.type) {
      case "aws:ec2/vpc:Vpc": {
        add(r, arn!);
        // Network interfaces in the VPC (Lambda's, CodeBuild's, Fargate tasks').
        for (const subnet of subnets.filter((s) => s.inputs.vpcId === r.state.id)) {
          const eni = `eni-0${String(subnet.state.id).slice(-16)}`;
          add(subnet, ec2Arn("network-interface", eni), { "ec2:Vpc": arn!, "ec2:Subnet": subnet.state.arn, ...tagContext(tagsOf(r), ["ec2:ResourceTag"]) }, `network interface in ${subnet.name}`);
        }
        break;
      }
      case "aws:ec2/subnet:Subnet":
      case "aws:ec2/securityGroup:SecurityGroup": {
        const vpc = vpcs.find((v) => v.state.id === r.inputs.vpcId);
        add(r, arn!, vpc ? { "ec2:Vpc": vpc.state.arn, ...tagContext(tagsOf(r), ["ec2:ResourceTag"]) } : {});
        break;
      }
      case "aws:ecs/cluster:Cluster":
        add(r, arn!);
        add(r, arn!.replace(":cluster/", ":task/") + "/0123456789abcdef0123456789abcdef", { "ecs:cluster": arn! }, `a task on ${r.name}`);
        add(r, arn!.replace(":cluster/", ":container-instance/") + "/0123456789abcdef0123456789abcdef", { "ecs:cluster": arn! }, `a container instance of ${r.name}`);
        break;
      case "aws:ecs/service:Service": {
        const service = String(r.state.arn);
        const cluster = String(r.inputs.cluster);
        add(r, service, { "ecs:cluster": cluster });
        add(r, `${service.replace(":service/", ":service-deployment/")}/AbCdEfGh12345678`, { "ecs:cluster": cluster }, `a deployment of ${r.name}`);
        add(r, `${service.replace(":service/", ":service-revision/")}/1234567890123456789`, { "ecs:cluster": cluster }, `a revision of ${r.name}`);
        break;
      }
      case "aws:ecs/taskDefinition:TaskDefinition":
        // A later revision (the pipeline registers one per deploy).
        add(r, `${r.state.arnWithoutRevision}:42`, {}, `a revision of family ${r.inputs.family}`);
        break;
      case "aws:rds/instance:Instance": {
        const id = String(r.state.identifier);
        add(r, arn!);
        const snapshot = (name: string) => `arn:aws:rds:${REGION}:${ACCOUNT}:snapshot:${name}`;
        add(r, snapshot(`rds:${id}-2026-12-05-04-10`), {}, `an automated snapshot of ${id}`);
        add(r, snapshot(`${id}-final`), {}, `the final snapshot of ${id}`);
        add(r, snapshot(`${id}-before-migration`), {}, `a manual snapshot of ${id}`);
        for (const secret of r.state.masterUserSecrets ?? []) {
          const owner = { "aws:rds:primaryDBInstanceArn": arn!, "aws:secretsmanager:owningService": "rds" };
          targets.push({ environment: environment(r), arn: secret.secretArn, context: tagContext(owner, ["aws:ResourceTag"]), what: `the RDS-managed secret of ${id}` });
        }
        break;
      }
      case "aws:cloudwatch/logGroup:LogGroup":
        add(r, arn!);
        add(r, `${arn}:log-stream:app/abc`, {}, `a log stream of ${r.name}`);
        break;
      case "aws:s3/bucket:Bucket":
      case "aws:s3/bucketV2:BucketV2":
        add(r, arn!);
        add(r, `${arn}/some/object`, {}, `an object in ${r.name}`);
        break;
      case "aws:secretsmanager/secret:Secret":
        add(r, arn!);
        break;
      case "aws:appconfig/environment:Environment": {
        add(r, arn!);
        for (const profile of run.resources.filter((p) => p.type === "aws:appconfig/configurationProfile:ConfigurationProfile" && p.inputs.applicationId === r.inputs.applicationId)) {
          add(r, `${arn}/configuration/${profile.state.configurationProfileId}`, {}, `the flags of ${r.name}`);
        }
        break;
      }
      default:
        if (arn && r.custom) add(r, arn);
    }
  }
  // Every parameter a friday command might read or write under the stack's prefix.
  for (const stack of ["staging", "prod"]) {
    if (run.stack === stack) {
      targets.push({ environment: stack as Environment, arn: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/friday/${stack}/any-parameter`, context: {}, what: `a parameter under /friday/${stack}` });
    }
  }
  return targets;
}

/** Runs both stacks with the ARNs AWS would assign and reads their IAM. */
export async function buildIamGraph(): Promise<IamGraph> {
  const state = realisticState(REGION);
  const staging = await runOffline("staging", { state });
  const prod = await runOffline("prod", { state, stagingOutputs: staging.outputs });
  const defaultTags = (stack: string): Record<string, string> => {
    const raw = readStackConfigFile(stack)["aws:defaultTags"];
    return raw ? (JSON.parse(raw).tags ?? {}) : {};
  };
  const infra = JSON.parse(readStackConfigFile("prod")["friday:pipeline"]).infra;
  const infraScope: InfraScope = { account: ACCOUNT, partition: "aws", region: REGION, project: "friday", backend: stateBackendOf(infra) };
  const boundaries = Object.fromEntries(
    (["staging", "prod"] as const).map((stack) => [permissionsBoundaryArn("aws", ACCOUNT, stack), permissionsBoundaryPolicy(infraScope, stack) as PolicyDoc]),
  );
  return { boundaries, roles: [...collectRoles(staging, boundaries), ...collectRoles(prod, boundaries)], targets: [...collectTargets(staging, defaultTags("staging")), ...collectTargets(prod, defaultTags("prod"))] };
}

const asList = (value: string | string[] | undefined) => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Counts across every identity policy: what `npm run report:iam` prints. */
export function iamCounts(roles: GraphRole[]) {
  const statements = roles.flatMap((r) => r.policies.flatMap((p) => p.document.Statement));
  const allows = statements.filter((s) => s.Effect === "Allow");
  return {
    roles: roles.length,
    policies: roles.reduce((n, r) => n + r.policies.length, 0),
    statements: statements.length,
    allowStatements: allows.length,
    denyStatements: statements.length - allows.length,
    wildcardResourceStatements: allows.filter((s) => asList(s.Resource).includes("*")).length,
    trustPoliciesWithoutSourceConditions: roles.filter((r) => r.trust.Statement.some((s) => !s.Condition?.StringEquals?.["aws:SourceAccount"] && !s.Condition?.ArnLike?.["aws:SourceArn"] && !s.Condition?.ArnEquals?.["aws:SourceArn"])).length,
  };
}

export { asList };
