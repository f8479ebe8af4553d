import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { SETTING_DEFAULTS } from "../infra/config";

export interface ContainerImageArgs {
  /** ECR repository name, e.g. "friday-prod-app". */
  readonly repositoryName: string;
  /** The Docker build context (the repository root: the app imports packages/ from it). */
  readonly contextDir: string;
  /** The Dockerfile, relative to contextDir. @default "Dockerfile" */
  readonly dockerfile?: string;
  /** Folders and files (relative to contextDir) whose content decides the bootstrap image's tag. @default ["."] */
  readonly sourceDirs?: string[];
  /** Use this image instead of building one (an operator without Docker). */
  readonly imageUri?: string;
  /** Target platform of the build (parity-locked with the task's CPU architecture). @default "linux/arm64" */
  readonly platform?: string;
  /** Images the lifecycle policy keeps. @default the config schema's pipeline.imageRetentionCount */
  readonly keepImages?: number;
  /** Tags for every resource. */
  readonly tags?: Record<string, string>;
}

export function validateContainerImageArgs(name: string, args: ContainerImageArgs): void {
  if (!args.imageUri) {
    let isDir = false;
    try {
      isDir = statSync(args.contextDir).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) {
      throw new Error(`ContainerImage "${name}": contextDir "${args.contextDir}" is not a directory: point it at the app (with its Dockerfile), or set friday:imageUri.`);
    }
  }
  if (args.keepImages !== undefined && (!Number.isInteger(args.keepImages) || args.keepImages < 2)) {
    throw new Error(`ContainerImage "${name}": keepImages must be an integer of at least 2 (got ${args.keepImages}) so a rollback target is always kept.`);
  }
}

/** A content hash of the given folders (skipping node_modules and dist): the bootstrap image's tag. */
export function contextHash(dir: string, sourceDirs: string[] = ["."]): string {
  const hash = createHash("sha256");
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name === "node_modules" || entry.name === "dist" || entry.name.startsWith(".git")) continue;
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) hash.update(relative(dir, path)).update("\0").update(readFileSync(path));
    }
  };
  for (const source of sourceDirs) {
    const path = join(dir, source);
    if (statSync(path).isDirectory()) walk(path);
    else hash.update(source).update("\0").update(readFileSync(path));
  }
  return hash.digest("hex").slice(0, 16);
}

/**
 * An image the stack runs and its ECR repository (immutable tags, scan on push, encrypted,
 * lifecycle): built with Docker at `pulumi up`, or taken from the stack config for an operator
 * without Docker. For the app this is only the first image: after that, the pipeline owns which
 * image runs.
 */
export class ContainerImage extends pulumi.ComponentResource {
  public readonly repository: aws.ecr.Repository;
  /** The image the task-definition template starts with (digest-pinned when built here). */
  public readonly imageUri: pulumi.Output<string>;

  constructor(name: string, args: ContainerImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("friday:service:ContainerImage", name, {}, opts);
    validateContainerImageArgs(name, args);
    const tags = args.tags ?? {};
    this.repository = new aws.ecr.Repository(`${name}-repo`, {
      name: args.repositoryName,
      // A tag (the commit SHA) can never be pointed at other bytes; deploys use digests anyway.
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfigurations: [{ encryptionType: "KMS" }],
      forceDelete: false,
      tags,
    }, { parent: this });
    const keepImages = args.keepImages ?? SETTING_DEFAULTS.pipeline.imageRetentionCount;
    new aws.ecr.LifecyclePolicy(`${name}-lifecycle`, {
      repository: this.repository.name,
      policy: JSON.stringify({
        rules: [
          { rulePriority: 1, description: "expire untagged layers (build cache leftovers) after a day", selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 1 }, action: { type: "expire" } },
          { rulePriority: 2, description: `keep the last ${keepImages} images`, selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: keepImages }, action: { type: "expire" } },
        ],
      }),
    }, { parent: this });

    if (args.imageUri) {
      this.imageUri = pulumi.output(args.imageUri);
    } else {
      const auth = aws.ecr.getAuthorizationTokenOutput({ registryId: this.repository.registryId }, { parent: this });
      const tag = `bootstrap-${contextHash(args.contextDir, args.sourceDirs)}`;
      const image = new docker.Image(`${name}-bootstrap`, {
        // Tagged by content: immutable tags allow each tag once, and an unchanged app is not rebuilt.
        imageName: pulumi.interpolate`${this.repository.repositoryUrl}:${tag}`,
        build: {
          context: args.contextDir,
          dockerfile: join(args.contextDir, args.dockerfile ?? "Dockerfile"),
          platform: args.platform ?? "linux/arm64",
          args: { APP_COMMIT: tag },
        },
        registry: { server: this.repository.repositoryUrl, username: auth.userName, password: pulumi.secret(auth.password) },
      }, { parent: this });
      this.imageUri = image.repoDigest;
    }
    this.registerOutputs({ repositoryUrl: this.repository.repositoryUrl, imageUri: this.imageUri });
  }
}
