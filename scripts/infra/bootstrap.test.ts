import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, EnableKeyRotationCommand, KMSClient, NotFoundException } from "@aws-sdk/client-kms";
import {
  CreateBucketCommand,
  HeadBucketCommand,
  PutBucketEncryptionCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import {
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  DeletePolicyVersionCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  IAMClient,
  ListPolicyVersionsCommand,
  NoSuchEntityException,
} from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { stateBackendOf } from "../../components/infra-delivery-policies";
import { permissionsBoundaryPolicy } from "../../components/permissions-boundary";
import { mockClient } from "aws-sdk-client-mock";
import { friday } from "./testing/run-cli";
import { setInfraHooksForTests } from "./hooks";

/** `friday bootstrap` through the real CLI entry: AWS under aws-sdk-client-mock, Pulumi faked by fake-pulumi.js. */

const s3 = mockClient(S3Client);
const kms = mockClient(KMSClient);
const sts = mockClient(STSClient);
const iam = mockClient(IAMClient);
const KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1111-2222";
let dir: string;
let out: string[];
const savedEnv = { ...process.env };
const savedCwd = process.cwd();

const notFound = (name: string, status: number) =>
  Object.assign(new S3ServiceException({ name, $fault: "client", $metadata: { httpStatusCode: status } }), {});
const bootstrapFlags = (): (string | null)[] => readFileSync(join(dir, "calls.log"), "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l).bootstrap);
const calls = (): string[][] => readFileSync(join(dir, "calls.log"), "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l).args);

function prodFile(infra?: { backendUrl: string; secretsProvider: string }): void {
  const block = infra ? `    infra:\n      backendUrl: ${infra.backendUrl}\n      secretsProvider: ${infra.secretsProvider}\n` : "";
  writeFileSync(join(dir, "Pulumi.prod.yaml"), `config:\n  friday:pipeline:\n    repository: acme/app\n${block}`);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "friday-bootstrap-test-"));
  writeFileSync(join(dir, "calls.log"), "");
  writeFileSync(join(dir, "scenario.json"), JSON.stringify({ "stack select": { code: 255, stderr: "no stack named" } }));
  out = [];
  s3.reset();
  kms.reset();
  sts.reset();
  iam.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: "123456789012", Arn: "arn:aws:iam::123456789012:user/admin" });
  iam.on(GetPolicyCommand).rejects(new NoSuchEntityException({ message: "Policy not found", $metadata: {} }));
  Object.assign(process.env, {
    FRIDAY_PULUMI_BIN: join(__dirname, "testing", "fake-pulumi.js"),
    FAKE_PULUMI_LOG: join(dir, "calls.log"),
    FAKE_PULUMI_SCENARIO: join(dir, "scenario.json"),
  });
  process.chdir(dir);
  setInfraHooksForTests({ stdout: (t) => out.push(t), stderr: (t) => out.push(t), now: () => 0 });
});

afterEach(() => {
  process.chdir(savedCwd);
  rmSync(dir, { recursive: true, force: true });
  process.env = { ...savedEnv };
  setInfraHooksForTests({});
});

describe("friday bootstrap", () => {
  const backend = { backendUrl: "s3://friday-state-123456789012-eu-west-1", secretsProvider: "awskms://alias/friday-pulumi?region=eu-west-1" };

  function freshAccount(): void {
    kms.on(DescribeKeyCommand).rejects(new NotFoundException({ message: "Alias not found", $metadata: {} }));
    kms.on(CreateKeyCommand).resolves({ KeyMetadata: { KeyId: "1111-2222", Arn: KEY_ARN } });
    s3.on(HeadBucketCommand).rejects(notFound("NotFound", 404));
  }

  test("on a new account: a rotated key, a private versioned SSE-KMS TLS-only bucket, both stacks, then staging's and prod's first up", async () => {
    freshAccount();
    prodFile(backend);
    expect(await friday("bootstrap", "--region", "eu-west-1")).toEqual({ code: 0 });
    expect(kms).toHaveReceivedCommandWith(EnableKeyRotationCommand, { KeyId: "1111-2222" });
    expect(kms).toHaveReceivedCommandWith(CreateAliasCommand, { AliasName: "alias/friday-pulumi", TargetKeyId: "1111-2222" });
    expect(s3).toHaveReceivedCommandWith(CreateBucketCommand, { Bucket: "friday-state-123456789012-eu-west-1", CreateBucketConfiguration: { LocationConstraint: "eu-west-1" } });
    expect(s3).toHaveReceivedCommandWith(PutBucketVersioningCommand, { VersioningConfiguration: { Status: "Enabled" } });
    expect(s3).toHaveReceivedCommandWith(PutPublicAccessBlockCommand, {
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
    });
    expect(s3.commandCalls(PutBucketEncryptionCommand)[0].args[0].input.ServerSideEncryptionConfiguration?.Rules?.[0]).toEqual({
      ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: KEY_ARN },
      BucketKeyEnabled: true,
    });
    expect(JSON.parse(s3.commandCalls(PutBucketPolicyCommand)[0].args[0].input.Policy!).Statement[0]).toMatchObject({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } });
    expect(calls().map((a) => a.slice(0, 3).join(" "))).toEqual([
      "login s3://friday-state-123456789012-eu-west-1 --non-interactive",
      "stack select --stack",
      "stack init organization/friday/staging",
      "stack select --stack",
      "stack init organization/friday/prod",
      "up --yes --non-interactive",
      "up --yes --non-interactive",
    ]);
    expect(calls()[2]).toContain("awskms://alias/friday-pulumi?region=eu-west-1");
    // The first up leaves the pull-request checks to the pipeline: the connection is not approved yet.
    expect(bootstrapFlags()).toEqual(Array(7).fill("1"));
    expect(calls()[5]).toContain("organization/friday/staging");
    expect(calls()[6]).toContain("organization/friday/prod");
    expect(out.join("\n")).toMatch(/\[1\/6\][\s\S]*\[2\/6\][\s\S]*\[3\/6\][\s\S]*\[4\/6\][\s\S]*\[5\/6\][\s\S]*\[6\/6\][\s\S]*approve the CodeConnections connection once/);
    // Each stack's permissions boundary, before any role that carries it.
    const scope = { account: "123456789012", partition: "aws", region: "eu-west-1", project: "friday", backend: stateBackendOf(backend) };
    expect(iam.commandCalls(CreatePolicyCommand).map((c) => [c.args[0].input.PolicyName, JSON.parse(c.args[0].input.PolicyDocument!)])).toEqual([
      ["friday-staging-boundary", permissionsBoundaryPolicy(scope, "staging")],
      ["friday-prod-boundary", permissionsBoundaryPolicy(scope, "prod")],
    ]);
  });

  test("run again, it reuses the key, the bucket and the stacks", async () => {
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: "1111-2222", Arn: KEY_ARN } });
    s3.on(HeadBucketCommand).resolves({});
    writeFileSync(join(dir, "scenario.json"), JSON.stringify({}));
    prodFile(backend);
    expect(await friday("bootstrap", "--region", "eu-west-1", "--json")).toEqual({ code: 0 });
    expect(kms).not.toHaveReceivedCommand(CreateKeyCommand);
    expect(s3).not.toHaveReceivedCommand(CreateBucketCommand);
    expect(calls().filter((a) => a[1] === "init")).toEqual([]);
    expect(JSON.parse(out.filter((l) => l.startsWith("{")).join("\n"))).toMatchObject({ bucketCreated: false, keyCreated: false, stacksDeployed: ["organization/friday/staging", "organization/friday/prod"] });
  });

  test("run again, it brings a boundary that changed to the current document (dropping the oldest of five versions) and leaves a current one alone", async () => {
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: "1111-2222", Arn: KEY_ARN } });
    s3.on(HeadBucketCommand).resolves({});
    writeFileSync(join(dir, "scenario.json"), JSON.stringify({}));
    prodFile(backend);
    const scope = { account: "123456789012", partition: "aws", region: "eu-west-1", project: "friday", backend: stateBackendOf(backend) };
    const arn = (stack: string) => `arn:aws:iam::123456789012:policy/friday-${stack}-boundary`;
    iam.on(GetPolicyCommand).resolves({ Policy: { DefaultVersionId: "v5" } });
    iam.on(GetPolicyVersionCommand, { PolicyArn: arn("staging") }).resolves({ PolicyVersion: { Document: encodeURIComponent(JSON.stringify(permissionsBoundaryPolicy(scope, "staging"))) } });
    iam.on(GetPolicyVersionCommand, { PolicyArn: arn("prod") }).resolves({ PolicyVersion: { Document: encodeURIComponent(JSON.stringify({ Version: "2012-10-17", Statement: [] })) } });
    iam.on(ListPolicyVersionsCommand).resolves({
      Versions: [1, 2, 3, 4, 5].map((n) => ({ VersionId: `v${n}`, IsDefaultVersion: n === 5, CreateDate: new Date(Date.UTC(2026, 0, n)) })),
    });
    expect(await friday("bootstrap", "--region", "eu-west-1")).toEqual({ code: 0 });
    expect(iam).not.toHaveReceivedCommand(CreatePolicyCommand);
    expect(iam).toHaveReceivedCommandTimes(CreatePolicyVersionCommand, 1);
    expect(iam).toHaveReceivedCommandWith(DeletePolicyVersionCommand, { PolicyArn: arn("prod"), VersionId: "v1" });
    expect(JSON.parse(iam.commandCalls(CreatePolicyVersionCommand)[0].args[0].input.PolicyDocument!)).toEqual(permissionsBoundaryPolicy(scope, "prod"));
    expect(iam).toHaveReceivedCommandWith(CreatePolicyVersionCommand, { PolicyArn: arn("prod"), SetAsDefault: true });
    expect(out.join("\n")).toMatch(/friday-staging-boundary is current[\s\S]*friday-prod-boundary updated/);
  });

  test("stops after the backend, with the block to add, while Pulumi.prod.yaml does not name it", async () => {
    freshAccount();
    prodFile();
    const result = await friday("bootstrap", "--region", "eu-west-1");
    expect(result.error).toContain("does not name it yet");
    expect(result.error).toContain("backendUrl: s3://friday-state-123456789012-eu-west-1");
    expect(calls()).toEqual([]);
    expect(iam).not.toHaveReceivedCommand(CreatePolicyCommand);
  });

  test("a bucket name another account owns is refused, creating nothing", async () => {
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: "1111-2222", Arn: KEY_ARN } });
    s3.on(HeadBucketCommand).rejects(notFound("Forbidden", 403));
    const result = await friday("bootstrap", "--region", "eu-west-1", "--bucket", "taken-name", "--backend-only");
    expect(result.error).toContain("The bucket taken-name belongs to another account");
    expect(s3).not.toHaveReceivedCommand(CreateBucketCommand);
  });

  test.each([
    [["--region", "europe"], '--region must be an AWS region like us-east-1 (got "europe")'],
    [["--region", "us-east-1", "--bucket", "Bad_Name"], "--bucket must be a valid S3 bucket name"],
    [["--region", "us-east-1", "--key-alias", "alias/aws/s3"], "--key-alias must look like"],
    [["--region", "us-east-1", "--prod-stack", "a b"], "the prod stack name must look like"],
  ])("bad flags (%j) are refused before any AWS call", async (args, message) => {
    const result = await friday("bootstrap", ...args);
    expect(result.error).toContain(message);
    expect(sts).not.toHaveReceivedCommand(GetCallerIdentityCommand);
  });
});
