import * as pulumi from "@pulumi/pulumi";
import { FAKE_ACCOUNT, installMocks, promiseOf, settle, type RecordedResource } from "../scripts/lib/pulumi-mocks";
import { parseStackConfig } from "../infra/config";
import { readStackConfigFile } from "../scripts/lib/offline-program";
import { refreshParameterName } from "../infra/refresh-parameters";
import type { PolicyDoc, PolicyStatement } from "../test/support/iam-graph";
import { list } from "../test/support/iam";
import { decide } from "../test/support/iam-simulation";

let recorded: RecordedResource[] = [];

const ACCOUNT = FAKE_ACCOUNT;
const REGION = "us-east-1";
const rds = (kind: string, id: string) => `arn:aws:rds:${REGION}:${ACCOUNT}:${kind}:${id}`;
const PROD_DB = rds("db", "friday-prod-db");
const STAGING_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:rds!db-staging-AbCdEf`;
const PROD_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:rds!db-prod-XyZ123`;
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:friday-staging-notifications`;
const SERVICE = `arn:aws:ecs:${REGION}:${ACCOUNT}:service/friday-staging/friday-staging-app`;
const CLUSTER = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/friday-staging`;
const APP_TASK_ROLE = `arn:aws:iam::${ACCOUNT}:role/friday-staging-service-task-role`;
const APP_EXECUTION_ROLE = `arn:aws:iam::${ACCOUNT}:role/friday-staging-service-execution-role`;
const REPOSITORY = `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/friday-cli`;

beforeAll(async () => {
  recorded = await installMocks({
    stack: "staging",
    region: REGION,
    state: (type, name, inputs) =>
      type === "aws:secretsmanager/secret:Secret"
        ? { arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${inputs.name}-Q1w2E3` }
        : type === "aws:ecs/taskDefinition:TaskDefinition"
          ? { arn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${inputs.family}:1`, arnWithoutRevision: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${inputs.family}` }
          : type === "aws:cloudwatch/logGroup:LogGroup"
            ? { arn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${inputs.name}` }
            : { arn: `arn:aws:${type.split(":")[1].split("/")[0]}:${REGION}:${ACCOUNT}:${name}` },
  });
});


const settings = parseStackConfig("staging", {
  ...readStackConfigFile("staging"),
  "friday:stagingRefresh": JSON.stringify({ schedule: "cron(30 2 ? * MON *)", retentionHours: 48, scrubConcurrency: 4 }),
}).stagingRefresh;

async function build(overrides: Record<string, unknown> = {}) {
  recorded.length = 0;
  const { StagingRefresh } = await import("./staging-refresh");
  const component = new StagingRefresh("staging-refresh", {
    stack: "staging",
    image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/friday-cli@sha256:${"a".repeat(64)}`,
    imageRepositoryArn: REPOSITORY,
    vpcId: "vpc-1",
    subnetIds: ["subnet-a", "subnet-b"],
    clusterArn: CLUSTER,
    serviceArn: SERVICE,
    databaseSecurityGroupId: "sg-staging-db",
    taskRoleArn: APP_TASK_ROLE,
    taskExecutionRoleArn: APP_EXECUTION_ROLE,
    databaseSubnetGroupName: "friday-staging-db-subnets",
    databaseParameterGroupName: "friday-staging-db-postgres17",
    notificationsTopicArn: TOPIC,
    settings,
    ...overrides,
  });
  await promiseOf(pulumi.all([component.taskDefinition.arn, component.schedule.arn, component.failureAlarm.arn]));
  await settle();
  return component;
}

const only = (type: string, name?: string) => {
  const found = recorded.filter((r) => r.type === type && (name === undefined || r.name === name));
  expect(found).toHaveLength(1);
  return found[0];
};

// ------------------------------------------------------------------------------------------------
// The real IAM evaluator (test/support/iam-simulation.ts); `context` holds request and resource keys.

type Statement = PolicyStatement;
async function allowed(policy: { Statement: Statement[] }, action: string, resource: string, context: Record<string, string> = {}): Promise<boolean> {
  const document = { Version: "2012-10-17", Statement: policy.Statement } as PolicyDoc;
  const decision = await decide([{ name: "task-policy", document }], `arn:aws:iam::${ACCOUNT}:role/staging-refresh-task-role`, { action, resource, context });
  // An action asked about a resource type it does not take decides nothing: that check could not fail.
  if (decision === "NotApplicable") throw new Error(`${action} does not act on ${resource}: ask about the resource type it takes`);
  return decision === "Allowed";
}

describe("StagingRefresh", () => {
  let taskPolicy: { Statement: Statement[] };
  beforeAll(async () => {
    await build();
    taskPolicy = JSON.parse(only("aws:iam/rolePolicy:RolePolicy", "staging-refresh-task-policy").inputs.policy);
  });

  it("is a friday:data:StagingRefresh whose children are all parented to it and named after it", async () => {
    const component = only("friday:data:StagingRefresh");
    expect(component.name).toBe("staging-refresh");
    for (const r of recorded.filter((r) => r.type !== "friday:data:StagingRefresh")) {
      expect(r.name).toMatch(/^staging-refresh-/);
      expect(r.parent).toMatch(/friday:data:StagingRefresh::staging-refresh$/);
    }
  });

  it("runs `staging refresh --stack staging` from the given image on Fargate with its own roles and logs", async () => {
    const task = only("aws:ecs/taskDefinition:TaskDefinition").inputs;
    expect(task).toMatchObject({ family: "friday-staging-staging-refresh", requiresCompatibilities: ["FARGATE"], networkMode: "awsvpc", cpu: "1024", memory: "2048", runtimePlatform: { cpuArchitecture: "ARM64" } });
    const [container] = JSON.parse(task.containerDefinitions);
    expect(container).toMatchObject({
      image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/friday-cli@sha256:${"a".repeat(64)}`,
      command: ["staging", "refresh", "--stack", "staging", "--region", REGION],
      logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/friday/staging/staging-refresh" } },
    });
    expect(JSON.stringify(container)).not.toMatch(/secret|password|key/i);
  });

  it("runs on the configured EventBridge Scheduler cron, in private subnets with the job's security group", async () => {
    const schedule = only("aws:scheduler/schedule:Schedule").inputs;
    expect(schedule).toMatchObject({
      scheduleExpression: "cron(30 2 ? * MON *)",
      scheduleExpressionTimezone: "UTC",
      state: "ENABLED",
      flexibleTimeWindow: { mode: "OFF" },
      target: {
        arn: CLUSTER,
        retryPolicy: { maximumRetryAttempts: 0 },
        ecsParameters: { launchType: "FARGATE", taskCount: 1, networkConfiguration: { subnets: ["subnet-a", "subnet-b"], securityGroups: ["staging-refresh-job-sg-id"], assignPublicIp: false } },
      },
    });
    const policy = JSON.parse(only("aws:iam/rolePolicy:RolePolicy", "staging-refresh-scheduler-policy").inputs.policy);
    expect(policy.Statement).toEqual([
      { Sid: "RunRefreshTask", Effect: "Allow", Action: ["ecs:RunTask"], Resource: [`arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/friday-staging-staging-refresh:*`], Condition: { ArnEquals: { "ecs:cluster": CLUSTER } } },
      { Sid: "PassRefreshRoles", Effect: "Allow", Action: ["iam:PassRole"], Resource: expect.arrayContaining([expect.stringContaining("task-role"), expect.stringContaining("execution-role")]), Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } } },
    ]);
    const trust = JSON.parse(only("aws:iam/role:Role", "staging-refresh-scheduler-role").inputs.assumeRolePolicy);
    expect(trust.Statement[0]).toMatchObject({ Principal: { Service: "scheduler.amazonaws.com" }, Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT } } });
  });

  describe("the task role", () => {
    const prodChanges = [
      "rds:ModifyDBInstance",
      "rds:DeleteDBInstance",
      "rds:RebootDBInstance",
      "rds:StopDBInstance",
      "rds:AddTagsToResource",
      "rds:RemoveTagsFromResource",
      "rds:RestoreDBInstanceFromDBSnapshot",
      "rds:RestoreDBInstanceToPointInTime",
      "rds:CreateDBInstanceReadReplica",
      "rds:PromoteReadReplica",
    ];

    it.each(prodChanges)("cannot %s prod's database", async (action) => {
      expect(await allowed(taskPolicy, action, PROD_DB)).toBe(false);
    });

    it.each(["rds:StartExportTask", "rds:DeleteDBSnapshot", "rds:CopyDBSnapshot", "rds:ModifyDBSnapshotAttribute"])("cannot %s prod's own snapshots", async (action) => {
      expect(await allowed(taskPolicy, action, rds("snapshot", "rds:friday-prod-db-2026-11-25-03-00"))).toBe(false);
    });

    it("can snapshot prod, but only into a snapshot named with the refresh prefix", async () => {
      const asSource = { "aws:RequestTag/friday:refresh-role": "source-snapshot" };
      expect(await allowed(taskPolicy, "rds:CreateDBSnapshot", PROD_DB, asSource)).toBe(true);
      expect(await allowed(taskPolicy, "rds:CreateDBSnapshot", rds("snapshot", "friday-staging-refresh-r20261126030000-source"), asSource)).toBe(true);
      // without the tag that makes it the run's source snapshot, not even that
      expect(await allowed(taskPolicy, "rds:CreateDBSnapshot", PROD_DB)).toBe(false);
      expect(await allowed(taskPolicy, "rds:CreateDBSnapshot", rds("snapshot", "friday-staging-refresh-r20261126030000-scrubbed"), asSource)).toBe(false);
      expect(await allowed(taskPolicy, "rds:CreateDBSnapshot", rds("snapshot", "friday-prod-db-manual"))).toBe(false);
      expect(await allowed(taskPolicy, "rds:DeleteDBSnapshot", rds("snapshot", "rds:friday-prod-db-2026-11-25-03-00"))).toBe(false);
      expect(await allowed(taskPolicy, "rds:ModifyDBSnapshotAttribute", rds("snapshot", "friday-staging-refresh-r20261126030000-source"))).toBe(false);
    });

    it("can never share, copy or export the unscrubbed copies, even if a later statement allowed it", async () => {
      const withEverything = { ...taskPolicy, Statement: [...taskPolicy.Statement, { Effect: "Allow", Action: "rds:*", Resource: "*" } as (typeof taskPolicy.Statement)[number]] };
      // Each action against the unscrubbed copy of the type it takes: the source snapshot, the isolated instance.
      const unscrubbed: Array<[string, string[]]> = [
        [rds("snapshot", "friday-staging-refresh-r20261126030000-source"), ["rds:CopyDBSnapshot", "rds:ModifyDBSnapshotAttribute", "rds:StartExportTask"]],
        [rds("db", "friday-staging-refresh-r20261126030000-isolated"), ["rds:CreateDBInstanceReadReplica"]],
      ];
      for (const [resource, actions] of unscrubbed) {
        for (const action of actions) {
          expect(`${action} ${resource}: ${await allowed(withEverything, action, resource)}`).toBe(`${action} ${resource}: false`);
        }
      }
      // what the run itself does with them stays allowed
      const verified = { "aws:RequestTag/friday:refresh-role": "scrubbed-snapshot", "aws:ResourceTag/friday:refresh-scrub": "verified" };
      expect(await allowed(taskPolicy, "rds:CreateDBSnapshot", rds("db", "friday-staging-refresh-r20261126030000-isolated"), verified)).toBe(true);
      expect(await allowed(taskPolicy, "rds:RestoreDBInstanceFromDBSnapshot", rds("snapshot", "friday-staging-refresh-r20261126030000-source"), { "aws:RequestTag/friday:refresh-role": "isolated" })).toBe(true);
      expect(await allowed(taskPolicy, "rds:DeleteDBSnapshot", rds("snapshot", "friday-staging-refresh-r20261126030000-source"))).toBe(true);
    });

    it("restores only into the run's instances, and modifies, renames and deletes only resources named friday-staging-…", async () => {
      for (const id of ["friday-staging-db", "friday-staging-db-previous", "friday-staging-refresh-r20261126030000-isolated", "friday-staging-refresh-r20261126030000-new"]) {
        for (const action of ["rds:ModifyDBInstance", "rds:DeleteDBInstance", "rds:AddTagsToResource"]) {
          expect(`${action} ${id}: ${await allowed(taskPolicy, action, rds("db", id))}`).toBe(`${action} ${id}: true`);
        }
      }
      const restore = async (id: string, role: string) => allowed(taskPolicy, "rds:RestoreDBInstanceFromDBSnapshot", rds("db", id), { "aws:RequestTag/friday:refresh-role": role });
      expect(await restore("friday-staging-refresh-r20261126030000-isolated", "isolated")).toBe(true);
      expect(await restore("friday-staging-refresh-r20261126030000-new", "replacement")).toBe(true);
      expect(await restore("friday-staging-refresh-r20261126030000-new", "isolated")).toBe(false);
      expect(await restore("friday-staging-db", "replacement")).toBe(false);
      expect(await restore("friday-staging-db-previous", "replacement")).toBe(false);
      for (const id of ["friday-prod-db", "friday-prod-db-previous", "other-app-db"]) {
        for (const action of ["rds:RestoreDBInstanceFromDBSnapshot", "rds:ModifyDBInstance", "rds:DeleteDBInstance", "rds:AddTagsToResource"]) {
          expect(`${action} ${id}: ${await allowed(taskPolicy, action, rds("db", id))}`).toBe(`${action} ${id}: false`);
        }
      }
      expect(await allowed(taskPolicy, "rds:RestoreDBInstanceFromDBSnapshot", rds("subgrp", "friday-staging-db-subnets"))).toBe(true);
      expect(await allowed(taskPolicy, "rds:RestoreDBInstanceFromDBSnapshot", rds("subgrp", "friday-prod-db-subnets"))).toBe(false);
      expect(await allowed(taskPolicy, "rds:RestoreDBInstanceFromDBSnapshot", rds("pg", "friday-staging-db-postgres17"))).toBe(true);
      // prod on an older major restores with the engine's default group until it is upgraded
      expect(await allowed(taskPolicy, "rds:RestoreDBInstanceFromDBSnapshot", rds("pg", "default.postgres16"))).toBe(true);
      expect(await allowed(taskPolicy, "rds:RestoreDBInstanceFromDBSnapshot", rds("pg", "friday-prod-db-postgres17"))).toBe(false);
    });

    it("reads the scrub key and no other secret (staging's and prod's database secrets included)", async () => {
      const keyArn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:friday/staging/staging-refresh/scrub-key-Q1w2E3`;
      expect(await allowed(taskPolicy, "secretsmanager:GetSecretValue", keyArn)).toBe(true);
      expect(await allowed(taskPolicy, "secretsmanager:PutSecretValue", keyArn)).toBe(true);
      expect(await allowed(taskPolicy, "secretsmanager:GetSecretValue", STAGING_SECRET)).toBe(false);
      expect(await allowed(taskPolicy, "secretsmanager:PutSecretValue", STAGING_SECRET)).toBe(false);
      expect(await allowed(taskPolicy, "secretsmanager:GetSecretValue", PROD_SECRET)).toBe(false);
      // Even a broader grant added later cannot open prod's secret: the deny names everything else.
      const widened = { Statement: [...taskPolicy.Statement, { Effect: "Allow" as const, Action: "secretsmanager:GetSecretValue", Resource: "*" }] };
      expect(await allowed(widened, "secretsmanager:GetSecretValue", PROD_SECRET)).toBe(false);
    });

    it("lets RDS create the replacement's managed secret, only through RDS", async () => {
      const statement = taskPolicy.Statement.find((s: any) => s.Sid === "RdsCreatesManagedSecrets") as any;
      expect(statement).toEqual({
        Sid: "RdsCreatesManagedSecrets",
        Effect: "Allow",
        Action: ["secretsmanager:CreateSecret", "secretsmanager:TagResource", "secretsmanager:RotateSecret"],
        Resource: [`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:rds!db-*`],
        Condition: { Bool: { "aws:ViaAWSService": "true" }, StringLikeIfExists: { "aws:ResourceTag/aws:rds:primaryDBInstanceArn": [rds("db", "friday-staging-*")] } },
      });
      const via = { "aws:ViaAWSService": "true" };
      expect(await allowed(taskPolicy, "secretsmanager:RotateSecret", STAGING_SECRET, { ...via, "aws:ResourceTag/aws:rds:primaryDBInstanceArn": rds("db", "friday-staging-refresh-r20261126030000-new") })).toBe(true);
      expect(await allowed(taskPolicy, "secretsmanager:RotateSecret", PROD_SECRET, { ...via, "aws:ResourceTag/aws:rds:primaryDBInstanceArn": PROD_DB })).toBe(false);
      expect(await allowed(taskPolicy, "secretsmanager:PutSecretValue", STAGING_SECRET)).toBe(false);
      expect(await allowed(taskPolicy, "secretsmanager:CreateSecret", `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:friday/prod/anything`)).toBe(false);
    });

    it("moves staging's app onto the new secret: its own db-secret-arn parameter, its own service, its own roles", async () => {
      const ssm = (name: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${name}`;
      expect(await allowed(taskPolicy, "ssm:PutParameter", ssm("/friday/staging/db-secret-arn"))).toBe(true);
      expect(await allowed(taskPolicy, "ssm:PutParameter", ssm("/friday/prod/db-secret-arn"))).toBe(false);
      expect(await allowed(taskPolicy, "ssm:PutParameter", ssm("/friday/staging/db-instance-identifier"))).toBe(false);
      // the run lock, and no other parameter may be deleted
      expect(await allowed(taskPolicy, "ssm:PutParameter", ssm("/friday/staging/staging-refresh/lock"))).toBe(true);
      expect(await allowed(taskPolicy, "ssm:DeleteParameter", ssm("/friday/staging/staging-refresh/lock"))).toBe(true);
      expect(await allowed(taskPolicy, "ssm:DeleteParameter", ssm("/friday/staging/db-secret-arn"))).toBe(false);
      expect(await allowed(taskPolicy, "ssm:DeleteParameter", ssm("/friday/prod/staging-refresh/lock"))).toBe(false);
      for (const action of ["ecs:UpdateService", "ecs:ListServiceDeployments", "ecs:DescribeServices"]) {
        expect(await allowed(taskPolicy, action, SERVICE)).toBe(true);
        expect(await allowed(taskPolicy, action, SERVICE.replace(/staging/g, "prod"))).toBe(false);
      }
      const deployment = `arn:aws:ecs:${REGION}:${ACCOUNT}:service-deployment/friday-staging/friday-staging-app/abc123`;
      expect(await allowed(taskPolicy, "ecs:DescribeServiceDeployments", deployment)).toBe(true);
      expect(await allowed(taskPolicy, "ecs:DescribeServiceDeployments", deployment.replace(/staging/g, "prod"))).toBe(false);
      expect(await allowed(taskPolicy, "ecs:RegisterTaskDefinition", `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/friday-staging-app:9`)).toBe(true);
      // not in prod's family, nor in the job's own (a revision there would run with the job's roles)
      expect(await allowed(taskPolicy, "ecs:RegisterTaskDefinition", `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/friday-prod-app:9`)).toBe(false);
      expect(await allowed(taskPolicy, "ecs:RegisterTaskDefinition", `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/friday-staging-staging-refresh:9`)).toBe(false);
      expect(await allowed(taskPolicy, "ecs:TagResource", `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/friday-staging-app:9`)).toBe(true);
      expect(await allowed(taskPolicy, "ecs:TagResource", `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/friday-prod-app:9`)).toBe(false);
      const toTasks = { "iam:PassedToService": "ecs-tasks.amazonaws.com" };
      expect(await allowed(taskPolicy, "iam:PassRole", APP_TASK_ROLE, toTasks)).toBe(true);
      expect(await allowed(taskPolicy, "iam:PassRole", APP_EXECUTION_ROLE, toTasks)).toBe(true);
      expect(await allowed(taskPolicy, "iam:PassRole", APP_TASK_ROLE, { "iam:PassedToService": "lambda.amazonaws.com" })).toBe(false);
      expect(await allowed(taskPolicy, "iam:PassRole", APP_TASK_ROLE.replace("staging", "prod"))).toBe(false);
      expect(await allowed(taskPolicy, "iam:PassRole", `arn:aws:iam::${ACCOUNT}:role/admin`)).toBe(false);
      expect(taskPolicy.Statement.find((s: any) => s.Sid === "PassAppRoles")).toMatchObject({ Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } } });
    });

    it("reads only its own stack's parameters (and prod's database identifier)", async () => {
      const ssm = (name: string) => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${name}`;
      expect(await allowed(taskPolicy, "ssm:GetParameters", ssm("/friday/staging/db-instance-identifier"))).toBe(true);
      expect(await allowed(taskPolicy, "ssm:GetParameters", ssm(refreshParameterName("staging", "scrubKeySecretArn")))).toBe(true);
      expect(await allowed(taskPolicy, "ssm:GetParameters", ssm("/friday/prod/db-instance-identifier"))).toBe(true);
      expect(await allowed(taskPolicy, "ssm:GetParameters", ssm("/friday/prod/db-secret-arn"))).toBe(false);
      expect(await allowed(taskPolicy, "ssm:PutParameter", ssm("/friday/staging/db-instance-identifier"))).toBe(false);
      // the run lock, and no other parameter may be deleted
      expect(await allowed(taskPolicy, "ssm:PutParameter", ssm("/friday/staging/staging-refresh/lock"))).toBe(true);
      expect(await allowed(taskPolicy, "ssm:DeleteParameter", ssm("/friday/staging/staging-refresh/lock"))).toBe(true);
      expect(await allowed(taskPolicy, "ssm:DeleteParameter", ssm("/friday/staging/db-secret-arn"))).toBe(false);
      expect(await allowed(taskPolicy, "ssm:DeleteParameter", ssm("/friday/prod/staging-refresh/lock"))).toBe(false);
    });

    it("has no wildcard actions, and '*' resources only where AWS offers no resource-level permission", async () => {
      for (const policy of recorded.filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy").map((r) => JSON.parse(r.inputs.policy))) {
        for (const s of policy.Statement) {
          for (const action of list(s.Action)) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
          if (s.Resource === "*" || list(s.Resource).includes("*")) {
            expect(["ecr:GetAuthorizationToken", "elasticloadbalancing:DescribeTargetHealth", "ecs:ListTasks", "ecs:DescribeTaskDefinition"]).toEqual(expect.arrayContaining(list(s.Action)));
            if (list(s.Action).includes("ecs:ListTasks")) expect(s.Condition).toEqual({ ArnEquals: { "ecs:cluster": CLUSTER } });
          }
        }
      }
    });

    it("publishes failures, reads and updates only its own service", async () => {
      expect(await allowed(taskPolicy, "sns:Publish", TOPIC)).toBe(true);
      expect(await allowed(taskPolicy, "sns:Publish", TOPIC.replace("staging", "prod"))).toBe(false);
      expect(await allowed(taskPolicy, "ecs:DescribeServices", SERVICE)).toBe(true);
      expect(await allowed(taskPolicy, "ecs:UpdateService", SERVICE.replace(/staging/g, "prod"))).toBe(false);
    });

    it("grants use of a customer-managed database key only through RDS, when one is given", async () => {
      expect(taskPolicy.Statement.some((s) => list(s.Action).some((a) => a.startsWith("kms:")))).toBe(false);
      await build({ databaseKmsKeyArn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/k-1` });
      const policy = JSON.parse(only("aws:iam/rolePolicy:RolePolicy", "staging-refresh-task-policy").inputs.policy);
      expect(policy.Statement).toContainEqual(expect.objectContaining({ Sid: "UseDatabaseKeyThroughRds", Resource: [`arn:aws:kms:${REGION}:${ACCOUNT}:key/k-1`], Condition: { StringEquals: { "kms:ViaService": `rds.${REGION}.amazonaws.com` } } }));
      await build();
    });
  });

  describe("security groups", () => {
    const ingressRules = () => recorded.filter((r) => r.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
    const egressRules = () => recorded.filter((r) => r.type === "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule");

    it("the isolated group admits PostgreSQL from the job's group and nothing else, and has no egress", async () => {
      const sgs = recorded.filter((r) => r.type === "aws:ec2/securityGroup:SecurityGroup");
      expect(sgs.map((s) => s.name).sort()).toEqual(["staging-refresh-isolated-sg", "staging-refresh-job-sg"]);
      for (const sg of sgs) {
        expect(sg.inputs.ingress ?? []).toEqual([]);
        expect(sg.inputs.egress ?? []).toEqual([]);
      }
      expect(ingressRules().filter((r) => r.inputs.securityGroupId === "staging-refresh-isolated-sg-id").map((r) => r.inputs)).toEqual([
        expect.objectContaining({ referencedSecurityGroupId: "staging-refresh-job-sg-id", ipProtocol: "tcp", fromPort: 5432, toPort: 5432 }),
      ]);
      expect(ingressRules().some((r) => r.inputs.cidrIpv4 || r.inputs.cidrIpv6 || r.inputs.prefixListId)).toBe(false);
      expect(egressRules().filter((r) => r.inputs.securityGroupId === "staging-refresh-isolated-sg-id")).toEqual([]);
    });

    it("the job has no ingress; it reaches the isolated instance, staging's database and HTTPS", async () => {
      expect(ingressRules().filter((r) => r.inputs.securityGroupId === "staging-refresh-job-sg-id")).toEqual([]);
      expect(egressRules().map((r) => [r.inputs.referencedSecurityGroupId ?? r.inputs.cidrIpv4, r.inputs.fromPort]).sort()).toEqual([
        ["0.0.0.0/0", 443],
        ["sg-staging-db", 5432],
        ["staging-refresh-isolated-sg-id", 5432],
      ]);
      expect(ingressRules().filter((r) => r.inputs.securityGroupId === "sg-staging-db").map((r) => r.inputs.referencedSecurityGroupId)).toEqual(["staging-refresh-job-sg-id"]);
    });
  });

  it("keeps the scrub key in Secrets Manager without a value in the program (the job makes it)", async () => {
    expect(only("aws:secretsmanager/secret:Secret").inputs).toMatchObject({ name: "friday/staging/staging-refresh/scrub-key" });
    expect(recorded.filter((r) => r.type === "aws:secretsmanager/secretVersion:SecretVersion")).toEqual([]);
  });

  it("publishes what the job reads as SSM parameters", async () => {
    const params = Object.fromEntries(recorded.filter((r) => r.type === "aws:ssm/parameter:Parameter").map((r) => [r.inputs.name, r.inputs.value?.value ?? r.inputs.value])); // the provider marks values secret
    expect(params).toEqual({
      [refreshParameterName("staging", "isolatedSecurityGroupId")]: "staging-refresh-isolated-sg-id",
      [refreshParameterName("staging", "scrubKeySecretArn")]: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:friday/staging/staging-refresh/scrub-key-Q1w2E3`,
      [refreshParameterName("staging", "retentionHours")]: "48",
      [refreshParameterName("staging", "scrubConcurrency")]: "4",
    });
  });

  it("alarms to the notifications topic on a failed run (counted from the job's log)", async () => {
    const filter = only("aws:cloudwatch/logMetricFilter:LogMetricFilter").inputs;
    expect(filter).toMatchObject({ logGroupName: "/friday/staging/staging-refresh", pattern: '"STAGING REFRESH FAILED"', metricTransformation: { name: "StagingRefreshFailures", namespace: "friday/staging", value: "1" } });
    expect(only("aws:cloudwatch/metricAlarm:MetricAlarm").inputs).toMatchObject({
      metricName: "StagingRefreshFailures",
      namespace: "friday/staging",
      threshold: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      treatMissingData: "notBreaching",
      alarmActions: [TOPIC],
    });
  });

  it("notifies the topic when the job's task stops without a clean exit (never started, killed, out of memory), which prints no failure line", async () => {
    const rule = only("aws:cloudwatch/eventRule:EventRule").inputs;
    const pattern = JSON.parse(rule.eventPattern as string);
    expect(pattern).toEqual({
      source: ["aws.ecs"],
      "detail-type": ["ECS Task State Change"],
      detail: {
        clusterArn: [expect.stringContaining("friday-staging")],
        group: ["family:friday-staging-staging-refresh"],
        lastStatus: ["STOPPED"],
        $or: [{ stopCode: ["TaskFailedToStart", "SpotInterruption", "TerminationNotice"] }, { containers: { exitCode: [{ "anything-but": 0 }] } }],
      },
    });
    const target = only("aws:cloudwatch/eventTarget:EventTarget").inputs;
    expect(target.arn).toBe(TOPIC);
    expect(target.inputTransformer.inputPaths).toEqual({ task: "$.detail.taskArn", stopCode: "$.detail.stopCode", reason: "$.detail.stoppedReason" });
    expect(JSON.parse(target.inputTransformer.inputTemplate)).toMatch(/^STAGING REFRESH TASK STOPPED: <task> \(<stopCode>: <reason>\)\. .*friday staging refresh --stack staging/);
  });

  it("a disabled schedule still leaves the job runnable by hand", async () => {
    await build({ settings: { ...settings, enabled: false } });
    expect(only("aws:scheduler/schedule:Schedule").inputs.state).toBe("DISABLED");
    expect(recorded.filter((r) => r.type === "aws:ecs/taskDefinition:TaskDefinition")).toHaveLength(1);
    await build();
  });
});

describe("validateStagingRefreshArgs", () => {
  const base = { stack: "staging", image: "x", imageRepositoryArn: "x", vpcId: "x", subnetIds: [], clusterArn: "x", serviceArn: "x", databaseSecurityGroupId: "x", taskRoleArn: "x", taskExecutionRoleArn: "x", databaseSubnetGroupName: "x", databaseParameterGroupName: "x", notificationsTopicArn: "x", settings };

  it.each([
    [{ stack: "prod" }, 'StagingRefresh "r": stack must be "staging": the refresh only ever replaces staging\'s database (got "prod").'],
    [{ sourceDatabaseIdentifier: "friday-staging-copy" }, 'StagingRefresh "r": sourceDatabaseIdentifier must not start with "friday-staging-": the job may modify and delete everything named so (got "friday-staging-copy").'],
    [{ databaseIdentifier: "staging-db" }, 'StagingRefresh "r": databaseIdentifier must start with "friday-staging-" (the job\'s IAM is scoped to that prefix) (got "staging-db").'],
    [{ memory: 512 }, 'StagingRefresh "r": memory must be between 2048 and 8192 MiB for cpu 1024 (got 512).'],
    [{ cpu: 300 }, 'StagingRefresh "r": cpu must be a Fargate size: 256, 512, 1024, 2048 or 4096 (got 300).'],
    [{ sourceStack: "staging" }, 'StagingRefresh "r": sourceStack must differ from stack (got "staging").'],
    [{ settings: { ...settings, schedule: "rate(1 day)" } }, 'StagingRefresh "r": settings.schedule must be a six-field cron expression like "cron(0 4 ? * SUN *)" (got "rate(1 day)").'],
  ])("%j", async (override, message) => {
    const { validateStagingRefreshArgs } = await import("./staging-refresh");
    expect(() => validateStagingRefreshArgs("r", { ...base, ...override } as any)).toThrow(message);
  });

  it("accepts the defaults", async () => {
    const { validateStagingRefreshArgs } = await import("./staging-refresh");
    expect(() => validateStagingRefreshArgs("r", base as any)).not.toThrow();
  });
});
