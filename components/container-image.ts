import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

export interface AppImageArgs {
  /** ECR repository name, e.g. "friday-prod-app". */
  readonly repositoryName: string;
  /** The app's Docker build context. */
  readonly contextDir: string;
  /** Use this image instead of building one (an operator without Docker). */
  readonly imageUri?: string;
  /** Target platform of the build (parity-locked with the task's CPU architecture). @default "linux/arm64" */
  readonly platform?: string;
  /** Images the lifecycle policy keeps. @default 30 */
  readonly keepImages?: number;
  /** Tags for every resource. */
  readonly tags?: Record<string, string>;
}

export function validateAppImageArgs(name: string, args: AppImageArgs): void {
  if (!args.imageUri) {
    let isDir = false;
    try {
      isDir = statSync(args.contextDir).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) {
      throw new Error(`AppImage "${name}": contextDir "${args.contextDir}" is not a directory: point it at the app (with its Dockerfile), or set friday:imageUri.`);
    }
  }
  if (args.keepImages !== undefined && (!Number.isInteger(args.keepImages) || args.keepImages < 2)) {
    throw new Error(`AppImage "${name}": keepImages must be an integer of at least 2 (got ${args.keepImages}) so a rollback target is always kept.`);
  }
}

/** A content hash of the build context (skipping node_modules and dist): the bootstrap image's tag. */
export function contextHash(dir: string): string {
  const hash = createHash("sha256");
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name === "node_modules" || entry.name === "dist" || entry.name.startsWith(".git")) continue;
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) hash.update(relative(dir, path)).update("\0").update(readFileSync(path));
    }
  };
  walk(dir);
  return hash.digest("hex").slice(0, 16);
}

/**
 * The stack's ECR repository (immutable tags, scan on push, encrypted, lifecycle) and the first
 * image: built from app/ with Docker so the service runs before any pipeline exists, or taken from
 * the stack config. After that, the pipeline owns which image runs.
 */
export class AppImage extends pulumi.ComponentResource {
  public readonly repository: aws.ecr.Repository;
  /** The image the task-definition template starts with (digest-pinned when built here). */
  public readonly imageUri: pulumi.Output<string>;

  constructor(name: string, args: AppImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("friday:service:AppImage", name, {}, opts);
    validateAppImageArgs(name, args);
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
    new aws.ecr.LifecyclePolicy(`${name}-lifecycle`, {
      repository: this.repository.name,
      policy: JSON.stringify({
        rules: [
          { rulePriority: 1, description: "expire untagged layers (build cache leftovers) after a day", selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 1 }, action: { type: "expire" } },
          { rulePriority: 2, description: `keep the last ${args.keepImages ?? 30} images`, selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: args.keepImages ?? 30 }, action: { type: "expire" } },
        ],
      }),
    }, { parent: this });

    if (args.imageUri) {
      this.imageUri = pulumi.output(args.imageUri);
    } else {
      const auth = aws.ecr.getAuthorizationTokenOutput({ registryId: this.repository.registryId }, { parent: this });
      const image = new docker.Image(`${name}-bootstrap`, {
        // Tagged by content: immutable tags allow each tag once, and an unchanged app is not rebuilt.
        imageName: pulumi.interpolate`${this.repository.repositoryUrl}:bootstrap-${contextHash(args.contextDir)}`,
        build: { context: args.contextDir, platform: args.platform ?? "linux/arm64", args: { APP_COMMIT: `bootstrap-${contextHash(args.contextDir)}` } },
        registry: { server: this.repository.repositoryUrl, username: auth.userName, password: pulumi.secret(auth.password) },
      }, { parent: this });
      this.imageUri = image.repoDigest;
    }
    this.registerOutputs({ repositoryUrl: this.repository.repositoryUrl, imageUri: this.imageUri });
  }
}
