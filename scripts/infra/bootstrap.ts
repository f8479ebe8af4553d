import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  KMSClient,
  NotFoundException,
} from "@aws-sdk/client-kms";
import {
  CreateBucketCommand,
  HeadBucketCommand,
  PutBucketEncryptionCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  type BucketLocationConstraint,
} from "@aws-sdk/client-s3";
import {
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  DeletePolicyVersionCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  IAMClient,
  ListPolicyVersionsCommand,
} from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { stateBackendOf, type InfraScope } from "../../components/infra-delivery-policies";
import { permissionsBoundaryPolicy } from "../../components/permissions-boundary";
import { permissionsBoundaryArn, permissionsBoundaryName, PROJECT_NAME, type StackName } from "../../infra/naming";
import { awsClientConfig } from "../deploy/aws";
import { infraContext } from "./hooks";
import { InfraContext, InfraError, lastLines } from "./pulumi-run";

/**
 * `friday bootstrap`: the one time a person runs anything against the account. It creates Pulumi's
 * state backend (a versioned, KMS-encrypted, private, TLS-only S3 bucket) and the secrets
 * provider's KMS key, both idempotently, then each stack's permissions boundary, creates the two
 * stacks and runs their first `pulumi up` (staging, then prod, which creates the pipeline). From
 * then on the pipeline runs every `pulumi up`.
 */

export interface BootstrapClients {
  readonly s3: S3Client;
  readonly kms: KMSClient;
  readonly sts: STSClient;
  readonly iam: IAMClient;
}

export interface BootstrapOptions {
  readonly region: string;
  /** State bucket name. @default "friday-state-<account>-<region>" */
  readonly bucket?: string;
  /** The secrets provider's key alias. @default "alias/friday-pulumi" */
  readonly keyAlias?: string;
  /** Fully qualified stack names. */
  readonly stacks: { readonly staging: string; readonly prod: string };
  /** Stop after the backend (create the stacks and run their first `pulumi up` later). */
  readonly backendOnly?: boolean;
  /** The prod stack file that must name this backend before the stacks are made. @default "Pulumi.prod.yaml" */
  readonly prodConfigFile?: string;
}

/**
 * Prod's program validates friday:pipeline.infra (the pipeline it creates runs Pulumi with it): the
 * stack file must name the backend just made before its first `pulumi up`.
 */
export function assertProdConfigNames(file: string, backendUrl: string, secretsProvider: string, configBlock: string): void {
  let infra: { backendUrl?: unknown; secretsProvider?: unknown } | undefined;
  try {
    const parsed = parseYaml(readFileSync(file, "utf8")) as { config?: Record<string, { infra?: typeof infra }> };
    infra = parsed?.config?.["friday:pipeline"]?.infra;
  } catch (error) {
    throw new InfraError(`Cannot read ${file} (${(error as Error).message}): run friday bootstrap from the repository root.`);
  }
  if (infra?.backendUrl !== backendUrl || infra?.secretsProvider !== secretsProvider) {
    throw new InfraError(
      `The state backend is ready, but ${file} does not name it yet. Put this under friday:pipeline, commit it, and run the same command again ` +
        `(what exists is reused):\n${configBlock}`,
    );
  }
}

export interface BootstrapResult {
  readonly account: string;
  readonly bucket: string;
  readonly bucketCreated: boolean;
  readonly keyArn: string;
  readonly keyCreated: boolean;
  readonly backendUrl: string;
  readonly secretsProvider: string;
  /** What to put in Pulumi.prod.yaml under friday:pipeline. */
  readonly configBlock: string;
  readonly stacksDeployed: string[];
  readonly seconds: number;
}

const errorName = (error: unknown) => (error as { name?: string })?.name ?? "";
const httpStatus = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;

export function validateBootstrapOptions(options: BootstrapOptions): void {
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(options.region)) throw new InfraError(`--region must be an AWS region like us-east-1 (got "${options.region}").`);
  if (options.bucket !== undefined && !/^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(options.bucket)) {
    throw new InfraError(`--bucket must be a valid S3 bucket name: 3-63 lower-case letters, digits, "." and "-" (got "${options.bucket}").`);
  }
  if (options.keyAlias !== undefined && !/^alias\/[\w/-]+$/.test(options.keyAlias) || options.keyAlias?.startsWith("alias/aws/")) {
    throw new InfraError(`--key-alias must look like "alias/friday-pulumi" and not start with alias/aws/ (got "${options.keyAlias}").`);
  }
  for (const [label, name] of Object.entries(options.stacks)) {
    if (!/^[\w.-]+(\/[\w.-]+){0,2}$/.test(name)) throw new InfraError(`the ${label} stack name must look like "organization/friday/${label}" (got "${name}").`);
  }
}

/** The secrets provider's key: found by its alias, or created with rotation on. */
async function ensureKey(ctx: InfraContext, kms: KMSClient, alias: string): Promise<{ arn: string; created: boolean }> {
  try {
    const found = await kms.send(new DescribeKeyCommand({ KeyId: alias }));
    ctx.log(`    key ${alias} exists (${found.KeyMetadata?.Arn}): reused`);
    return { arn: found.KeyMetadata!.Arn!, created: false };
  } catch (error) {
    if (!(error instanceof NotFoundException) && errorName(error) !== "NotFoundException") throw error;
  }
  const created = await kms.send(
    new CreateKeyCommand({
      Description: "friday: Pulumi state backend and stack secrets",
      KeyUsage: "ENCRYPT_DECRYPT",
      KeySpec: "SYMMETRIC_DEFAULT",
      Tags: [{ TagKey: "friday:managed-by", TagValue: "friday-bootstrap" }],
    }),
  );
  const keyId = created.KeyMetadata!.KeyId!;
  await kms.send(new EnableKeyRotationCommand({ KeyId: keyId }));
  await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
  ctx.log(`    key ${alias} created (${created.KeyMetadata!.Arn}), yearly rotation on`);
  return { arn: created.KeyMetadata!.Arn!, created: true };
}

/** The state bucket: reused when this account owns it, else created versioned, private, KMS-encrypted and TLS-only. */
async function ensureBucket(ctx: InfraContext, s3: S3Client, bucket: string, region: string, account: string, keyArn: string): Promise<boolean> {
  let exists = false;
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket, ExpectedBucketOwner: account }));
    exists = true;
  } catch (error) {
    const status = httpStatus(error);
    if (status === 403) {
      throw new InfraError(`The bucket ${bucket} belongs to another account (or this role may not read it). Pass --bucket <a name of your own>; nothing was created.`);
    }
    if (status !== 404 && errorName(error) !== "NotFound") throw error;
  }
  if (!exists) {
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        ObjectOwnership: "BucketOwnerEnforced",
        ...(region === "us-east-1" ? {} : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
      }),
    );
  }
  // Applied on every run, so a bucket made by hand is brought to the same settings.
  await s3.send(new PutPublicAccessBlockCommand({
    Bucket: bucket,
    PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
  }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }));
  await s3.send(new PutBucketEncryptionCommand({
    Bucket: bucket,
    ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: keyArn }, BucketKeyEnabled: true }] },
  }));
  await s3.send(new PutBucketPolicyCommand({
    Bucket: bucket,
    Policy: JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "TlsOnly",
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
      ],
    }),
  }));
  ctx.log(`    bucket ${bucket} ${exists ? "exists: settings re-applied" : "created"} (versioned, private, SSE-KMS, TLS only)`);
  return !exists;
}

/**
 * A stack's permissions boundary (components/permissions-boundary.ts): created, or brought to the
 * current document as a new default version (IAM keeps five: the oldest other one goes first). Here
 * and not in the program, so the infra roles that run `pulumi up` cannot edit what caps them.
 */
async function ensureBoundary(ctx: InfraContext, iam: IAMClient, scope: InfraScope, stack: StackName): Promise<void> {
  const name = permissionsBoundaryName(stack);
  const arn = permissionsBoundaryArn(scope.partition, scope.account, stack);
  const document = permissionsBoundaryPolicy(scope, stack);
  let defaultVersion: string | undefined;
  try {
    defaultVersion = (await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy?.DefaultVersionId;
  } catch (error) {
    if (errorName(error) !== "NoSuchEntityException") throw error;
  }
  if (!defaultVersion) {
    await iam.send(new CreatePolicyCommand({
      PolicyName: name,
      PolicyDocument: JSON.stringify(document),
      Description: `friday ${stack}: the permissions boundary of every role the ${stack} stack creates (friday bootstrap)`,
      Tags: [{ Key: "friday:managed-by", Value: "friday-bootstrap" }],
    }));
    ctx.log(`    boundary ${name} created`);
    return;
  }
  const current = (await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: defaultVersion }))).PolicyVersion?.Document;
  // GetPolicyVersion returns the document URL-encoded (RFC 3986).
  if (current && JSON.stringify(JSON.parse(decodeURIComponent(current))) === JSON.stringify(document)) {
    ctx.log(`    boundary ${name} is current`);
    return;
  }
  const versions = (await iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }))).Versions ?? [];
  if (versions.length >= 5) {
    const oldest = versions.filter((v) => !v.IsDefaultVersion).sort((a, b) => (a.CreateDate?.getTime() ?? 0) - (b.CreateDate?.getTime() ?? 0))[0];
    await iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: oldest.VersionId }));
  }
  await iam.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: JSON.stringify(document), SetAsDefault: true }));
  ctx.log(`    boundary ${name} updated to the current document`);
}

/** Creates the stack in the backend with the KMS secrets provider, unless it exists. */
async function ensureStack(ctx: InfraContext, stack: string, secretsProvider: string): Promise<void> {
  const select = await ctx.run(["stack", "select", "--stack", stack, "--non-interactive"]);
  if (select.code === 0) {
    ctx.log(`    stack ${stack} exists`);
    return;
  }
  const init = await ctx.run(["stack", "init", stack, "--secrets-provider", secretsProvider, "--non-interactive"]);
  if (init.code !== 0) throw new InfraError(`Cannot create the stack ${stack}: ${lastLines(init.stderr, 3).replace(/\n/g, " ")}`);
  ctx.log(`    stack ${stack} created (secrets: ${secretsProvider})`);
}

export async function bootstrap(ctx: InfraContext, clients: BootstrapClients, options: BootstrapOptions): Promise<BootstrapResult> {
  validateBootstrapOptions(options);
  const started = ctx.now();
  const total = options.backendOnly ? 2 : 6;
  const alias = options.keyAlias ?? "alias/friday-pulumi";
  const identity = await clients.sts.send(new GetCallerIdentityCommand({}));
  const account = identity.Account!;
  const partition = identity.Arn?.split(":")[1] || "aws";
  const bucket = options.bucket ?? `friday-state-${account}-${options.region}`;

  ctx.log(`[1/${total}] Secrets provider key ${alias} in ${account} (${options.region})`);
  const key = await ensureKey(ctx, clients.kms, alias);
  ctx.log(`[2/${total}] State bucket ${bucket}`);
  const bucketCreated = await ensureBucket(ctx, clients.s3, bucket, options.region, account, key.arn);

  const backendUrl = `s3://${bucket}`;
  const secretsProvider = `awskms://${alias}?region=${options.region}`;
  const configBlock = ["    infra:", `      backendUrl: ${backendUrl}`, `      secretsProvider: ${secretsProvider}`].join("\n");
  const stacksDeployed: string[] = [];
  if (!options.backendOnly) {
    assertProdConfigNames(options.prodConfigFile ?? "Pulumi.prod.yaml", backendUrl, secretsProvider, configBlock);
    const login = await ctx.run(["login", backendUrl, "--non-interactive"]);
    if (login.code !== 0) throw new InfraError(`pulumi login ${backendUrl} failed: ${login.stderr.trim()}`);
    // Before any role refers to them: every role the stacks create carries its stack's boundary.
    ctx.log(`[3/${total}] Permissions boundaries ${permissionsBoundaryName("staging")}, ${permissionsBoundaryName("prod")}`);
    const scope: InfraScope = { account, partition, region: options.region, project: PROJECT_NAME, backend: stateBackendOf({ backendUrl, secretsProvider }) };
    for (const stack of ["staging", "prod"] as const) await ensureBoundary(ctx, clients.iam, scope, stack);
    ctx.log(`[4/${total}] Stacks in ${backendUrl}`);
    await ensureStack(ctx, options.stacks.staging, secretsProvider);
    await ensureStack(ctx, options.stacks.prod, secretsProvider);
    for (const [step, stack] of [[5, options.stacks.staging], [6, options.stacks.prod]] as const) {
      ctx.log(`[${step}/${total}] First pulumi up of ${stack} (${step === 5 ? "about 20 minutes: VPC, NAT, RDS, ALB, ECS" : "about 25 minutes, with Multi-AZ RDS and the pipeline"})`);
      const result = await ctx.run(["up", "--yes", "--non-interactive", "--stack", stack], { onLine: (line) => line.trim() && ctx.log(`    ${line}`) });
      if (result.code !== 0) {
        throw new InfraError(
          `The first pulumi up of ${stack} failed:\n${lastLines(result.stderr, 8)}\n` +
            "Fix the cause and run `friday bootstrap` again: what exists is reused.",
        );
      }
      stacksDeployed.push(stack);
    }
  }
  const seconds = (ctx.now() - started) / 1000;
  return { account, bucket, bucketCreated, keyArn: key.arn, keyCreated: key.created, backendUrl, secretsProvider, configBlock, stacksDeployed, seconds };
}

export function registerBootstrap(program: Command): void {
  program
    .command("bootstrap")
    .description("once per AWS account: Pulumi's state bucket and KMS key, the stacks' permissions boundaries, both stacks, and their first pulumi up (which creates the pipeline)")
    .requiredOption("--region <region>", "the AWS region of both stacks, e.g. us-east-1")
    .option("--bucket <name>", "the state bucket's name (default: friday-state-<account>-<region>)")
    .option("--key-alias <alias>", "the secrets provider key's alias", "alias/friday-pulumi")
    .option("--staging-stack <name>", "the staging stack", "organization/friday/staging")
    .option("--prod-stack <name>", "the prod stack", "organization/friday/prod")
    .option("--backend-only", "create the bucket and key, print the settings, and stop")
    .option("--json", "print the result as JSON on stdout (progress goes to stderr)")
    .action(async (flags: { region: string; bucket?: string; keyAlias: string; stagingStack: string; prodStack: string; backendOnly?: boolean; json?: boolean }) => {
      // FRIDAY_BOOTSTRAP: the first `pulumi up` leaves what needs the approved connection to the pipeline (stacks/pipeline.ts).
      const env = { ...process.env, AWS_REGION: flags.region, FRIDAY_BOOTSTRAP: "1" };
      const ctx = infraContext(env, flags.json);
      const stdout = ctx.stdout;
      const options: BootstrapOptions = {
        region: flags.region,
        bucket: flags.bucket,
        keyAlias: flags.keyAlias,
        stacks: { staging: flags.stagingStack, prod: flags.prodStack },
        backendOnly: flags.backendOnly,
      };
      const config = awsClientConfig(flags.region);
      const clients = { s3: new S3Client(config), kms: new KMSClient(config), sts: new STSClient(config), iam: new IAMClient(config) };
      const result = await bootstrap(ctx, clients, options);
      if (flags.json) {
        stdout(JSON.stringify(result, null, 2));
        return;
      }
      stdout(
        [
          "",
          `Bootstrap done in ${result.seconds.toFixed(0)} s. Pulumi.prod.yaml needs, under friday:pipeline:`,
          result.configBlock,
          "",
          result.stacksDeployed.length
            ? "Next: approve the CodeConnections connection once (Developer Tools → Settings → Connections → Update pending connection), then merge to main: the pipeline builds the first image and deploys it. Every later change, infrastructure included, goes through the pipeline."
            : "Next: commit that block, then run `npx friday bootstrap` again without --backend-only to create the stacks and the pipeline.",
        ].join("\n"),
      );
    });
}
