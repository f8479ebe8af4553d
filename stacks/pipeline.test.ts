import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_INFRA_PATHS, parseStackConfig, StackConfigError } from "../infra/config";
import { readStackConfigFile } from "../scripts/lib/offline-program";
import { installMocks, promiseOf, settle, type RecordedResource } from "../scripts/lib/pulumi-mocks";
import { ACCOUNT, fakeStack, REGION } from "../test/support/pipeline-fixtures";

/**
 * The prod composition of the pipeline: the real Pulumi.prod.yaml `friday:pipeline` block, the
 * real CLI bundle, and the staging stack's outputs read through a StackReference.
 */

let recorded: RecordedResource[] = [];
let stagingOutputs: Record<string, unknown> = {};

beforeAll(async () => {
  recorded = await installMocks({
    stack: "prod",
    region: REGION,
    state: (_type, name) => ({ arn: `arn:aws:x:${REGION}:${ACCOUNT}:${name}` }),
    stackReferenceOutputs: () => stagingOutputs,
  });
});

const prodRaw = () => readStackConfigFile("prod");

describe("the friday:pipeline config section", () => {
  test("Pulumi.prod.yaml supplies the repository; everything else has defaults", () => {
    expect(parseStackConfig("prod", prodRaw()).pipeline).toEqual({
      repository: "acme/friday",
      branch: "main",
      providerType: "GitHub",
      testCommand: "npm test",
      lintCommand: "npx friday migrate lint --dir app/migrations",
      dockerContext: ".",
      dockerfile: "app/Dockerfile",
      migrationsDir: "app/migrations",
      manualApproval: true,
      deployTimeoutMinutes: 60,
      imageRetentionCount: 30,
      infra: {
        backendUrl: "s3://organization-friday-state",
        secretsProvider: "awskms://alias/friday-pulumi?region=us-east-1",
        paths: [...DEFAULT_INFRA_PATHS],
      },
      pullRequests: { enabled: true, forkApproval: true },
    });
  });

  test("the infra block: missing, or a backend without what it needs, is one message with the fix", () => {
    const pipeline = JSON.parse(prodRaw()["friday:pipeline"]);
    const { infra: _omitted, ...withoutInfra } = pipeline;
    expect(() => parseStackConfig("prod", { ...prodRaw(), "friday:pipeline": JSON.stringify(withoutInfra) })).toThrow(
      "friday:pipeline.infra is missing: the pipeline runs `pulumi up` for both stacks and needs their state backend. Run `npx friday bootstrap --region <region>` once",
    );
    const withInfra = (infra: unknown) => () => parseStackConfig("prod", { ...prodRaw(), "friday:pipeline": JSON.stringify({ ...pipeline, infra }) });
    expect(withInfra({ backendUrl: "s3://acme-state" })).toThrow("friday:pipeline.infra.secretsProvider is required with an S3 backend");
    expect(withInfra({ backendUrl: "https://api.pulumi.com" })).toThrow("friday:pipeline.infra.accessTokenSecretArn is required with Pulumi Cloud");
    expect(withInfra({ backendUrl: "file:///tmp/state" })).toThrow('friday:pipeline.infra.backendUrl must be "s3://<state-bucket>" (run `friday bootstrap` to create one) or "https://api.pulumi.com" (got "file:///tmp/state")');
    expect(withInfra({ backendUrl: "s3://acme-state", secretsProvider: "passphrase" })).toThrow('friday:pipeline.infra.secretsProvider must be "awskms://alias/<name>?region=<region>"');
  });

  test("every stack file tags its resources with its stack (the infra roles' denies rely on it)", () => {
    const wrong = { ...prodRaw(), "aws:defaultTags": JSON.stringify({ tags: { "friday:stack": "staging" } }) };
    expect(() => parseStackConfig("prod", wrong)).toThrow('aws:defaultTags must tag every resource with its stack');
    const { "aws:defaultTags": _omitted, ...untagged } = prodRaw();
    expect(() => parseStackConfig("prod", untagged)).toThrow('add `aws:defaultTags: {tags: {"friday:stack": prod}}` to Pulumi.prod.yaml (got nothing)');
  });

  test("prod without the section, staging with it, and bad values each get one clear error", () => {
    const { "friday:pipeline": _omitted, ...withoutPipeline } = prodRaw();
    expect(() => parseStackConfig("prod", withoutPipeline)).toThrow(
      'friday:pipeline is missing: prod builds the delivery pipeline. Add `friday:pipeline: {repository: "owner/app"}` (see docs/pipeline.md).',
    );
    expect(() => parseStackConfig("staging", { ...readStackConfigFile("staging"), "friday:pipeline": JSON.stringify({ repository: "a/b" }) })).toThrow(
      "friday:pipeline is set in the staging stack: only prod builds the pipeline (it deploys to both). Move the block to Pulumi.prod.yaml.",
    );
    const infra = JSON.parse(prodRaw()["friday:pipeline"]).infra;
    const bad = (pipeline: object) => () => parseStackConfig("prod", { ...prodRaw(), "friday:pipeline": JSON.stringify({ infra, ...pipeline }) });
    expect(bad({ repository: "acme" })).toThrow('friday:pipeline.repository must be "owner/name", e.g. "acme/app" (got "acme").');
    expect(bad({ repository: "a/b", manualApprovel: false })).toThrow('friday:pipeline.manualApprovel is not a setting. Did you mean "manualApproval"?');
    expect(bad({ repository: "a/b", deployTimeoutMinutes: 1 })).toThrow(StackConfigError);
    expect(bad({ repository: "a/b", connectionArn: "arn:aws:iam::123456789012:role/x" })).toThrow("friday:pipeline.connectionArn must be a CodeConnections connection ARN");
  });
});

describe("createPipeline", () => {
  let createPipeline: typeof import("./pipeline").createPipeline;
  let readStackOutputs: typeof import("./pipeline").readStackOutputs;
  let defaultCliBundle: typeof import("./pipeline").defaultCliBundle;
  beforeAll(async () => {
    ({ createPipeline, readStackOutputs, defaultCliBundle } = await import("./pipeline"));
  });

  test("refuses a staging config and names every missing prod output", () => {
    const staging = parseStackConfig("staging", readStackConfigFile("staging"));
    expect(() => createPipeline({ config: staging, prod: {}, staging: {} })).toThrow('createPipeline: only the prod stack builds the pipeline (called for "staging").');
    const config = parseStackConfig("prod", prodRaw());
    const { dbSecretArn: _a, vpcId: _b, ...partial } = fakeStack("prod");
    expect(() => createPipeline({ config, prod: partial, staging: fakeStack("staging") })).toThrow(
      "createPipeline: the prod stack's outputs lack vpcId, dbSecretArn. Pass every STACK_PARAMETERS output of the prod environment.",
    );
  });

  test("readStackOutputs names the outputs a staging stack lacks (staging not updated yet)", async () => {
    const { privateSubnetIds: _a, dbSecretArn: _b, ...older } = fakeStack("staging");
    stagingOutputs = older;
    const reference = new pulumi.StackReference("staging-old", { name: "organization/friday/staging" });
    await expect(readStackOutputs(reference)).rejects.toThrow(
      "createPipeline: the staging stack has no privateSubnetIds, dbSecretArn outputs. Run `pulumi up -s staging` with this version of friday first, then prod.",
    );
  });

  test("builds the pipeline from Pulumi.prod.yaml, staging's StackReference and the real CLI bundle", async () => {
    stagingOutputs = { ...fakeStack("staging"), serviceUrl: "http://staging.example" };
    const reference = new pulumi.StackReference("staging", { name: "organization/friday/staging" });
    const staging = await readStackOutputs(reference);
    const raw = { ...prodRaw(), "friday:pipeline": JSON.stringify({ repository: "acme/app", manualApproval: false, filePaths: ["app/**", "package-lock.json"], infra: JSON.parse(prodRaw()["friday:pipeline"]).infra }) };
    const pipeline = createPipeline({ config: parseStackConfig("prod", raw), prod: fakeStack("prod"), staging });
    const bundlePath = (await defaultCliBundle()).path;
    await promiseOf(pipeline.pipelineName);
    await settle();

    const inputs = recorded.find((r) => r.type === "aws:codepipeline/pipeline:Pipeline")!.inputs;
    expect(inputs.stages.find((s: any) => s.name === "Source").actions[0].configuration).toMatchObject({ FullRepositoryId: "acme/app", BranchName: "main" });
    expect(inputs.triggers[0].gitConfiguration.pushes).toEqual([{ branches: { includes: ["main"] }, filePaths: { includes: ["app/**", "package-lock.json"] } }]);
    // manualApproval: false leaves the automatic gate only.
    expect(inputs.stages.find((s: any) => s.name === "Gate").actions.map((a: any) => a.name)).toEqual(["AutomaticChecks"]);
    // The prod stage watches the alarms for prod's alarmWatchMinutes (Pulumi.prod.yaml: 10).
    expect(inputs.stages.find((s: any) => s.name === "Prod").onSuccess.condition.rules[0].configuration.WaitTime).toBe("10");
    // Staging's values came through the StackReference.
    const stagingMigrate = recorded.find((r) => r.type === "aws:codebuild/project:Project" && r.inputs.name === "friday-staging-migrate")!.inputs;
    expect(stagingMigrate.vpcConfig.subnets).toEqual(["subnet-staginga", "subnet-stagingb"]);
    // The uploaded CLI is the real bundle, addressed by its hash.
    const sha = createHash("sha256").update(readFileSync(bundlePath)).digest("hex");
    expect(recorded.find((r) => r.type === "aws:s3/bucketObjectv2:BucketObjectv2")!.inputs.key).toBe(`friday-cli/${sha}.js`);
    expect(recorded.filter((r) => r.type === "aws:codeconnections/connection:Connection")).toHaveLength(1);
  });
});

describe("the stacks' first pulumi up (friday bootstrap)", () => {
  test("leaves the pull-request checks to the pipeline while the connection it creates waits for approval", async () => {
    const { bootstrapping } = await import("./pipeline");
    const info = jest.spyOn(pulumi.log, "info").mockImplementation(async () => undefined);
    expect(bootstrapping(undefined, { FRIDAY_BOOTSTRAP: "1" })).toBe(true);
    expect(info).toHaveBeenCalledWith(expect.stringContaining("Pull-request checks are left for the pipeline's first run"));
    info.mockRestore();
    expect(bootstrapping("arn:aws:codeconnections:us-east-1:123456789012:connection/ok", { FRIDAY_BOOTSTRAP: "1" })).toBe(false);
    expect(bootstrapping(undefined, {})).toBe(false);
  });
});
