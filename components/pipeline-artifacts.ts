import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { CliBundle } from "../infra/cli-bundle";
import { STAGING_STEPS_TAGS } from "./infra-delivery-policies";

export interface PipelineArtifactsArgs {
  /** The pipeline's name: its artifacts live under the first 20 characters of it. */
  readonly pipelineName: string;
  /** The bundled friday CLI the CodeBuild steps run (uploaded under friday-cli/<sha256>.js). */
  readonly cliBundle: CliBundle | Promise<CliBundle>;
  /** Days a run's artifacts are kept (stage rollback re-uses the artifacts of the run it returns to). @default 90 */
  readonly artifactRetentionDays?: number;
  /** Days an overwritten or deleted object version is kept. @default 7 */
  readonly noncurrentVersionDays?: number;
}

export function validatePipelineArtifactsArgs(name: string, args: PipelineArtifactsArgs): void {
  const keep = args.artifactRetentionDays ?? 90;
  if (!Number.isInteger(keep) || keep < 7 || keep > 3650) {
    throw new Error(`PipelineArtifacts "${name}": artifactRetentionDays must be a whole number from 7 to 3650 (got ${keep}); rollbacks need the artifacts of recent runs.`);
  }
  const old = args.noncurrentVersionDays ?? 7;
  if (!Number.isInteger(old) || old < 1 || old > 3650) {
    throw new Error(`PipelineArtifacts "${name}": noncurrentVersionDays must be a whole number from 1 to 3650 (got ${old}).`);
  }
}

/** The S3 key prefix CodePipeline stores a pipeline's artifacts under. */
export function artifactPrefix(pipelineName: string): string {
  return `${pipelineName.slice(0, 20)}/`;
}

/** The object key of a CLI bundle (content-addressed: a changed bundle is a new object). */
export function cliBundleKey(sha256: string): string {
  return `friday-cli/${sha256}.js`;
}

/**
 * The pipeline's artifact store: a customer-managed KMS key (rotated), a versioned bucket encrypted
 * with it, public access blocked, TLS-only, with a lifecycle; plus the bundled friday CLI.
 */
export class PipelineArtifacts extends pulumi.ComponentResource {
  public readonly key: aws.kms.Key;
  public readonly bucket: aws.s3.Bucket;
  public readonly cliObject: aws.s3.BucketObjectv2;
  /** Key of the CLI bundle in the bucket. */
  public readonly cliKey: pulumi.Output<string>;
  /** SHA-256 the CodeBuild steps verify the CLI bundle against. */
  public readonly cliSha256: pulumi.Output<string>;

  constructor(name: string, args: PipelineArtifactsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("friday:delivery:PipelineArtifacts", name, {}, opts);
    validatePipelineArtifactsArgs(name, args);

    this.key = new aws.kms.Key(
      `${name}-key`,
      // Tagged for the staging steps, which decrypt their input and the CLI bundle with it (see STAGING_STEPS_TAG).
      { description: `friday pipeline ${args.pipelineName}: artifacts`, enableKeyRotation: true, deletionWindowInDays: 30, tags: STAGING_STEPS_TAGS },
      { parent: this },
    );
    this.bucket = new aws.s3.Bucket(`${name}-bucket`, { forceDestroy: false, tags: STAGING_STEPS_TAGS }, { parent: this });
    const bucket = this.bucket;
    const ownership = new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
      { parent: this },
    );
    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      { parent: this },
    );
    const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket: bucket.id,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: this.key.arn }, bucketKeyEnabled: true }],
      },
      { parent: this },
    );
    const versioning = new aws.s3.BucketVersioning(
      `${name}-versioning`,
      { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
      { parent: this },
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: bucket.id,
        rules: [
          {
            id: "expire-run-artifacts",
            status: "Enabled",
            filter: { prefix: artifactPrefix(args.pipelineName) },
            expiration: { days: args.artifactRetentionDays ?? 90 },
          },
          {
            id: "expire-old-versions",
            status: "Enabled",
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionDays ?? 7 },
            abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
          },
        ],
      },
      { parent: this, dependsOn: [versioning] },
    );
    new aws.s3.BucketPolicy(
      `${name}-policy`,
      {
        bucket: bucket.id,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "DenyInsecureTransport",
              Effect: "Deny",
              Principal: "*",
              Action: "s3:*",
              Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
            // Every object is encrypted with the artifacts key: an upload that names another key or
            // another algorithm is refused (Null "false": only when it names one); an upload that
            // names none gets the bucket's default encryption, which is this key.
            {
              Sid: "DenyUploadsWithAnotherKey",
              Effect: "Deny",
              Principal: "*",
              Action: "s3:PutObject",
              Resource: pulumi.interpolate`${bucket.arn}/*`,
              Condition: { StringNotEquals: { "s3:x-amz-server-side-encryption-aws-kms-key-id": this.key.arn }, Null: { "s3:x-amz-server-side-encryption-aws-kms-key-id": "false" } },
            },
            {
              Sid: "DenyUploadsWithoutKms",
              Effect: "Deny",
              Principal: "*",
              Action: "s3:PutObject",
              Resource: pulumi.interpolate`${bucket.arn}/*`,
              Condition: { StringNotEquals: { "s3:x-amz-server-side-encryption": "aws:kms" }, Null: { "s3:x-amz-server-side-encryption": "false" } },
            },
          ],
        }),
      },
      { parent: this, dependsOn: [publicAccess] },
    );

    const bundle = pulumi.output(args.cliBundle);
    this.cliSha256 = bundle.apply((b) => b.sha256);
    this.cliKey = bundle.apply((b) => cliBundleKey(b.sha256));
    this.cliObject = new aws.s3.BucketObjectv2(
      `${name}-cli`,
      {
        bucket: bucket.id,
        key: this.cliKey,
        source: new pulumi.asset.FileAsset(Promise.resolve(args.cliBundle).then((b) => b.path)),
        contentType: "application/javascript",
        serverSideEncryption: "aws:kms",
        kmsKeyId: this.key.arn,
      },
      { parent: this, dependsOn: [encryption, ownership] },
    );

    this.registerOutputs({ bucketName: bucket.bucket, bucketArn: bucket.arn, keyArn: this.key.arn, cliKey: this.cliKey });
  }
}
