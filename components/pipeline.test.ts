import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installMocks, settle, type RecordedResource } from "../scripts/lib/pulumi-mocks";
import type { CliBundle } from "../infra/cli-bundle";
import { SETTING_DEFAULTS } from "../infra/config";
import type { Pipeline as PipelineType, PipelineArgs } from "./pipeline";
import type { PolicyDocument, Statement } from "./pipeline-policies";
import { ACCOUNT, fakeInfra, fakeStack, REGION } from "../test/support/pipeline-fixtures";

/**
 * The Pipeline component alone, under Pulumi mocks, with fake outputs of two stacks whose every
 * identifier says which stack it belongs to — so "staging roles reference no prod ARN" is a string
 * check that cannot pass by accident.
 */


type Recorded = RecordedResource;
let recorded: Recorded[] = [];

beforeAll(async () => {
  recorded = await installMocks({
    stack: "prod",
    region: REGION,
    state: (type, name, inputs) => {
      const state: Record<string, any> = { arn: `arn:aws:${type.split(":")[1].split("/")[0]}:${REGION}:${ACCOUNT}:${name}` };
      if (type === "aws:s3/bucket:Bucket") Object.assign(state, { bucket: `${name}-abc`, arn: `arn:aws:s3:::${name}-abc` });
      if (type === "aws:kms/key:Key") state.arn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${name}`;
      if (type === "aws:codebuild/project:Project") state.arn = `arn:aws:codebuild:${REGION}:${ACCOUNT}:project/${inputs.name}`;
      if (type === "aws:codeconnections/connection:Connection") state.arn = `arn:aws:codeconnections:${REGION}:${ACCOUNT}:connection/abc-123`;
      if (type === "aws:cloudwatch/eventRule:EventRule") state.name = `${name}-rule`;
      return state;
    },
  });
});

/** One fake bundle for every baseArgs() call (one temporary directory, removed after the file). */
let bundleDir: string | undefined;
function fakeBundle(): CliBundle {
  bundleDir ??= mkdtempSync(join(tmpdir(), "friday-pipeline-test-"));
  const path = join(bundleDir, "friday.js");
  writeFileSync(path, "console.log('friday');\n");
  return { path, sha256: "a".repeat(64), bytes: 23, stubbed: [] };
}

function baseArgs(overrides: Partial<PipelineArgs> = {}): PipelineArgs {
  return {
    repository: "acme/app",
    databaseName: "app",
    prod: fakeStack("prod"),
    staging: fakeStack("staging"),
    cliBundle: fakeBundle(),
    infra: fakeInfra(),
    ...overrides,
  };
}


function one(type: string, name: string): Recorded {
  const found = recorded.filter((r) => r.type === type && r.name === name);
  if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}: ${recorded.filter((r) => r.type === type).map((r) => r.name).join(", ")}`);
  return found[0];
}

const policyOf = (policyResourceName: string): PolicyDocument => JSON.parse(one("aws:iam/rolePolicy:RolePolicy", policyResourceName).inputs.policy);
/** A pipeline step's inline policy statements and its CodeBuild project's inputs, by step key ("build", "staging-infra", …). */
const statements = (key: string): Statement[] => policyOf(`friday-${key}-policy`).Statement;
const project = (key: string) => one("aws:codebuild/project:Project", `friday-${key}-project`).inputs;

let Pipeline: typeof PipelineType;
let validatePipelineArgs: (name: string, args: PipelineArgs) => void;

beforeAll(async () => {
  ({ Pipeline, validatePipelineArgs } = await import("./pipeline"));
  new Pipeline("friday", baseArgs());
  await settle();
});

afterAll(() => bundleDir && rmSync(bundleDir, { recursive: true, force: true }));

const pipelineInputs = () => one("aws:codepipeline/pipeline:Pipeline", "friday-pipeline").inputs;
const stage = (name: string) => pipelineInputs().stages.find((s: any) => s.name === name);
const envVars = (action: any) => JSON.parse(action.configuration.EnvironmentVariables ?? "[]") as { name: string; value: string }[];

describe("the pipeline", () => {
  test("is a V2 pipeline in QUEUED mode (stage rollback needs QUEUED or SUPERSEDED)", () => {
    expect(pipelineInputs()).toMatchObject({ name: "friday", pipelineType: "V2", executionMode: "QUEUED" });
  });

  test("has the stages and actions in order", () => {
    const layout = pipelineInputs().stages.map((s: any) => [s.name, s.actions.map((a: any) => `${a.runOrder ?? 1}:${a.name}`)]);
    expect(layout).toEqual([
      ["Source", ["1:Source"]],
      ["Test", ["1:UnitTestsAndMigrationLint"]],
      ["Build", ["1:BuildImage"]],
      ["StagingInfra", ["1:PulumiUp"]],
      ["Staging", ["1:ExpandMigrations", "2:Deploy", "3:SmokeTests"]],
      ["Gate", ["1:AutomaticChecks", "2:ManualApproval"]],
      ["ProdInfra", ["1:PulumiUp"]],
      ["Prod", ["1:ExpandMigrations", "2:Deploy"]],
    ]);
  });

  test("each step runs its own CodeBuild project", () => {
    const projectOf = (stageName: string, action: string) =>
      stage(stageName).actions.find((a: any) => a.name === action).configuration.ProjectName;
    expect([
      projectOf("Test", "UnitTestsAndMigrationLint"),
      projectOf("Build", "BuildImage"),
      projectOf("Staging", "ExpandMigrations"),
      projectOf("Staging", "Deploy"),
      projectOf("Staging", "SmokeTests"),
      projectOf("Gate", "AutomaticChecks"),
      projectOf("Prod", "ExpandMigrations"),
      projectOf("Prod", "Deploy"),
    ]).toEqual(["friday-test", "friday-build", "friday-staging-migrate", "friday-staging-deploy", "friday-staging-smoke", "friday-gate", "friday-prod-migrate", "friday-prod-deploy"]);
  });

  test("starts on a git push to the branch through the CodeConnections source", () => {
    expect(pipelineInputs().triggers).toEqual([
      { providerType: "CodeStarSourceConnection", gitConfiguration: { sourceActionName: "Source", pushes: [{ branches: { includes: ["main"] } }] } },
    ]);
    expect(stage("Source").actions[0]).toMatchObject({
      provider: "CodeStarSourceConnection",
      namespace: "SourceVariables",
      configuration: {
        ConnectionArn: `arn:aws:codeconnections:${REGION}:${ACCOUNT}:connection/abc-123`,
        FullRepositoryId: "acme/app",
        BranchName: "main",
      },
    });
    // No connection ARN given: the stack creates the connection (approved once in the console).
    expect(one("aws:codeconnections/connection:Connection", "friday-source").inputs).toMatchObject({ providerType: "GitHub" });
  });

  test("the Build stage exports the digest and both deploys get exactly that variable", () => {
    const build = stage("Build").actions[0];
    expect(build.namespace).toBe("BuildVariables");
    expect(envVars(build)).toEqual([{ name: "COMMIT_ID", value: "#{SourceVariables.CommitId}", type: "PLAINTEXT" }]);
    const stagingDeploy = stage("Staging").actions.find((a: any) => a.name === "Deploy");
    const prodDeploy = stage("Prod").actions.find((a: any) => a.name === "Deploy");
    expect(envVars(stagingDeploy)).toEqual([{ name: "IMAGE_URI", value: "#{BuildVariables.IMAGE_URI}", type: "PLAINTEXT" }]);
    expect(envVars(prodDeploy)).toEqual(envVars(stagingDeploy));
    // The gate checks staging runs that digest; migrations are recorded against the commit.
    expect(envVars(stage("Gate").actions[0])).toEqual(envVars(stagingDeploy));
    for (const s of ["Staging", "Prod"]) {
      expect(envVars(stage(s).actions.find((a: any) => a.name === "ExpandMigrations"))).toEqual([
        { name: "COMMIT_ID", value: "#{SourceVariables.CommitId}", type: "PLAINTEXT" },
      ]);
    }
  });

  test("actions without variables carry no EnvironmentVariables at all", () => {
    expect(stage("Test").actions[0].configuration).toEqual({ ProjectName: "friday-test" });
    expect(stage("Staging").actions[2].configuration).toEqual({ ProjectName: "friday-staging-smoke" });
  });

  test("the manual approval notifies the prod topic", () => {
    expect(stage("Gate").actions[1]).toMatchObject({
      category: "Approval",
      provider: "Manual",
      configuration: { NotificationArn: `arn:aws:sns:${REGION}:${ACCOUNT}:friday-prod-notifications` },
    });
  });

  test("the Prod stage: blocked while a prod alarm fires, rolled back when one fires after the deploy or the deploy fails", () => {
    const prod = stage("Prod");
    const alarms = ["friday-prod-alb-5xx-rate", "friday-prod-alb-p99-latency", "friday-prod-unhealthy-targets"];
    const rule = (prefix: string, i: number, extra: Record<string, string> = {}) => ({
      name: `${prefix}${i + 1}`,
      ruleTypeId: { category: "Rule", owner: "AWS", provider: "CloudWatchAlarm", version: "1" },
      configuration: { AlarmName: alarms[i], AlarmStates: "ALARM", ...extra },
    });
    expect(prod.beforeEntry).toEqual({ condition: { result: "FAIL", rules: alarms.map((_, i) => rule("ProdAlarmClearBeforeEntry", i)) } });
    expect(prod.onSuccess).toEqual({ condition: { result: "ROLLBACK", rules: alarms.map((_, i) => rule("ProdAlarmAfterDeploy", i, { WaitTime: String(SETTING_DEFAULTS.deploy.alarmWatchMinutes) })) } });
    expect(prod.onFailure).toEqual({ result: "ROLLBACK" });
    // Only the Prod stage rolls back by itself.
    for (const other of ["Source", "Test", "Build", "Staging", "Gate"]) expect(stage(other).onSuccess ?? stage(other).onFailure).toBeUndefined();
  });

  test("artifacts go to the encrypted bucket", () => {
    expect(pipelineInputs().artifactStores).toEqual([
      { type: "S3", location: "friday-artifacts-bucket-abc", encryptionKey: { type: "KMS", id: `arn:aws:kms:${REGION}:${ACCOUNT}:key/friday-artifacts-key` } },
    ]);
  });
});

describe("the artifacts bucket", () => {
  test("is SSE-KMS with a rotated customer-managed key, versioned, private and TLS-only, with a lifecycle", () => {
    expect(one("aws:kms/key:Key", "friday-artifacts-key").inputs).toMatchObject({ enableKeyRotation: true });
    expect(one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "friday-artifacts-encryption").inputs.rules).toEqual([
      { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: `arn:aws:kms:${REGION}:${ACCOUNT}:key/friday-artifacts-key` }, bucketKeyEnabled: true },
    ]);
    expect(one("aws:s3/bucketVersioning:BucketVersioning", "friday-artifacts-versioning").inputs.versioningConfiguration).toEqual({ status: "Enabled" });
    expect(one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "friday-artifacts-public-access").inputs).toMatchObject({
      blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
    });
    const policy = JSON.parse(one("aws:s3/bucketPolicy:BucketPolicy", "friday-artifacts-policy").inputs.policy);
    expect(policy.Statement).toEqual([
      expect.objectContaining({ Effect: "Deny", Action: "s3:*", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
      // Uploads naming another key or algorithm are refused (test/iam-simulation.test.ts evaluates it).
      expect.objectContaining({ Effect: "Deny", Action: "s3:PutObject", Condition: expect.objectContaining({ StringNotEquals: { "s3:x-amz-server-side-encryption-aws-kms-key-id": `arn:aws:kms:${REGION}:${ACCOUNT}:key/friday-artifacts-key` } }) }),
      expect.objectContaining({ Effect: "Deny", Action: "s3:PutObject", Condition: expect.objectContaining({ StringNotEquals: { "s3:x-amz-server-side-encryption": "aws:kms" } }) }),
    ]);
    const rules = one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "friday-artifacts-lifecycle").inputs.rules;
    expect(rules).toEqual([
      expect.objectContaining({ status: "Enabled", filter: { prefix: "friday/" }, expiration: { days: 90 } }),
      expect.objectContaining({ status: "Enabled", noncurrentVersionExpiration: { noncurrentDays: 7 }, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } }),
    ]);
  });

  test("holds the CLI bundle under its SHA-256, which every step verifies", () => {
    expect(one("aws:s3/bucketObjectv2:BucketObjectv2", "friday-artifacts-cli").inputs).toMatchObject({
      key: `friday-cli/${"a".repeat(64)}.js`,
      serverSideEncryption: "aws:kms",
    });
    const deploy = one("aws:codebuild/project:Project", "friday-prod-deploy-project").inputs;
    expect(deploy.environment.environmentVariables).toEqual(
      expect.arrayContaining([
        { name: "FRIDAY_CLI_KEY", value: `friday-cli/${"a".repeat(64)}.js`, type: "PLAINTEXT" },
        { name: "FRIDAY_CLI_SHA256", value: "a".repeat(64), type: "PLAINTEXT" },
      ]),
    );
  });
});

describe("the CodeBuild projects", () => {

  test("the build project builds natively for the app's architecture, privileged, with local layer caching", () => {
    expect(project("build")).toMatchObject({
      environment: { type: "ARM_CONTAINER", privilegedMode: true },
      cache: { type: "LOCAL", modes: ["LOCAL_DOCKER_LAYER_CACHE", "LOCAL_SOURCE_CACHE"] },
    });
    expect(project("build").environment.environmentVariables).toEqual(
      expect.arrayContaining([
        { name: "ECR_REPOSITORY_URL", value: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/friday-prod-app`, type: "PLAINTEXT" },
        { name: "DOCKER_PLATFORM", value: "linux/arm64", type: "PLAINTEXT" },
      ]),
    );
    for (const key of ["test", "staging-migrate", "staging-deploy", "staging-smoke", "gate", "prod-migrate", "prod-deploy"]) {
      expect(project(key).environment.privilegedMode).toBe(false);
    }
  });

  test("migrations run in each stack's own private subnets, with the database password read at run time", () => {
    expect(project("staging-migrate").vpcConfig).toEqual({ vpcId: "vpc-staging", subnets: ["subnet-staginga", "subnet-stagingb"], securityGroupIds: ["sg-stagingservice"] });
    expect(project("prod-migrate").vpcConfig).toEqual({ vpcId: "vpc-prod", subnets: ["subnet-proda", "subnet-prodb"], securityGroupIds: ["sg-prodservice"] });
    expect(project("staging-smoke").vpcConfig).toMatchObject({ vpcId: "vpc-staging" });
    expect(project("staging-migrate").environment.environmentVariables).toEqual(
      expect.arrayContaining([
        { name: "PGSSLMODE", value: "require", type: "PLAINTEXT" },
        { name: "FRIDAY_REHEARSE", value: "true", type: "PLAINTEXT" },
      ]),
    );
    expect(project("prod-migrate").environment.environmentVariables).toEqual(expect.arrayContaining([{ name: "FRIDAY_REHEARSE", value: "false", type: "PLAINTEXT" }]));
    // No password in the project: the buildspec reads it from the secret SSM names, so a refreshed
    // staging database (with a new secret) does not break the step.
    const names = project("staging-migrate").environment.environmentVariables.map((v: { name: string }) => v.name);
    expect(names).not.toContain("PGPASSWORD");
  });

  test("deploy steps are bounded by the deploy timeout", () => {
    expect(project("prod-deploy").buildTimeout).toBe(75);
    expect(project("prod-deploy").environment.environmentVariables).toEqual(expect.arrayContaining([{ name: "DEPLOY_TIMEOUT_MINUTES", value: "60", type: "PLAINTEXT" }]));
  });

  test("every variable a buildspec reads is set by its project, its pipeline action, itself or CodeBuild", () => {
    const projects = recorded.filter((r) => r.type === "aws:codebuild/project:Project");
    const actions = pipelineInputs().stages.flatMap((s: any) => s.actions);
    expect(projects).toHaveLength(13);
    for (const p of projects) {
      const text: string = p.inputs.source.buildspec;
      const commands = text.split("\n").filter((line) => !line.trim().startsWith("#")).join("\n");
      const read = new Set([...commands.matchAll(/\$\{?([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]));
      const provided = new Set<string>([
        ...p.inputs.environment.environmentVariables.map((v: any) => v.name),
        ...actions.filter((a: any) => a.configuration?.ProjectName === p.inputs.name).flatMap((a: any) => envVars(a).map((v) => v.name)),
        ...[...commands.matchAll(/(?:^|[\s;(])(?:export\s+)?([A-Z_][A-Z0-9_]*)=/g)].map((m) => m[1]),
      ]);
      const missing = [...read].filter((v) => !provided.has(v) && !v.startsWith("CODEBUILD_") && !["PATH", "HOME"].includes(v));
      expect({ project: p.inputs.name, missing }).toEqual({ project: p.inputs.name, missing: [] });
    }
  });

  test("each project has its own role and log group", () => {
    const roles = new Set(recorded.filter((r) => r.type === "aws:codebuild/project:Project").map((r) => r.inputs.serviceRole));
    expect(roles.size).toBe(13);
    expect(project("gate").logsConfig.cloudwatchLogs).toEqual({ status: "ENABLED", groupName: "/aws/codebuild/friday-gate" });
  });
});

describe("IAM", () => {
  const PROJECT_KEYS = ["test", "build", "staging-infra", "staging-migrate", "staging-deploy", "staging-smoke", "gate", "prod-infra", "prod-migrate", "prod-deploy"];
  const all = (): [string, Statement[]][] => [...PROJECT_KEYS.map((k) => [k, statements(k)] as [string, Statement[]]), ["pipeline", policyOf("friday-role-policy").Statement]];

  const prodIdentifiers = Object.values(fakeStack("prod")).flatMap((v) => String(v).split(",")).filter((v) => v !== REGION);

  test("staging's roles (migrate, deploy, smoke, gate) reference no prod identifier at all", () => {
    for (const key of ["staging-migrate", "staging-deploy", "staging-smoke", "gate"]) {
      const text = JSON.stringify(statements(key));
      for (const id of prodIdentifiers) expect({ key, mentions: text.includes(id) ? id : undefined }).toEqual({ key, mentions: undefined });
      expect(text).not.toMatch(/prod/);
    }
  });

  test("only the prod deploy role can change the prod service, register prod revisions or pass prod's task roles", () => {
    const prod = fakeStack("prod");
    const family = `task-definition/${prod.taskDefinitionFamily}:`;
    for (const [key, list] of all()) {
      for (const s of list) {
        const touchesProd = s.Resource.some((r) => r === prod.serviceArn || r.includes(family) || r === prod.taskRoleArn || r === prod.taskExecutionRoleArn);
        const changes = s.Action.some((a) => ["ecs:UpdateService", "ecs:RegisterTaskDefinition", "iam:PassRole"].includes(a));
        if (touchesProd && changes) expect(key).toBe("prod-deploy");
      }
    }
    expect(statements("prod-deploy")).toEqual(
      expect.arrayContaining([
        { Sid: "UpdateService", Effect: "Allow", Action: ["ecs:UpdateService"], Resource: [prod.serviceArn] },
        // Revisions in prod's family only (RegisterTaskDefinition takes the task-definition resource type).
        expect.objectContaining({ Action: ["ecs:RegisterTaskDefinition", "ecs:TagResource"], Resource: [`arn:aws:ecs:${REGION}:${ACCOUNT}:${family}*`] }),
        {
          Sid: "PassTaskRoles",
          Effect: "Allow",
          Action: ["iam:PassRole"],
          Resource: [prod.taskRoleArn, prod.taskExecutionRoleArn],
          Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
        },
      ]),
    );
  });

  test("no role anywhere may update a service, register a revision or pass a role except the two deploy roles", () => {
    for (const [key, list] of all()) {
      const actions = list.flatMap((s) => s.Action);
      const changes = actions.filter((a) => ["ecs:UpdateService", "ecs:RegisterTaskDefinition", "iam:PassRole"].includes(a));
      expect({ key, changes: changes.length > 0 }).toEqual({ key, changes: key === "prod-deploy" || key === "staging-deploy" });
    }
  });

  test("no wildcard actions; '*' resources only for actions AWS cannot scope", async () => {
    const { WILDCARD_ONLY_ACTIONS } = await import("./pipeline-policies");
    for (const [key, list] of all()) {
      for (const s of list) {
        for (const a of s.Action) expect({ key, action: a }).toEqual({ key, action: expect.not.stringMatching(/\*/) });
        if (s.Resource.some((r) => r === "*")) {
          for (const a of s.Action) expect({ key, action: a, allowed: WILDCARD_ONLY_ACTIONS.includes(a) }).toEqual({ key, action: a, allowed: true });
        }
        for (const r of s.Resource) expect({ key, r }).toEqual({ key, r: expect.not.stringMatching(/^arn:[^:]*:[^:]*:[^:]*:[^:]*:\*$/) });
      }
    }
  });

  test("the build role pushes only to the prod repository; the test role has no AWS access beyond its logs and artifacts", () => {
    expect(statements("build")).toEqual(
      expect.arrayContaining([expect.objectContaining({ Sid: "PushImage", Resource: [`arn:aws:ecr:${REGION}:${ACCOUNT}:repository/friday-prod-app`] })]),
    );
    expect(statements("test").map((s) => s.Sid)).toEqual(["Logs", "ReadArtifacts", "ArtifactsKey"]);
  });

  test("the migrate roles read only their own stack's database secret and parameters", () => {
    const secret = (key: string) => statements(key).find((s) => s.Sid === "DatabaseSecret")!;
    // Granted by owner: RDS-managed secrets tagged with the stack's own database (or the instance a refresh swaps in).
    expect(secret("staging-migrate").Resource).toEqual([`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:rds!db-*`]);
    expect((secret("staging-migrate") as any).Condition).toEqual({
      StringLike: { "aws:ResourceTag/aws:rds:primaryDBInstanceArn": [`arn:aws:rds:${REGION}:${ACCOUNT}:db:friday-staging-db`, `arn:aws:rds:${REGION}:${ACCOUNT}:db:friday-staging-refresh-*-new`] },
    });
    expect(JSON.stringify((secret("prod-migrate") as any).Condition)).not.toContain("staging");
    expect(JSON.stringify((secret("staging-migrate") as any).Condition)).not.toContain("prod");
    expect(statements("prod-migrate").find((s) => s.Sid === "StackParameters")!.Resource).toEqual([`arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/friday/prod/*`]);
  });

  test("the pipeline role starts only its own projects, uses only its connection, and cannot deploy", () => {
    const list = policyOf("friday-role-policy").Statement;
    expect(list.find((s) => s.Sid === "Builds")!.Resource.sort()).toEqual(PROJECT_KEYS.map((k) => `arn:aws:codebuild:${REGION}:${ACCOUNT}:project/friday-${k}`).sort());
    expect(list.find((s) => s.Sid === "Source")!.Resource).toEqual([`arn:aws:codeconnections:${REGION}:${ACCOUNT}:connection/abc-123`]);
    expect(list.find((s) => s.Sid === "StageConditions")!.Resource).toEqual(
      ["alb-5xx-rate", "alb-p99-latency", "unhealthy-targets"].map((n) => `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:friday-prod-${n}`),
    );
    expect(list.flatMap((s) => s.Action).filter((a) => a.startsWith("ecs:") || a.startsWith("iam:"))).toEqual([]);
  });
});

describe("the image registry", () => {
  test("staging's task execution role may pull (only pull) the releases from prod's repository", () => {
    const grant = one("aws:ecr/repositoryPolicy:RepositoryPolicy", "friday-release-pull").inputs;
    expect(grant.repository).toBe("friday-prod-app");
    expect(JSON.parse(grant.policy).Statement).toEqual([
      {
        Sid: "StagingPullsReleases",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/friday-staging-execution` },
        Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
      },
    ]);
  });
});

describe("notifications", () => {
  test("failures, rollbacks and approvals go to the prod topic through EventBridge", () => {
    const rules = recorded.filter((r) => r.type === "aws:cloudwatch/eventRule:EventRule" && r.name.startsWith("friday-notify-"));
    const patterns = Object.fromEntries(rules.map((r) => [r.name.replace("friday-notify-", ""), JSON.parse(r.inputs.eventPattern)]));
    expect(patterns.failed).toEqual({ source: ["aws.codepipeline"], "detail-type": ["CodePipeline Pipeline Execution State Change"], detail: { pipeline: ["friday"], state: ["FAILED"] } });
    expect(patterns.rollback.detail["execution-trigger"]).toEqual({ "trigger-type": ["AutomatedRollback", "ManualRollback"] });
    expect(patterns.approval.detail).toMatchObject({ pipeline: ["friday"], type: { category: ["Approval"] } });
    const targets = recorded.filter((r) => r.type === "aws:cloudwatch/eventTarget:EventTarget");
    expect(targets.map((t) => t.inputs.arn)).toEqual(Array(3).fill(`arn:aws:sns:${REGION}:${ACCOUNT}:friday-prod-notifications`));
  });
});

describe("validatePipelineArgs", () => {
  test.each([
    [{ repository: "app" }, 'Pipeline "friday": repository must be "owner/name", e.g. "acme/app" (got "app").'],
    [{ branch: "feature branch" }, 'Pipeline "friday": branch must be a git branch name (got "feature branch").'],
    [{ filePaths: [] }, "Pipeline \"friday\": filePaths must hold 1 to 8 non-empty path globs (CodePipeline's limit), or be left out (got [])."],
    [{ deployTimeoutMinutes: 2 }, 'Pipeline "friday": deployTimeoutMinutes must be a whole number from 5 to 480 (got 2).'],
    [{ connectionArn: "arn:aws:iam::1:role/x" }, 'Pipeline "friday": connectionArn must be a CodeConnections connection ARN (got "arn:aws:iam::1:role/x").'],
    [{ testCommand: " " }, 'Pipeline "friday": testCommand must be a command; leave it out for the default (got " ").'],
    [{ lintCommand: "" }, 'Pipeline "friday": lintCommand must be a command; leave it out for the default (got "").'],
    [{ filePaths: ["app/**", ""] }, "Pipeline \"friday\": filePaths must hold 1 to 8 non-empty path globs (CodePipeline's limit), or be left out (got [\"app/**\",\"\"])."],
    [{ alarmWatchMinutes: 0 }, 'Pipeline "friday": alarmWatchMinutes must be a whole number from 1 to 1440 (got 0).'],
    [{ databaseName: "" }, 'Pipeline "friday": databaseName must name the app\'s database (got "").'],
    [{ architecture: "MIPS" }, 'Pipeline "friday": architecture must be one of ARM64, X86_64 (got "MIPS").'],
    [{ staging: undefined }, 'Pipeline "friday": staging must carry that stack\'s outputs (got undefined).'],
    [{ prod: undefined }, 'Pipeline "friday": prod must carry that stack\'s outputs (got undefined).'],
  ])("%j", (overrides, message) => {
    expect(() => validatePipelineArgs("friday", { ...baseArgs(), ...(overrides as Partial<PipelineArgs>) })).toThrow(message);
  });

  test("a name that cannot prefix every project", () => {
    expect(() => validatePipelineArgs("friday pipeline", baseArgs())).toThrow(
      'Pipeline "friday pipeline": name must be 1-40 letters, digits, \'-\' or \'_\' (it prefixes every project) (got "friday pipeline").',
    );
  });

  test("more prod rollback alarms than a stage condition holds", () => {
    const prod = { ...fakeStack("prod"), rollbackAlarmNames: "a,b,c,d,e,f" };
    expect(() => validatePipelineArgs("friday", { ...baseArgs(), prod })).toThrow(
      'Pipeline "friday": prod.rollbackAlarmNames must name at most 5 alarms (a stage condition holds 5 rules); use a composite alarm (got "a,b,c,d,e,f").',
    );
  });
});

describe("the infrastructure ships through the pipeline", () => {
  const managed = (projectKey: string): PolicyDocument[] =>
    recorded
      .filter((r) => r.type === "aws:iam/policy:Policy" && r.name.startsWith(`friday-${projectKey}-policy-`))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((r) => JSON.parse(r.inputs.policy));
  const allows = (docs: PolicyDocument[]) => docs.flatMap((d) => d.Statement).filter((s) => s.Effect === "Allow");
  const actionsOf = (docs: PolicyDocument[]) => new Set(allows(docs).flatMap((s) => s.Action));

  test("pulumi up runs staging first, after the build; prod after the same gate, before prod's deploy, never rolled back by a stage rollback", () => {
    const names = pipelineInputs().stages.map((s: any) => s.name);
    expect(names.indexOf("StagingInfra")).toBe(names.indexOf("Build") + 1);
    expect(names.indexOf("Staging")).toBe(names.indexOf("StagingInfra") + 1);
    expect(names.indexOf("ProdInfra")).toBe(names.indexOf("Gate") + 1);
    expect(names.indexOf("Prod")).toBe(names.indexOf("ProdInfra") + 1);
    for (const [stageName, key] of [["StagingInfra", "staging-infra"], ["ProdInfra", "prod-infra"]]) {
      const action = stage(stageName).actions[0];
      expect(action.configuration.ProjectName).toBe(`friday-${key}`);
      expect(Object.fromEntries(envVars(action).map((v) => [v.name, v.value]))).toEqual({
        IMAGE_URI: "#{BuildVariables.IMAGE_URI}",
        COMMIT_ID: "#{SourceVariables.CommitId}",
        PIPELINE_EXECUTION_ID: "#{codepipeline.PipelineExecutionId}",
      });
      expect(stage(stageName).onFailure).toBeUndefined();
    }
    expect(stage("ProdInfra").beforeEntry.condition.result).toBe("FAIL");
  });

  test("each infra project runs `friday infra up` for its own stack with the backend, secrets provider and pinned CLI", () => {
    for (const stack of ["staging", "prod"]) {
      const p = project(`${stack}-infra`);
      expect(p.source.buildspec).toContain('friday infra up --stack "$FRIDAY_STACK"');
      const vars = Object.fromEntries(p.environment.environmentVariables.map((v: any) => [v.name, v.value]));
      expect(vars).toMatchObject({
        FRIDAY_STACK: stack,
        PULUMI_STACK: `organization/friday/${stack}`,
        PULUMI_BACKEND_URL: "s3://acme-friday-state",
        PULUMI_SECRETS_PROVIDER: `awskms://alias/friday-pulumi?region=${REGION}`,
        PULUMI_VERSION: "3.248.0",
      });
    }
  });

  test("the infra roles may write their own stack's state only, and each is denied the other stack", () => {
    const staging = managed("staging-infra");
    const prod = managed("prod-infra");
    expect(staging).toHaveLength(4);
    const writes = (docs: PolicyDocument[]) => allows(docs).find((s) => s.Sid === "WriteState")!.Resource;
    expect(writes(staging).every((r) => r.includes("/staging"))).toBe(true);
    expect(writes(prod).every((r) => r.includes("/prod"))).toBe(true);
    const denies = (docs: PolicyDocument[]) => docs.flatMap((d) => d.Statement).filter((s) => s.Effect === "Deny");
    expect(denies(staging)).toEqual(
      expect.arrayContaining([
        // Except what the staging steps use of prod's stack (the artifacts key and bucket, their log groups), which they may not change.
        expect.objectContaining({ Sid: "DenyProdTagged", Condition: { StringEquals: { "aws:ResourceTag/friday:stack": "prod" }, StringNotEquals: { "aws:ResourceTag/friday:used-by": "staging-steps" } } }),
        expect.objectContaining({ Sid: "DenyStagingStepsResourceWrites", Action: expect.arrayContaining(["kms:ScheduleKeyDeletion", "logs:DeleteLogGroup"]) }),
        expect.objectContaining({ Sid: "DenyProdState", Action: expect.arrayContaining(["s3:GetObject", "s3:PutObject"]) }),
        expect.objectContaining({ Sid: "DenyProdRoles" }),
      ]),
    );
    expect(denies(prod)).toEqual(expect.arrayContaining([expect.objectContaining({ Sid: "DenyStagingTagged" }), expect.objectContaining({ Sid: "DenyStagingState", Action: ["s3:PutObject", "s3:DeleteObject"] })]));
    // Only prod's step may restart the run, and only this pipeline's.
    expect(statements("prod-infra").find((s) => s.Sid === "RestartAfterPipelineChange")!.Resource).toEqual([`arn:aws:codepipeline:${REGION}:${ACCOUNT}:friday`]);
    expect(JSON.stringify(statements("staging-infra"))).not.toContain("codepipeline:");
  });


  test("pull requests get the tests on every push and a preview of each stack when the Pulumi program changes", () => {
    const webhooks = recorded.filter((r) => r.type === "aws:codebuild/webhook:Webhook");
    expect(webhooks.map((w) => w.name).sort()).toEqual(["friday-pr-preview-prod-webhook", "friday-pr-preview-staging-webhook", "friday-pr-tests-webhook"]);
    const groups = (name: string) => one("aws:codebuild/webhook:Webhook", name).inputs.filterGroups.map((g: any) => g.filters);
    expect(groups("friday-pr-tests-webhook")).toEqual([
      [{ type: "EVENT", pattern: "PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED, PULL_REQUEST_REOPENED" }, { type: "BASE_REF", pattern: "^refs/heads/main$" }],
      [{ type: "EVENT", pattern: "PUSH" }, { type: "HEAD_REF", pattern: "^refs/heads/main$", excludeMatchedPattern: true }],
    ]);
    const preview = groups("friday-pr-preview-prod-webhook");
    expect(preview).toHaveLength(1);
    expect(preview[0][2]).toEqual({ type: "FILE_PATH", pattern: "^infra/.*$|^components/.*$|^Pulumi\\.[^/]*\\.yaml$" });
    for (const w of webhooks) expect(w.inputs.pullRequestBuildPolicy).toEqual({ requiresCommentApproval: "FORK_PULL_REQUESTS", approverRoles: ["GITHUB_WRITE", "GITHUB_MAINTAIN", "GITHUB_ADMIN"] });
  });

  test("each check reports its own commit status from a build of the git host's source through the connection", () => {
    const contexts: Record<string, string> = { "pr-tests": "friday/tests", "pr-preview-staging": "friday/preview-staging", "pr-preview-prod": "friday/preview-prod" };
    for (const [key, context] of Object.entries(contexts)) {
      const source = project(key).source;
      expect(source).toMatchObject({
        type: "GITHUB",
        location: "https://github.com/acme/app.git",
        reportBuildStatus: true,
        buildStatusConfig: { context },
        auth: { type: "CODECONNECTIONS", resource: `arn:aws:codeconnections:${REGION}:${ACCOUNT}:connection/abc-123` },
      });
      expect(project(key).artifacts).toEqual({ type: "NO_ARTIFACTS" });
    }
    expect(project("pr-tests").source.buildspec).toContain('eval "$TEST_COMMAND"');
    expect(project("pr-preview-staging").source.buildspec).toContain("friday infra preview");
  });

  test("nothing deploys from a branch: the preview roles can read and take the stack lock, never change a resource", () => {
    const readOnly = /^([a-z0-9-]+:(Describe|List|Get|BatchGet)[A-Za-z]*|kms:Decrypt)$/;
    for (const stack of ["staging", "prod"]) {
      const docs = managed(`pr-preview-${stack}`);
      expect(docs).toHaveLength(2);
      for (const s of allows(docs)) {
        for (const action of s.Action) {
          const lock = s.Sid === "StackLock" && ["s3:PutObject", "s3:DeleteObject"].includes(action) && s.Resource.every((r) => r.includes("/.pulumi/locks/"));
          expect({ stack, action, ok: readOnly.test(action) || lock }).toEqual({ stack, action, ok: true });
        }
      }
      expect(actionsOf(docs).has("iam:PassRole")).toBe(false);
    }
    // The test check has no AWS access beyond its logs and the CLI bundle.
    const tests = policyOf("friday-pr-tests-policy").Statement.flatMap((s) => s.Action);
    expect(new Set(tests)).toEqual(new Set(["logs:CreateLogStream", "logs:PutLogEvents", "s3:GetObject", "s3:GetObjectVersion", "kms:Decrypt"]));
  });

  test("friday:pipeline.pullRequests.enabled false builds no checks", async () => {
    const before = recorded.length;
    new Pipeline("nopr", baseArgs({ pullRequests: { enabled: false } }));
    await settle();
    const added = recorded.slice(before);
    expect(added.some((r) => r.type === "aws:codebuild/webhook:Webhook")).toBe(false);
    expect(added.filter((r) => r.type === "aws:codebuild/project:Project")).toHaveLength(10);
  });

  test.each([
    [{ infra: fakeInfra({ backendUrl: "s3://acme-friday-state", secretsProvider: undefined }) }, "secretsProvider must be"],
    [{ infra: fakeInfra({ backendUrl: "https://api.pulumi.com", accessTokenSecretArn: undefined }) }, "accessTokenSecretArn is required"],
    [{ infra: fakeInfra({ stackNames: { staging: "x", prod: "x" } }) }, "infra.stackNames must name two different stacks"],
    [{ infra: fakeInfra({ pulumiVersion: "latest" }) }, 'infra.pulumiVersion must be a Pulumi CLI version like "3.248.0" (got "latest")'],
    [{ infra: fakeInfra({ paths: [] }) }, "infra.paths must list"],
    [{ providerType: "GitHubEnterpriseServer" }, 'providerType "GitHubEnterpriseServer" has no CodeBuild webhook through a connection here'],
  ])("bad infra settings are refused before anything is created: %j", async (overrides, message) => {
    const before = recorded.length;
    expect(() => new Pipeline(`bad${Math.random().toString(36).slice(2, 8)}`, baseArgs(overrides as Partial<PipelineArgs>))).toThrow(message);
    // Registrations are asynchronous: let them land before counting what was created.
    await settle();
    expect(recorded.slice(before).filter((r) => r.custom).map((r) => `${r.type} ${r.name}`)).toEqual([]);
  });
});
