import { isWildcardOnlyAction } from "@cloud-copilot/iam-simulate";
import { glob } from "./support/iam";
import { ACCOUNT, asList, buildIamGraph, DEFAULT_KEY_POLICY, REGION, type GraphRole, type IamGraph, type PolicyDoc } from "./support/iam-graph";
import { crossings, decide, decideAll, type CrossingFinding } from "./support/iam-simulation";
import { BOUNDED_IAM_ACTIONS, infraReadActions, infraWriteActions, STAGING_STEPS_TAG, UNSCOPABLE_INFRA_ACTIONS } from "../components/infra-delivery-policies";
import { STAGING_INTO_PROD_ACTIONS } from "../components/permissions-boundary";
import { permissionsBoundaryArn } from "../infra/naming";

/**
 * Both stacks' programs run under the mocks with their real stack YAML and the ARNs AWS would
 * assign (test/support/realistic-arns.ts). Every role found in the two graphs — whichever component
 * made it — is evaluated by a real IAM policy evaluator (@cloud-copilot/iam-simulate) against every
 * resource of the other environment, for every action its policies allow and every caller-chosen
 * condition value they name, with the resource's own policy (key, topic, repository, bucket) where
 * it has one. A role belongs to the environment its name says (`friday-<stack>-…`);
 * roles of neither (the pipeline's own, test, build, gate) must not reach either environment.
 */

interface AllowedCrossing {
  readonly role: RegExp;
  readonly action: RegExp;
  readonly resource: RegExp;
  /** Why this crossing is by design. */
  readonly why: string;
}

const arn = (service: string, resource: string) => new RegExp(`^arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}$`);

/**
 * Every allow that crosses environments on purpose. Anything else the simulation finds fails the
 * test; an entry nothing matches any more fails it too (the list only shrinks by being edited).
 */
const ALLOWED_CROSSINGS: readonly AllowedCrossing[] = [
  {
    role: /./,
    action: /^ec2:CreateNetworkInterface$/,
    resource: arn("ec2", "network-interface/eni-[0-9a-f]+"),
    why: "CreateNetworkInterface authorizes the interface it creates as network-interface/*, which is in no VPC yet; the subnet and security group the same request names place it, and those are scoped (checked here as subnet and security-group targets).",
  },
  {
    role: /^friday-staging-refresh-task-role$/,
    action: /^rds:CreateDBSnapshot$/,
    resource: arn("rds", "db:friday-prod-db"),
    why: "The refresh job's one action on prod: a snapshot of prod's instance, only into friday-staging-refresh-*-source and only tagged as such (the scenario test below).",
  },
  {
    role: /^friday-staging-refresh-task-role$/,
    action: /^rds:(DescribeDBInstances|DescribeDBSnapshots)$/,
    resource: arn("rds", "(db|snapshot):.*friday-prod-db.*"),
    why: "Read only: the job finds prod's instance and waits for its snapshot.",
  },
  {
    role: /^friday-staging-refresh-task-role$/,
    action: /^ssm:GetParameters$/,
    resource: arn("ssm", "parameter/friday/prod/db-instance-identifier"),
    why: "Read only: how the job finds prod's instance (the one prod parameter it may read).",
  },
  {
    role: /^friday-build-role$/,
    action: /^ecr:(BatchCheckLayerAvailability|BatchGetImage|GetDownloadUrlForLayer|DescribeImages|InitiateLayerUpload|UploadLayerPart|CompleteLayerUpload|PutImage)$/,
    resource: arn("ecr", "repository/friday-prod-app"),
    why: "Images live in prod's repository only: built once, pushed once, and staging runs the same digest (pulled through the repository policy).",
  },
  {
    role: /^friday-staging-service-execution-role$/,
    action: /^ecr:(BatchCheckLayerAvailability|BatchGetImage|GetDownloadUrlForLayer)$/,
    resource: arn("ecr", "repository/friday-prod-app"),
    why: "Staging runs the digests built for prod: its execution role pulls (read only) through prod's repository policy.",
  },
  {
    role: /^friday-gate-role$/,
    action: /^(ssm:GetParameters?|ssm:GetParametersByPath|ecs:DescribeServices|ecs:ListServiceDeployments|ecs:DescribeServiceDeployments|ecs:DescribeServiceRevisions|cloudwatch:DescribeAlarms)$/,
    resource: /^arn:aws:(ssm|ecs|cloudwatch):.*(friday\/staging\/|friday-staging)/,
    why: "Read only: the gate checks staging's deployment and alarms before prod.",
  },
  {
    role: /^friday-role$/,
    action: /^cloudwatch:DescribeAlarms$/,
    resource: arn("cloudwatch", "alarm:friday-prod-.*"),
    why: "Read only: the prod stage's conditions watch prod's rollback alarms.",
  },
  {
    role: /^friday-role$/,
    action: /^kms:(GenerateDataKey|Decrypt)$/,
    resource: arn("kms", "key/[0-9a-f-]{36}"),
    why: "Publishing the approval notice to prod's encrypted topic needs its key, through SNS only (kms:ViaService).",
  },
  {
    role: /^friday-role$/,
    action: /^sns:Publish$/,
    resource: arn("sns", "friday-prod-notifications"),
    why: "The manual approval's notice goes to prod's notifications topic.",
  },
];

const allowedBy = (f: CrossingFinding) => ALLOWED_CROSSINGS.find((a) => a.role.test(f.role) && a.action.test(f.action) && a.resource.test(f.resource));
const show = (f: CrossingFinding) => `${f.role} (${f.roleEnvironment}) may ${f.action} on ${f.resource} (${f.resourceEnvironment}: ${f.what})`;

let graph: IamGraph;
let findings: CrossingFinding[];

beforeAll(async () => {
  graph = await buildIamGraph();
  findings = [];
  for (const role of graph.roles) {
    // A staging or prod role must not reach the other environment; the shared pipeline's roles neither.
    findings.push(...(await crossings(role, graph.targets, (r, t) => t.environment !== "pipeline" && t.environment !== r.environment)));
  }
}, 300_000);

const role = (resourceName: string): GraphRole => {
  const found = graph.roles.find((r) => r.resourceName === resourceName);
  if (!found) throw new Error(`no role ${resourceName} in the graph (roles: ${graph.roles.map((r) => r.resourceName).join(", ")})`);
  return found;
};

describe("the IAM graph read off both stacks", () => {
  it("holds every role of both stacks, each with its policies, and real-looking ARNs", () => {
    const stacks = new Set(graph.roles.map((r) => r.stack));
    expect([...stacks].sort()).toEqual(["prod", "staging"]);
    for (const r of graph.roles) {
      expect({ role: r.resourceName, hasPolicy: r.policies.length > 0 }).toEqual({ role: r.resourceName, hasPolicy: true });
      // AWS-managed policies cannot be simulated here: none may be attached.
      expect({ role: r.resourceName, unreadable: r.unreadablePolicyArns }).toEqual({ role: r.resourceName, unreadable: [] });
    }
    // Not the mock's names: a subnet is subnet-0…, a managed secret rds!db-<uuid>-XXXXXX, staging's differ from prod's.
    const subnets = graph.targets.filter((t) => t.arn.includes(":subnet/"));
    expect(subnets.every((t) => /:subnet\/subnet-0[0-9a-f]{16}$/.test(t.arn))).toBe(true);
    expect(new Set(subnets.map((t) => t.arn)).size).toBe(subnets.length);
    const secrets = graph.targets.filter((t) => t.what.startsWith("the RDS-managed secret"));
    expect(secrets.map((t) => t.environment).sort()).toEqual(["prod", "staging"]);
    for (const s of secrets) expect(s.arn).toMatch(/:secret:rds!db-[0-9a-f-]{36}-[A-Za-z0-9]{6}$/);
  });
});

describe("cross-environment allows", () => {
  it("finds none outside the commented allow-list", () => {
    expect(findings.filter((f) => !allowedBy(f)).map(show)).toEqual([]);
  });

  it("has no allow-list entry that nothing needs any more", () => {
    const unused = ALLOWED_CROSSINGS.filter((a) => !findings.some((f) => allowedBy(f) === a)).map((a) => a.why);
    expect(unused).toEqual([]);
  });

  it("no staging role can act on a prod resource except the refresh job's snapshot (and reads)", () => {
    const fromStaging = findings.filter((f) => f.roleEnvironment === "staging" && f.resourceEnvironment === "prod" && f.action !== "ec2:CreateNetworkInterface");
    expect([...new Set(fromStaging.map((f) => `${f.role} ${f.action}`))].sort()).toEqual([
      "friday-staging-refresh-task-role rds:CreateDBSnapshot",
      "friday-staging-refresh-task-role rds:DescribeDBInstances",
      "friday-staging-refresh-task-role rds:DescribeDBSnapshots",
      "friday-staging-refresh-task-role ssm:GetParameters",
      // pulling the release images (read only)
      "friday-staging-service-execution-role ecr:BatchCheckLayerAvailability",
      "friday-staging-service-execution-role ecr:BatchGetImage",
      "friday-staging-service-execution-role ecr:GetDownloadUrlForLayer",
    ]);
  });

  it("the refresh job's only change to anything of prod is a snapshot of its instance", () => {
    const refresh = findings.filter((f) => f.role === "friday-staging-refresh-task-role" && f.resourceEnvironment === "prod" && !/^(rds:Describe|ssm:GetParameters$)/.test(f.action));
    expect(refresh.map((f) => `${f.action} ${f.resource}`)).toEqual([`rds:CreateDBSnapshot arn:aws:rds:${REGION}:${ACCOUNT}:db:friday-prod-db`]);
  });

  it("the test and build steps cannot act on a staging or prod resource (the build only pushes the image)", () => {
    const steps = findings.filter((f) => /^friday-(test|build)-role$/.test(f.role));
    expect(steps.filter((f) => f.role === "friday-test-role").map(show)).toEqual([]);
    expect(steps.every((f) => f.resource === `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/friday-prod-app`)).toBe(true);
  });

  it("the simulation would see a crossing: a staging role granted prod's family is reported", async () => {
    // The check itself can fail: the deploy step's policy, widened to every family, is caught.
    const deploy = role("friday-staging-deploy-role");
    const widened: GraphRole = {
      ...deploy,
      policies: [...deploy.policies, { name: "widened", document: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["ecs:RegisterTaskDefinition"], Resource: "*" }] } }],
    };
    const found = await crossings(widened, graph.targets, (r, t) => t.environment === "prod");
    expect(found.map((f) => `${f.action} ${f.resource}`)).toContain(`ecs:RegisterTaskDefinition arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/friday-prod-app:42`);
  });
});

describe("the refresh job's isolation, enforced by IAM", () => {
  const run = "friday-staging-refresh-r20261205040000";
  const rds = (resource: string) => `arn:aws:rds:${REGION}:${ACCOUNT}:${resource}`;
  const tag = (value: string) => ({ "aws:RequestTag/friday:refresh-role": value });

  /** Allowed only if every resource the request names is (AWS authorizes each one). */
  function request(action: string, resources: Array<string | [string, Record<string, string>]>, context: Record<string, string> = {}): Promise<string> {
    const refresh = role("friday-staging-refresh-task-role");
    return decideAll(refresh.policies, refresh.arn, action, resources, context);
  }
  const groups = () => {
    const staging = graph.targets.filter((t) => t.environment === "staging");
    return [staging.find((t) => t.arn.includes(":subgrp:"))!.arn, staging.find((t) => t.arn.includes(":pg:"))!.arn, rds("og:default:postgres-17")];
  };
  const verified = (id: string): [string, Record<string, string>] => [rds(`db:${id}`), { "aws:ResourceTag/friday:refresh-scrub": "verified" }];

  it("snapshots prod only into the run's -source snapshot, tagged as such", async () => {
    expect(await request("rds:CreateDBSnapshot", [rds("db:friday-prod-db"), rds(`snapshot:${run}-source`)], tag("source-snapshot"))).toBe("Allowed");
    // Prod's data under the name the replacement restores from: denied whatever the tag.
    expect(await request("rds:CreateDBSnapshot", [rds("db:friday-prod-db"), rds(`snapshot:${run}-scrubbed`)], tag("scrubbed-snapshot"))).toBe("ExplicitlyDenied");
    expect(await request("rds:CreateDBSnapshot", [rds("db:friday-prod-db"), rds(`snapshot:${run}-scrubbed`)], tag("source-snapshot"))).toBe("ExplicitlyDenied");
    expect(await request("rds:CreateDBSnapshot", [rds("db:friday-prod-db"), rds(`snapshot:${run}-copy`)], tag("source-snapshot"))).not.toBe("Allowed");
  });

  it("snapshots the isolated copy only once verified, only into -scrubbed", async () => {
    expect(await request("rds:CreateDBSnapshot", [verified(`${run}-isolated`), rds(`snapshot:${run}-scrubbed`)], tag("scrubbed-snapshot"))).toBe("Allowed");
    const unverified: [string, Record<string, string>] = [rds(`db:${run}-isolated`), { "aws:ResourceTag/friday:refresh-scrub": "started" }];
    expect(await request("rds:CreateDBSnapshot", [unverified, rds(`snapshot:${run}-scrubbed`)], tag("scrubbed-snapshot"))).toBe("ExplicitlyDenied");
    expect(await request("rds:CreateDBSnapshot", [verified(`${run}-isolated`), rds(`snapshot:${run}-source`)], tag("source-snapshot"))).toBe("ExplicitlyDenied");
    expect(await request("rds:CreateDBSnapshot", [verified(`${run}-isolated`), rds(`snapshot:${run}-elsewhere`)], tag("scrubbed-snapshot"))).not.toBe("Allowed");
    // Staging's own instances are not snapshotted by the job at all.
    expect(await request("rds:CreateDBSnapshot", [rds("db:friday-staging-db"), rds(`snapshot:${run}-scrubbed`)], tag("scrubbed-snapshot"))).not.toBe("Allowed");
  });

  it("restores the unscrubbed -source only into the isolated instance, and the app's names only from -scrubbed", async () => {
    expect(await request("rds:RestoreDBInstanceFromDBSnapshot", [rds(`snapshot:${run}-source`), rds(`db:${run}-isolated`), ...groups()], tag("isolated"))).toBe("Allowed");
    expect(await request("rds:RestoreDBInstanceFromDBSnapshot", [rds(`snapshot:${run}-scrubbed`), rds(`db:${run}-new`), ...groups()], tag("replacement"))).toBe("Allowed");
    for (const value of ["isolated", "replacement"]) {
      // -new's secret is the one the app reads after the swap.
      expect(await request("rds:RestoreDBInstanceFromDBSnapshot", [rds(`snapshot:${run}-source`), rds(`db:${run}-new`), ...groups()], tag(value))).toBe("ExplicitlyDenied");
      expect(await request("rds:RestoreDBInstanceFromDBSnapshot", [rds(`snapshot:${run}-scrubbed`), rds(`db:${run}-isolated`), ...groups()], tag(value))).toBe("ExplicitlyDenied");
      expect(await request("rds:RestoreDBInstanceFromDBSnapshot", [rds(`snapshot:${run}-source`), rds("db:friday-staging-db"), ...groups()], tag(value))).not.toBe("Allowed");
      expect(await request("rds:RestoreDBInstanceFromDBSnapshot", [rds("snapshot:rds:friday-prod-db-2026-12-05-04-10"), rds(`db:${run}-isolated`), ...groups()], tag(value))).not.toBe("Allowed");
    }
  });

  it("never lets the unscrubbed copies leave", async () => {
    for (const action of ["rds:CopyDBSnapshot", "rds:ModifyDBSnapshotAttribute", "rds:StartExportTask"]) {
      expect({ action, decision: await request(action, [rds(`snapshot:${run}-source`)]) }).toEqual({ action, decision: "ExplicitlyDenied" });
    }
  });

  it("may have RDS create, tag and rotate the managed secrets of staging's instances only", async () => {
    const secret = (owner: string) => [`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:rds!db-0c3a7d8e-1111-4222-a333-444455556666-AbCdEf`, { "aws:ResourceTag/aws:rds:primaryDBInstanceArn": rds(`db:${owner}`) }] as [string, Record<string, string>];
    const via = { "aws:ViaAWSService": "true" };
    expect(await request("secretsmanager:RotateSecret", [secret(`${run}-new`)], via)).toBe("Allowed");
    expect(await request("secretsmanager:RotateSecret", [secret("friday-prod-db")], via)).not.toBe("Allowed");
    expect(await request("secretsmanager:TagResource", [secret("friday-prod-db")], via)).not.toBe("Allowed");
    expect(await request("secretsmanager:RotateSecret", [secret(`${run}-new`)], { "aws:ViaAWSService": "false" })).not.toBe("Allowed");
  });
});

describe('"Resource": "*" statements', () => {
  /** Kept on "*" with a condition although the action has a resource type: why. */
  const CONDITIONED_WILDCARDS: Record<string, string> = {
    // The authorization reference gives ListTasks the container-instance type, which Fargate tasks
    // have none of; the cluster is what the job lists in, and ecs:cluster scopes it.
    "ecs:ListTasks": "ecs:cluster",
  };

  it("name only actions AWS cannot scope (per the Service Authorization Reference), or carry the condition that scopes them", async () => {
    const problems: string[] = [];
    for (const r of graph.roles) {
      for (const s of r.policies.flatMap((p) => p.document.Statement)) {
        if (s.Effect !== "Allow" || !asList(s.Resource).includes("*")) continue;
        for (const action of asList(s.Action)) {
          const [service, name] = action.split(":");
          if (await isWildcardOnlyAction(service, name)) continue;
          const key = CONDITIONED_WILDCARDS[action];
          const conditioned = key && Object.values(s.Condition ?? {}).some((block) => key in block);
          if (!conditioned) problems.push(`${r.resourceName} ${s.Sid ?? ""}: ${action} takes a resource type; scope it`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("hold every action AWS authorizes only on \"*\": a statement scoped to ARNs never matches one", async () => {
    const problems: string[] = [];
    for (const r of graph.roles) {
      for (const s of r.policies.flatMap((p) => p.document.Statement)) {
        if (s.Effect !== "Allow" || asList(s.Resource).includes("*") || s.NotResource) continue;
        for (const action of asList(s.Action)) {
          const [service, name] = action.split(":");
          if (await isWildcardOnlyAction(service, name)) problems.push(`${r.resourceName} ${s.Sid ?? ""}: ${action} is authorized only on "*"`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("UNSCOPABLE_INFRA_ACTIONS is exactly the infra roles' actions AWS authorizes only on \"*\"", async () => {
    const unscopable: string[] = [];
    for (const action of [...infraReadActions(), ...infraWriteActions()]) {
      const [service, name] = action.split(":");
      if (await isWildcardOnlyAction(service, name)) unscopable.push(action);
    }
    expect([...UNSCOPABLE_INFRA_ACTIONS].sort()).toEqual(unscopable.sort());
  });
});

describe("trust policies", () => {
  /** Services whose guide documents the aws:SourceArn they set, and its shape. */
  const SOURCE_ARNS: Record<string, RegExp> = {
    "ecs-tasks.amazonaws.com": arn("ecs", "\\*"),
    "codebuild.amazonaws.com": arn("codebuild", "project/[A-Za-z0-9_-]+"),
    "codepipeline.amazonaws.com": arn("codepipeline", "[A-Za-z0-9_-]+"),
    "scheduler.amazonaws.com": arn("scheduler", "schedule-group/default"),
  };
  /** Assumed without confused-deputy conditions, and why. */
  const WITHOUT_CONDITIONS: Record<string, string> = {
    // ECS's guides give the blue/green infrastructure role and the lifecycle-hook role a bare
    // ecs.amazonaws.com trust and document no source keys for them: a condition ECS does not set
    // would break every deployment.
    "ecs.amazonaws.com": "not documented for ECS's infrastructure and hook roles",
  };

  it("every service-assumed role names this account (aws:SourceAccount), and the source ARN where AWS documents it", () => {
    const problems: string[] = [];
    for (const r of graph.roles) {
      for (const s of r.trust.Statement) {
        const services = asList((s.Principal as { Service?: string | string[] } | undefined)?.Service);
        for (const service of services) {
          if (WITHOUT_CONDITIONS[service]) continue;
          if (s.Condition?.StringEquals?.["aws:SourceAccount"] !== ACCOUNT) problems.push(`${r.resourceName}: ${service} without aws:SourceAccount`);
          const expected = SOURCE_ARNS[service];
          const sourceArn = s.Condition?.ArnLike?.["aws:SourceArn"];
          if (expected && !(typeof sourceArn === "string" && expected.test(sourceArn))) problems.push(`${r.resourceName}: ${service} without aws:SourceArn (got ${JSON.stringify(sourceArn)})`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

describe("the artifacts bucket", () => {
  it("refuses uploads that name another key or another algorithm", async () => {
    const build = role("friday-build-role");
    const write = build.policies.flatMap((p) => p.document.Statement).find((s) => s.Sid === "WriteArtifacts")!;
    const bucketPolicy = graph.targets.find((t) => t.arn === asList(write.Resource)[0].replace(/\/\*$/, ""))!.resourcePolicy!;
    const object = `${asList(write.Resource)[0].replace(/\*$/, "")}friday/ImageDetail/abc.zip`;
    const key = build.policies.flatMap((p) => p.document.Statement).find((s) => s.Sid === "ArtifactsKey")!;
    const artifactsKey = asList(key.Resource)[0];
    const put = (context: Record<string, string>) => decide(build.policies, build.arn, { action: "s3:PutObject", resource: object, context }, bucketPolicy);
    expect(await put({ "s3:x-amz-server-side-encryption": "aws:kms", "s3:x-amz-server-side-encryption-aws-kms-key-id": artifactsKey })).toBe("Allowed");
    expect(await put({})).toBe("Allowed"); // the bucket's default encryption: the artifacts key
    expect(await put({ "s3:x-amz-server-side-encryption": "aws:kms", "s3:x-amz-server-side-encryption-aws-kms-key-id": `arn:aws:kms:${REGION}:${ACCOUNT}:key/00000000-0000-4000-a000-000000000000` })).toBe("ExplicitlyDenied");
    expect(await put({ "s3:x-amz-server-side-encryption": "AES256" })).toBe("ExplicitlyDenied");
  });
});

describe("permissions boundaries", () => {
  const STACKS = ["staging", "prod"] as const;
  type Stack = (typeof STACKS)[number];
  const boundaryOf = (stack: string) => permissionsBoundaryArn("aws", ACCOUNT, stack);
  const otherOf = (stack: Stack): Stack => (stack === "prod" ? "staging" : "prod");
  const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

  it("every role of both stacks carries its own stack's boundary", () => {
    expect(graph.roles.length).toBeGreaterThan(20);
    expect(graph.roles.filter((r) => r.permissionsBoundaryArn !== boundaryOf(r.stack)).map((r) => `${r.stack} ${r.resourceName}: ${r.permissionsBoundaryArn ?? "no boundary"}`)).toEqual([]);
    for (const r of graph.roles) expect({ role: r.resourceName, readable: !!r.permissionsBoundary }).toEqual({ role: r.resourceName, readable: true });
  });

  it("leave every role what its own policies allow (each allow, a `*` in an ARN standing for any name, against the boundary)", async () => {
    const problems: string[] = [];
    const asked = new Set<string>();
    const decided = new Set<string>();
    for (const r of graph.roles) {
      for (const statement of r.policies.flatMap((p) => p.document.Statement).filter((st) => st.Effect === "Allow")) {
        const named = asList(statement.Condition?.StringEquals?.["iam:PermissionsBoundary"])[0];
        const context: Record<string, string> = named ? { "iam:PermissionsBoundary": named } : {};
        for (const action of asList(statement.Action)) {
          const service = action.split(":")[0];
          asked.add(action);
          for (const resource of asList(statement.Resource)) {
            // The pattern with its `*`s filled in, and every resource of the graph it covers (of the
            // action's service): a made-up name is often of no resource type the action takes.
            const concrete = resource === "*" ? ["*"] : [resource.replace(/\*/g, "x"), ...graph.targets.filter((t) => t.arn.split(":")[2] === service && glob(resource, t.arn)).map((t) => t.arn)];
            for (const arn of new Set(concrete)) {
              // A KMS key's own policy must let IAM policies apply (the default key policy does).
              const keyPolicy = action.startsWith("kms:") ? DEFAULT_KEY_POLICY : undefined;
              const d = await decide([{ name: "boundary", document: r.permissionsBoundary! }], r.arn, { action, resource: arn, context }, keyPolicy);
              if (d !== "NotApplicable") decided.add(action);
              if (d !== "Allowed" && d !== "NotApplicable") problems.push(`${r.resourceName}: ${action} on ${arn} is ${d} by its boundary`);
            }
          }
        }
      }
    }
    expect(problems).toEqual([]);
    // Every action got a real decision somewhere, except these: the graph holds no resource of the
    // type they take (scalable targets, dashboards, Elastic IPs, schedules; UseConnection's
    // codestar-connections ARN), and a made-up name is of no type they take either.
    expect([...asked].filter((a) => !decided.has(a)).sort()).toEqual([
      "application-autoscaling:DeleteScalingPolicy", "application-autoscaling:DeregisterScalableTarget", "application-autoscaling:ListTagsForResource",
      "application-autoscaling:PutScalingPolicy", "application-autoscaling:RegisterScalableTarget", "application-autoscaling:TagResource",
      "application-autoscaling:UntagResource", "cloudwatch:DeleteDashboards", "cloudwatch:GetDashboard", "cloudwatch:PutDashboard",
      "codestar-connections:UseConnection", "ec2:AllocateAddress", "ec2:ReleaseAddress", "scheduler:ListTagsForResource", "scheduler:TagResource",
      "scheduler:UntagResource",
    ]);
  });

  describe.each(STACKS)("the %s infra role", (stack) => {
    const ask = (action: string, resource: string, context: Record<string, string> = {}) => {
      const infra = role(`friday-${stack}-infra-role`);
      return decide(infra.policies, infra.arn, { action, resource, context }, undefined, infra.permissionsBoundary);
    };
    const newRole = roleArn(`friday-${stack}-new-role-0000000`);

    it("creates and widens friday-<stack>-… roles only when they carry the stack's boundary", async () => {
      const results: Record<string, string[]> = {};
      for (const action of BOUNDED_IAM_ACTIONS) {
        results[action] = [
          await ask(action, newRole, { "iam:PermissionsBoundary": boundaryOf(stack) }),
          await ask(action, newRole),
          await ask(action, newRole, { "iam:PermissionsBoundary": boundaryOf(otherOf(stack)) }),
          await ask(action, newRole, { "iam:PermissionsBoundary": `arn:aws:iam::${ACCOUNT}:policy/friday-${stack}-admin` }),
        ];
      }
      const denied = expect.not.stringMatching(/^Allowed$/);
      for (const action of BOUNDED_IAM_ACTIONS) expect({ action, results: results[action] }).toEqual({ action, results: ["Allowed", denied, denied, denied] });
    });

    it("cannot take a boundary off a role, nor edit or delete either stack's boundary", async () => {
      expect(await ask("iam:DeleteRolePermissionsBoundary", newRole, { "iam:PermissionsBoundary": boundaryOf(stack) })).toBe("ExplicitlyDenied");
      for (const boundary of STACKS.map(boundaryOf)) {
        for (const action of ["iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy", "iam:TagPolicy"]) {
          expect({ action, boundary, decision: await ask(action, boundary) }).toEqual({ action, boundary, decision: "ExplicitlyDenied" });
        }
      }
    });
  });

  describe.each(STACKS)("a %s role made with the boundary, whose own policy allows `*`", (stack) => {
    const anything = (): GraphRole => {
      const name = `friday-${stack}-anything-role-0000000`;
      return {
        stack,
        resourceName: `friday-${stack}-anything-role`,
        name,
        arn: roleArn(name),
        environment: stack,
        trust: { Version: "2012-10-17", Statement: [] },
        policies: [{ name: "everything", document: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] } }],
        unreadablePolicyArns: [],
        permissionsBoundaryArn: boundaryOf(stack),
        permissionsBoundary: graph.boundaries[boundaryOf(stack)],
      };
    };

    it("reaches no resource of the other stack (from staging: only the crossings by design)", async () => {
      // Every action any role of either stack is granted, every action `pulumi up` uses, and the IAM ones that would escalate.
      const actions = [
        ...new Set([
          ...graph.roles.flatMap((r) => r.policies.flatMap((p) => p.document.Statement.filter((st) => st.Effect === "Allow").flatMap((st) => asList(st.Action)))),
          ...infraReadActions(), ...infraWriteActions(), ...BOUNDED_IAM_ACTIONS,
          "iam:DeleteRolePermissionsBoundary", "iam:AttachRolePolicy", "ecs:RunTask", "rds:DeleteDBInstance", "rds:ModifyDBInstance", "secretsmanager:GetSecretValue", "s3:GetObject",
        ]),
      ].sort();
      const found = await crossings(anything(), graph.targets, (_r, t) => t.environment === otherOf(stack), actions);
      // The check can fail: without its boundary the same role reaches the other stack everywhere.
      const unbounded = await crossings({ ...anything(), permissionsBoundary: undefined }, graph.targets, (_r, t) => t.environment === otherOf(stack), actions);
      expect(unbounded.length).toBeGreaterThan(100);
      if (stack === "prod") expect(found.map(show)).toEqual([]);
      else expect(found.filter((f) => !STAGING_INTO_PROD_ACTIONS.includes(f.action)).map(show)).toEqual([]);
    }, 300_000);

    it("cannot make a role without the boundary, a user, or change a boundary", async () => {
      const r = anything();
      const ask = (action: string, resource: string, context: Record<string, string> = {}) => decide(r.policies, r.arn, { action, resource, context }, undefined, r.permissionsBoundary);
      const newRole = roleArn(`friday-${stack}-new-role-0000000`);
      expect(await ask("iam:CreateRole", newRole, { "iam:PermissionsBoundary": boundaryOf(stack) })).toBe("Allowed");
      expect(await ask("iam:CreateRole", newRole)).not.toBe("Allowed");
      expect(await ask("iam:PutRolePolicy", newRole)).not.toBe("Allowed");
      expect(await ask("iam:CreateUser", `arn:aws:iam::${ACCOUNT}:user/anyone`)).not.toBe("Allowed");
      expect(await ask("iam:DeleteRolePermissionsBoundary", newRole, { "iam:PermissionsBoundary": boundaryOf(stack) })).toBe("ExplicitlyDenied");
      expect(await ask("iam:CreatePolicyVersion", boundaryOf(stack))).toBe("ExplicitlyDenied");
      if (stack === "staging") {
        expect(await ask("iam:CreateRole", newRole, { "iam:PermissionsBoundary": boundaryOf("prod") })).not.toBe("Allowed");
        // The snapshot crossing: prod's instance only into a staging-named snapshot.
        const rds = (resource: string) => `arn:aws:rds:${REGION}:${ACCOUNT}:${resource}`;
        expect(await decideAll(r.policies, r.arn, "rds:CreateDBSnapshot", [rds("db:friday-prod-db"), rds("snapshot:friday-staging-refresh-r1-source")], {}, r.permissionsBoundary)).toBe("Allowed");
        expect(await decideAll(r.policies, r.arn, "rds:CreateDBSnapshot", [rds("db:friday-prod-db"), rds("snapshot:elsewhere")], {}, r.permissionsBoundary)).toBe("ExplicitlyDenied");
      }
    });
  });
});

describe("the pipeline's steps can use what they are given", () => {
  it("no CodeBuild step's role denies itself the artifacts key or its log group (prod's stack holds, and tags, both)", async () => {
    // A step's own allows (pipeline-policies.ts baseStatements) against its whole policy set, denies
    // included: the staging steps' deny of friday:stack=prod resources once cancelled them.
    const steps = graph.roles.filter((r) => r.policies.some((p) => p.document.Statement.some((s) => s.Sid === "ArtifactsKey")));
    expect(steps.map((r) => r.resourceName)).toEqual(expect.arrayContaining(["friday-staging-infra-role", "friday-pr-preview-staging-role"]));
    const problems: string[] = [];
    for (const r of steps) {
      const own = r.policies.flatMap((p) => p.document.Statement).filter((s) => s.Effect === "Allow" && ["ArtifactsKey", "ReadArtifacts", "Logs"].includes(s.Sid ?? ""));
      for (const statement of own) {
        for (const action of asList(statement.Action)) {
          // A log stream and an object are authorized with their log group's and bucket's tags.
          for (const resource of asList(statement.Resource).map((a) => a.replace(/:\*$/, ":log-stream:build-1").replace(/\/\*$/, "/friday/source.zip"))) {
            const target = graph.targets.find((t) => t.arn === resource || resource.startsWith(`${t.arn}:log-stream:`) || resource.startsWith(`${t.arn}/`));
            if (!target) {
              problems.push(`${r.resourceName} ${action} on ${resource}: no such resource in the graph`);
              continue;
            }
            const decision = await decide(r.policies, r.arn, { action, resource, context: target.context }, target.resourcePolicy, r.permissionsBoundary);
            if (decision !== "Allowed" && decision !== "NotApplicable") problems.push(`${r.resourceName} ${action} on ${resource}: ${decision}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });
  it("and only use them: the staging steps' roles cannot change the artifacts key or any log group of prod's stack", async () => {
    const targetOf = (pattern: RegExp) => {
      const found = graph.targets.find((t) => pattern.test(t.arn));
      if (!found) throw new Error(`no target matches ${pattern}`);
      return found;
    };
    const artifactsKey = graph.targets.find((t) => t.arn.includes(":key/") && t.context[`aws:ResourceTag/${STAGING_STEPS_TAG.key}`] === STAGING_STEPS_TAG.value);
    expect(artifactsKey).toBeDefined();
    const prodInfraLogs = targetOf(/log-group:\/aws\/codebuild\/friday-prod-infra$/);
    const requests: Array<[string, { arn: string; context: Record<string, string | string[]>; resourcePolicy?: PolicyDoc }]> = [
      ["kms:ScheduleKeyDeletion", artifactsKey!],
      ["kms:PutKeyPolicy", artifactsKey!],
      ["logs:DeleteLogGroup", targetOf(/log-group:\/aws\/codebuild\/friday-staging-infra$/)],
      ["logs:PutRetentionPolicy", targetOf(/log-group:\/aws\/codebuild\/friday-pr-preview-staging$/)],
      ["logs:DeleteLogGroup", prodInfraLogs],
      ["logs:PutLogEvents", { ...prodInfraLogs, arn: `${prodInfraLogs.arn}:log-stream:build-1` }],
    ];
    const decisions: string[] = [];
    for (const name of ["friday-staging-infra-role", "friday-pr-preview-staging-role"]) {
      const r = role(name);
      for (const [action, target] of requests) {
        decisions.push(`${name} ${action} ${target.arn}: ${await decide(r.policies, r.arn, { action, resource: target.arn, context: target.context }, target.resourcePolicy, r.permissionsBoundary)}`);
      }
    }
    expect(decisions.filter((d) => d.endsWith(": Allowed"))).toEqual([]);
  });
});
