import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CodePipelineClient, GetPipelineCommand, StartPipelineExecutionCommand, StopPipelineExecutionCommand } from "@aws-sdk/client-codepipeline";
import { DescribeDBInstancesCommand, RDSClient } from "@aws-sdk/client-rds";
import { mockClient } from "aws-sdk-client-mock";
import { friday } from "./testing/run-cli";
import { setInfraHooksForTests } from "./hooks";
import { formatPreviewSummary, summarisePreview } from "./preview-summary";
import { PREVIEW_FAILED, PREVIEW_WITH_CHANGES } from "./testing/preview-digest";

/**
 * `friday infra preview|up` through the real CLI entry and the real process runner, with a fake
 * `pulumi` executable (scripts/infra/testing/fake-pulumi.js) answering from a scenario file.
 */

const pipeline = mockClient(CodePipelineClient);
const rds = mockClient(RDSClient);
let dir: string;
let out: string[];
let err: string[];
const savedEnv = { ...process.env };

function scenario(answers: Record<string, { code?: number; stdout?: string; stderr?: string }>): void {
  writeFileSync(join(dir, "scenario.json"), JSON.stringify(answers));
}
const calls = (): { args: string[]; release: string | null }[] =>
  readFileSync(join(dir, "calls.log"), "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "friday-infra-test-"));
  writeFileSync(join(dir, "calls.log"), "");
  out = [];
  err = [];
  pipeline.reset();
  rds.reset();
  Object.assign(process.env, {
    FRIDAY_PULUMI_BIN: join(__dirname, "testing", "fake-pulumi.js"),
    FAKE_PULUMI_LOG: join(dir, "calls.log"),
    FAKE_PULUMI_SCENARIO: join(dir, "scenario.json"),
    PULUMI_BACKEND_URL: "s3://acme-friday-state",
    PULUMI_SECRETS_PROVIDER: "awskms://alias/friday-pulumi?region=us-east-1",
  });
  delete process.env.PULUMI_STACK;
  setInfraHooksForTests({ stdout: (t) => out.push(t), stderr: (t) => err.push(t), now: () => 0 });
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  process.env = { ...savedEnv };
  setInfraHooksForTests({});
});

describe("the preview summary", () => {
  test("counts, the changed resources once each, data-holding replacements first and loud", () => {
    const summary = summarisePreview("prod", PREVIEW_WITH_CHANGES);
    expect(summary.counts).toEqual({ same: 140, update: 1, create: 1, replace: 1 });
    expect(summary.changes.map((c) => `${c.op} ${c.type} ${c.name} ${c.destructive}`)).toEqual([
      "replace aws:rds/instance:Instance friday-prod-db-instance true",
      "create aws:ssm/parameter:Parameter friday-prod-params-infra-release false",
      "update aws:cloudwatch/metricAlarm:MetricAlarm friday-prod-alarms-alb-p99-latency false",
    ]);
    const text = formatPreviewSummary(summary);
    expect(text).toContain("Preview of prod: 1 to update, 1 to create, 1 to replace (140 unchanged).");
    expect(text).toContain('WARNING: 1 change would replace or delete a resource that holds data:\n  !! replace aws:rds/instance:Instance "friday-prod-db-instance" (because of dbName)');
    expect(text).toContain('warning on aws:lb/loadBalancer:LoadBalancer "friday-prod-lb": no https.certificateArn');
  });

  test("errors name their resource, without terminal colours", () => {
    const summary = summarisePreview("prod", PREVIEW_FAILED);
    expect(summary.errors[0]).toEqual({
      resource: 'aws:rds/instance:Instance "friday-prod-db-instance"',
      message: "aws:rds/instance:Instance resource 'friday-prod-db-instance' has a problem: expected instance_class to match db.*",
    });
  });
});

describe("friday infra preview", () => {
  test("logs in, selects the stack, previews, and prints the summary", async () => {
    scenario({ preview: { stdout: JSON.stringify(PREVIEW_WITH_CHANGES) } });
    const result = await friday("infra", "preview", "--stack", "prod", "--pulumi-stack", "organization/friday/prod");
    expect(result).toEqual({ code: 0 });
    expect(calls().map((c) => c.args.slice(0, 2).join(" "))).toEqual(["login s3://acme-friday-state", "stack select", "preview --json"]);
    expect(calls()[1].args).toContain("organization/friday/prod");
    expect(out.join("\n")).toContain("Preview of prod: 1 to update, 1 to create, 1 to replace");
  });

  test("a failing preview fails, naming the resource and its error", async () => {
    scenario({ preview: { code: 255, stdout: JSON.stringify(PREVIEW_FAILED) } });
    const result = await friday("infra", "preview", "--stack", "prod");
    expect(result.code).toBe(1);
    expect(result.error).toContain("The preview of prod failed, so nothing was changed:");
    expect(result.error).toContain(`aws:rds/instance:Instance "friday-prod-db-instance": aws:rds/instance:Instance resource 'friday-prod-db-instance' has a problem: expected instance_class to match db.*`);
  });

  test("--json prints the summary as JSON on stdout and progress on stderr", async () => {
    scenario({ preview: { stdout: JSON.stringify(PREVIEW_WITH_CHANGES) } });
    expect(await friday("infra", "preview", "--stack", "staging", "--json")).toEqual({ code: 0 });
    expect(JSON.parse(out.join("\n"))).toMatchObject({ stack: "staging", counts: { update: 1 } });
    expect(err.join("\n")).toContain("[3] Preview of staging");
  });

  test.each([
    [{ PULUMI_BACKEND_URL: "" }, "No state backend: PULUMI_BACKEND_URL is not set"],
    [{ PULUMI_BACKEND_URL: "https://api.pulumi.com", PULUMI_ACCESS_TOKEN: "" }, "PULUMI_ACCESS_TOKEN is not set"],
    [{ PULUMI_SECRETS_PROVIDER: "" }, "no secrets provider is set"],
  ])("a missing backend setting (%o) is one message with the fix, before Pulumi runs", async (env, message) => {
    Object.assign(process.env, env);
    scenario({});
    const result = await friday("infra", "preview", "--stack", "prod");
    expect(result.code).toBe(1);
    expect(result.error).toContain(message);
    expect(calls()).toEqual([]);
  });

  test("an unreachable backend and a missing stack each say what to do", async () => {
    scenario({ login: { code: 255, stderr: "error: problem logging in: NoSuchBucket: The specified bucket does not exist\n" } });
    let result = await friday("infra", "preview", "--stack", "prod");
    expect(result.error).toMatch(/Cannot use the state backend s3:\/\/acme-friday-state:\n.*NoSuchBucket[\s\S]*friday bootstrap/);
    scenario({ "stack select": { code: 255, stderr: "error: no stack named 'organization/friday/prod' found\n" } });
    result = await friday("infra", "preview", "--stack", "prod", "--pulumi-stack", "organization/friday/prod");
    expect(result.error).toContain("The stack organization/friday/prod does not exist in s3://acme-friday-state");
    expect(result.error).toContain("npx friday bootstrap");
  });

  test("a missing Pulumi CLI says how to install it", async () => {
    process.env.FRIDAY_PULUMI_BIN = join(dir, "no-such-pulumi");
    const result = await friday("infra", "preview", "--stack", "prod");
    expect(result.error).toContain("is not installed or not on PATH");
  });
});

describe("friday infra up", () => {
  const digest = `123456789012.dkr.ecr.us-east-1.amazonaws.com/friday-prod-app@sha256:${"a".repeat(64)}`;
  const base = ["infra", "up", "--stack", "prod", "--pulumi-stack", "organization/friday/prod", "--image", digest, "--release", "abc1234", "--yes"];

  test("sets the built image, previews, then applies with the release in the program's environment", async () => {
    scenario({ preview: { stdout: JSON.stringify(PREVIEW_WITH_CHANGES) }, up: { stdout: "Updating (prod)\n~ update friday-prod-alarms-alb-p99-latency\nResources: 1 updated\n" } });
    expect(await friday(...base)).toEqual({ code: 0 });
    const made = calls();
    expect(made.map((c) => c.args.slice(0, 2).join(" "))).toEqual(["login s3://acme-friday-state", "stack select", "config set", "preview --json", "up --yes"]);
    expect(made[2].args).toEqual(["config", "set", "friday:imageUri", digest, "--stack", "organization/friday/prod", "--non-interactive"]);
    expect(made[4].args).toEqual(["up", "--yes", "--skip-preview", "--non-interactive", "--stack", "organization/friday/prod"]);
    expect(made.every((c) => c.release === "abc1234")).toBe(true);
    expect(out).toContain("~ update friday-prod-alarms-alb-p99-latency");
    expect(out.join("\n")).toContain("Done: prod is up to date");
  });

  test("a failing preview stops before `pulumi up`", async () => {
    scenario({ preview: { code: 255, stdout: JSON.stringify(PREVIEW_FAILED) } });
    const result = await friday(...base);
    expect(result.error).toContain("The preview of prod failed, so nothing was changed");
    expect(calls().some((c) => c.args[0] === "up")).toBe(false);
  });

  test("a failed update fails the step with Pulumi's last lines and the way forward", async () => {
    scenario({ preview: { stdout: JSON.stringify(PREVIEW_WITH_CHANGES) }, up: { code: 255, stderr: "error: update failed\n  aws:rds/instance:Instance (friday-prod-db-instance): InvalidParameterCombination\n" } });
    const result = await friday(...base);
    expect(result.error).toContain("pulumi up of prod failed");
    expect(result.error).toContain("InvalidParameterCombination");
    expect(result.error).toContain("Fix forward");
  });

  test("a failure on a pending connection says to approve it", async () => {
    scenario({
      preview: { stdout: JSON.stringify(PREVIEW_WITH_CHANGES) },
      up: { code: 255, stderr: "error: creating CodeBuild Webhook (friday-pr-tests): InvalidInputException: Connection arn:aws:codeconnections:us-east-1:123456789012:connection/abc is not in AVAILABLE state\n" },
    });
    const result = await friday(...base);
    expect(result.error).toContain("The CodeConnections connection is not available: approve it once");
  });

  test.each([
    ["the boundary does not exist yet", "error: creating IAM Role (friday-prod-service-task-role-0d8e3c7): NoSuchEntity: Scope ARN: arn:aws:iam::123456789012:policy/friday-prod-boundary does not exist or is not attachable."],
    ["a role made before the boundary", "error: putting IAM Role Policy friday-prod-service-task-role: AccessDenied: User: arn:aws:sts::123456789012:assumed-role/friday-prod-infra-role-555b4aa/x is not authorized to perform: iam:PutRolePolicy on resource: role friday-prod-service-task-role-0d8e3c7"],
  ])("a failure on the permissions boundary (%s) says to run friday bootstrap once", async (_what, stderr) => {
    scenario({ preview: { stdout: JSON.stringify(PREVIEW_WITH_CHANGES) }, up: { code: 255, stderr } });
    const result = await friday(...base);
    expect(result.error).toContain("The roles' permissions boundary is missing or out of date");
    expect(result.error).toContain("npx friday bootstrap --region <region>");
    expect(result.error).not.toContain("add its actions to INFRA_SERVICES");
  });

  test("when the update changed the pipeline itself, the same commit restarts on the new definition and this run stops", async () => {
    scenario({ preview: { stdout: JSON.stringify(PREVIEW_WITH_CHANGES) } });
    pipeline.on(GetPipelineCommand).resolvesOnce({ pipeline: { name: "friday", version: 7, roleArn: "r", stages: [] } }).resolvesOnce({ pipeline: { name: "friday", version: 8, roleArn: "r", stages: [] } });
    pipeline.on(StartPipelineExecutionCommand).resolves({ pipelineExecutionId: "new-run" });
    pipeline.on(StopPipelineExecutionCommand).resolves({ pipelineExecutionId: "old-run" });
    expect(await friday(...base, "--pipeline", "friday", "--execution-id", "old-run", "--region", "us-east-1")).toEqual({ code: 0 });
    expect(pipeline).toHaveReceivedCommandWith(StartPipelineExecutionCommand, {
      name: "friday",
      sourceRevisions: [{ actionName: "Source", revisionType: "COMMIT_ID", revisionValue: "abc1234" }],
    });
    expect(pipeline).toHaveReceivedCommandWith(StopPipelineExecutionCommand, { pipelineName: "friday", pipelineExecutionId: "old-run", abandon: false });
    expect(out.join("\n")).toContain("started run new-run for abc1234 and stopped run old-run");
  });

  test("an update that leaves the pipeline alone restarts nothing", async () => {
    scenario({ preview: { stdout: JSON.stringify(PREVIEW_WITH_CHANGES) } });
    pipeline.on(GetPipelineCommand).resolves({ pipeline: { name: "friday", version: 7, roleArn: "r", stages: [] } });
    expect(await friday(...base, "--pipeline", "friday", "--execution-id", "old-run")).toEqual({ code: 0 });
    expect(pipeline).not.toHaveReceivedCommand(StartPipelineExecutionCommand);
    expect(pipeline).not.toHaveReceivedCommand(StopPipelineExecutionCommand);
  });

  test.each([
    [["infra", "up", "--stack", "prod"], "pass --yes"],
    [["infra", "up", "--stack", "qa", "--yes"], '--stack must be one of staging, prod (got "qa")'],
    [["infra", "up", "--stack", "prod", "--yes", "--image", "app:latest"], "--image must be an image digest reference"],
    [["infra", "up", "--stack", "prod", "--yes", "--release", "main"], '--release must be a git commit id (got "main")'],
    [["infra", "up", "--stack", "prod", "--yes", "--pipeline", "friday"], "--pipeline and --execution-id go together"],
  ])("bad flags (%j) are refused before Pulumi runs", async (args, message) => {
    scenario({});
    const result = await friday(...args);
    expect(result.error).toContain(message);
    expect(calls()).toEqual([]);
  });
});

describe("friday infra up --stack staging, after a staging refresh", () => {
  const DB_URN = "urn:pulumi:staging::friday::friday:data:Database$aws:rds/instance:Instance::friday-staging-db-instance";
  const state = (id: string, withDatabase = true) =>
    JSON.stringify({
      version: 3,
      deployment: {
        manifest: { time: "2026-12-01T00:00:00Z" },
        resources: withDatabase ? [{ urn: DB_URN, custom: true, id, type: "aws:rds/instance:Instance", inputs: { identifier: "friday-staging-db" }, outputs: { identifier: "friday-staging-db", resourceId: id } }] : [],
      },
    });
  const args = ["infra", "up", "--stack", "staging", "--pulumi-stack", "organization/friday/staging", "--release", "abc1234", "--yes"];
  const steps = () => calls().map((c) => c.args.slice(0, 2).join(" "));

  test("points the state at the swapped-in instance and refreshes it before the preview", async () => {
    scenario({ "stack export": { stdout: state("db-OLD") }, preview: { stdout: JSON.stringify(PREVIEW_WITH_CHANGES) } });
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DbiResourceId: "db-NEW", DBInstanceStatus: "available" }] });
    expect(await friday(...args)).toEqual({ code: 0 });
    expect(steps()).toEqual(["login s3://acme-friday-state", "stack select", "stack export", "stack import", "refresh --yes", "preview --json", "up --yes"]);
    expect(calls()[4].args).toEqual(["refresh", "--yes", "--skip-preview", "--non-interactive", "--stack", "organization/friday/staging", "--target", DB_URN]);
    expect(out.join("\n")).toContain('the state now tracks "friday-staging-db" (db-NEW)');
  });

  test("changes nothing when the state already tracks the live instance, or holds no database yet", async () => {
    scenario({ "stack export": { stdout: state("db-SAME") }, preview: { stdout: JSON.stringify(PREVIEW_WITH_CHANGES) } });
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DbiResourceId: "db-SAME", DBInstanceStatus: "available" }] });
    expect(await friday(...args)).toEqual({ code: 0 });
    expect(steps()).toEqual(["login s3://acme-friday-state", "stack select", "stack export", "preview --json", "up --yes"]);
    writeFileSync(join(dir, "calls.log"), "");
    scenario({ "stack export": { stdout: state("", false) }, preview: { stdout: JSON.stringify(PREVIEW_WITH_CHANGES) } });
    expect(await friday(...args)).toEqual({ code: 0 });
    expect(steps()).toEqual(["login s3://acme-friday-state", "stack select", "stack export", "preview --json", "up --yes"]);
  });

  test("a swap half-way (no instance holds the name) stops the step before anything changes", async () => {
    scenario({ "stack export": { stdout: state("db-OLD") } });
    rds.on(DescribeDBInstancesCommand).rejects(Object.assign(new Error("not found"), { name: "DBInstanceNotFoundFault" }));
    const result = await friday(...args);
    expect(result.error).toContain('Before staging\'s update: no RDS instance is named "friday-staging-db"');
    expect(steps()).not.toContain("up --yes");
  });
});
