import { z } from "zod";
import { PARITY } from "./parity";

/**
 * The one place that turns Pulumi config into a typed, validated object. Stack files hold only the
 * knobs that may differ between staging and prod; everything else lives in parity.ts.
 */

const FARGATE_MEMORY_BY_CPU: Record<number, { min: number; max: number; step: number }> = {
  256: { min: 512, max: 2048, step: 512 },
  512: { min: 1024, max: 4096, step: 1024 },
  1024: { min: 2048, max: 8192, step: 1024 },
  2048: { min: 4096, max: 16384, step: 1024 },
  4096: { min: 8192, max: 30720, step: 1024 },
};

/** CloudWatch Logs accepts only these retention periods (days). */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

const int = (min: number, max: number) => z.number().int().min(min).max(max);

const networkSchema = z
  .object({
    /** NAT gateways: 1 (cheap, one AZ's egress is a single point of failure) up to one per AZ. */
    natGateways: int(1, PARITY.azCount).default(1),
    /** Interface endpoints for ECR, CloudWatch Logs, Secrets Manager, SSM and CloudWatch (the S3 gateway endpoint is always on). */
    interfaceEndpoints: z.boolean().default(true),
  })
  .strict();

const databaseSchema = z
  .object({
    instanceClass: z.string().regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, 'must look like "db.t4g.medium"'),
    multiAz: z.boolean().default(false),
    allocatedStorageGb: int(20, 65536).default(20),
    /** Storage autoscaling ceiling; must be at least allocatedStorageGb. */
    maxAllocatedStorageGb: int(20, 65536).optional(),
    backupRetentionDays: int(1, 35).default(7),
    deletionProtection: z.boolean().default(false),
    /** Take a final snapshot when the instance is deleted. */
    finalSnapshot: z.boolean().default(false),
    /** 7 (free tier) or a multiple of 31 up to 731. */
    performanceInsightsRetentionDays: z
      .number()
      .int()
      .refine((d) => d === 7 || (d % 31 === 0 && d >= 31 && d <= 731), "must be 7 or a multiple of 31 up to 731")
      .default(7),
  })
  .strict()
  .refine((d) => d.maxAllocatedStorageGb === undefined || d.maxAllocatedStorageGb >= d.allocatedStorageGb, {
    message: "must be at least allocatedStorageGb",
    path: ["maxAllocatedStorageGb"],
  });

const serviceSchema = z
  .object({
    /** Fargate task CPU units. */
    cpu: z.union([z.literal(256), z.literal(512), z.literal(1024), z.literal(2048), z.literal(4096)]).default(256),
    /** Fargate task memory (MiB); must be valid for the cpu. */
    memory: z.number().int().default(512),
    desiredCount: int(1, 100).default(1),
    minCount: int(1, 100).default(1),
    maxCount: int(1, 100).default(2),
    /** Target CPU utilisation for auto scaling (percent). */
    cpuTargetPercent: int(10, 95).default(60),
    logRetentionDays: z
      .number()
      .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), `must be one of ${LOG_RETENTION_DAYS.join(", ")}`)
      .default(30),
  })
  .strict()
  .superRefine((s, ctx) => {
    const range = FARGATE_MEMORY_BY_CPU[s.cpu];
    if (range && (s.memory < range.min || s.memory > range.max || (s.memory - range.min) % range.step !== 0)) {
      ctx.addIssue({
        code: "custom",
        path: ["memory"],
        message: `is not valid with cpu ${s.cpu}: use ${range.min}..${range.max} in steps of ${range.step}`,
      });
    }
    if (!(s.minCount <= s.desiredCount && s.desiredCount <= s.maxCount)) {
      ctx.addIssue({ code: "custom", path: ["desiredCount"], message: "must satisfy minCount <= desiredCount <= maxCount" });
    }
  });

const deploySchema = z
  .object({
    /** Minutes both revisions keep running after traffic shifts, so a rollback is instant. */
    bakeTimeMinutes: int(0, 1440).default(5),
    /** Minutes the lifecycle hook watches the rollback alarms after production traffic shifts. */
    alarmWatchMinutes: int(0, 60).default(5),
    /** Seconds the smoke test waits for green to answer. */
    smokeTestTimeoutSeconds: int(1, 60).default(10),
  })
  .strict();

const httpsSchema = z
  .object({
    /** An existing ACM certificate for the ALB. */
    certificateArn: z.string().regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[\w-]+$/, "must be an ACM certificate ARN").optional(),
    /** A DNS name for the service; with hostedZoneId, friday issues the certificate and the alias record. */
    domainName: z.string().regex(/^([a-z0-9-]+\.)+[a-z]{2,}$/, 'must be a DNS name like "api.example.com"').optional(),
    /** Route 53 hosted zone that holds domainName. */
    hostedZoneId: z.string().regex(/^Z[A-Z0-9]+$/, "must be a Route 53 hosted zone id").optional(),
  })
  .strict()
  .refine((h) => !h.domainName || h.certificateArn || h.hostedZoneId, {
    message: "domainName needs hostedZoneId (to issue and validate a certificate) or certificateArn",
    path: ["domainName"],
  });

const alarmsSchema = z
  .object({
    /** ALB 5xx responses as a percentage of requests. */
    http5xxRatePercent: z.number().min(0.1).max(100).default(5),
    /** p99 target response time, milliseconds. */
    p99LatencyMs: int(10, 60000).default(2000),
    /** Unhealthy targets that trip the alarm. */
    unhealthyTargets: int(1, 100).default(1),
    dbCpuPercent: int(1, 100).default(80),
    dbFreeStorageGb: int(1, 10000).default(5),
    /** Consecutive one-minute periods in breach before ALARM. */
    evaluationPeriods: int(1, 30).default(3),
    /** Optional e-mail subscribed to the notifications topic (must confirm once). */
    notificationEmail: z.string().email().optional(),
  })
  .strict();

/** Paths of the repository that are the Pulumi program: a pull request touching one gets infra previews. */
export const DEFAULT_INFRA_PATHS = [
  "Pulumi.yaml", "Pulumi.*.yaml", "infra/**", "stacks/**", "components/**", "lambdas/**", "pipeline/**", "scripts/**", "package.json", "package-lock.json",
] as const;

/** An S3 bucket name as S3 accepts it (3-63 lower-case letters, digits, '.' and '-'). */
const S3_BACKEND = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/[\w./-]*)?(\?[\w=&.-]*)?$/;
const PULUMI_CLOUD = /^https:\/\/api\.pulumi\.com\/?$/;

/**
 * How the pipeline runs Pulumi (prod's `friday:pipeline.infra`): the state backend and secrets
 * provider `friday bootstrap` created, or Pulumi Cloud with an access token in Secrets Manager.
 */
const infraDeliverySchema = z
  .object({
    /** The state backend: "s3://<bucket>" (what `friday bootstrap` creates) or "https://api.pulumi.com" (Pulumi Cloud). */
    backendUrl: z
      .string()
      .refine((v) => S3_BACKEND.test(v) || PULUMI_CLOUD.test(v), 'must be "s3://<state-bucket>" (run `friday bootstrap` to create one) or "https://api.pulumi.com"'),
    /** Secrets provider of both stacks, "awskms://alias/<name>?region=<region>"; required with an S3 backend. */
    secretsProvider: z
      .string()
      .regex(/^awskms:\/\/alias\/[\w/-]+\?region=[a-z]{2}(-[a-z]+)+-\d$/, 'must be "awskms://alias/<name>?region=<region>", e.g. "awskms://alias/friday-pulumi?region=us-east-1"')
      .optional(),
    /** (Pulumi Cloud) The Secrets Manager secret holding PULUMI_ACCESS_TOKEN (a team token, never in a stack file). */
    accessTokenSecretArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$/, "must be a Secrets Manager secret ARN")
      .optional(),
    /** Path globs that are the Pulumi program: a pull request touching one gets `pulumi preview` for both stacks. */
    paths: z.array(z.string().min(1)).min(1).max(50).default([...DEFAULT_INFRA_PATHS]),
  })
  .strict()
  .superRefine((infra, ctx) => {
    if (S3_BACKEND.test(infra.backendUrl) && !infra.secretsProvider) {
      ctx.addIssue({
        code: "custom",
        path: ["secretsProvider"],
        message: 'is required with an S3 backend (stack secrets are encrypted with it): set it to the key `friday bootstrap` printed, e.g. "awskms://alias/friday-pulumi?region=us-east-1"',
      });
    }
    if (PULUMI_CLOUD.test(infra.backendUrl) && !infra.accessTokenSecretArn) {
      ctx.addIssue({
        code: "custom",
        path: ["accessTokenSecretArn"],
        message: "is required with Pulumi Cloud: store a Pulumi team access token in Secrets Manager and set its ARN here",
      });
    }
  });

/** Checks on every pull request and branch push (CodeBuild webhooks; nothing deploys from a branch). */
const pullRequestsSchema = z
  .object({
    /** Run tests, migration lint and infra previews on pull requests and branch pushes. */
    enabled: z.boolean().default(true),
    /** Builds of pull requests from forks wait for a maintainer's approving comment (they run untrusted code). */
    forkApproval: z.boolean().default(true),
  })
  .strict();

/** Pipeline: `pulumi up -s prod` builds it (see docs/pipeline.md); staging has none. */
const pipelineSchema = z
  .object({
    /** The app repository the pipeline builds, "owner/name" as the git host spells it. */
    repository: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'must be "owner/name", e.g. "acme/app"'),
    /** Pushes to this branch start the pipeline. */
    branch: z.string().regex(/^[^\s~^:?*\[\\]+$/, "must be a git branch name").default("main"),
    /** An existing (already approved) CodeConnections connection; without it the stack creates one to approve once. */
    connectionArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection\/[\w-]+$/, "must be a CodeConnections connection ARN")
      .optional(),
    /** Git host of the connection the stack creates. */
    providerType: z.enum(["GitHub", "GitHubEnterpriseServer", "GitLab", "GitLabSelfManaged", "Bitbucket"]).default("GitHub"),
    /** Only pushes touching these paths (globs) start the pipeline; default: any path. */
    filePaths: z.array(z.string().min(1)).min(1).max(8).optional(),
    /** The app's unit tests, run in the repository root. */
    testCommand: z.string().min(1).default("npm test"),
    /** The migration lint, run in the repository root after the tests. */
    lintCommand: z.string().min(1).default("npx friday migrate lint --dir app/migrations"),
    /** Docker build context, relative to the repository root. */
    dockerContext: z.string().regex(/^(\.|[\w.-]+(\/[\w.-]+)*)$/, 'must be a relative path like "." or "app"').default("."),
    /** The Dockerfile, relative to the repository root. */
    dockerfile: z.string().regex(/^[\w.-]+(\/[\w.-]+)*$/, 'must be a relative path like "app/Dockerfile"').default("app/Dockerfile"),
    /** Migrations directory, relative to the repository root. */
    migrationsDir: z.string().regex(/^[\w.-]+(\/[\w.-]+)*$/, 'must be a relative path like "app/migrations"').default("app/migrations"),
    /** A person approves each prod release after the automatic gate. */
    manualApproval: z.boolean().default(true),
    /** Minutes a deploy step may take (blue/green shift plus bake) before the run fails. */
    deployTimeoutMinutes: int(5, 480).default(60),
    /** Images the ECR lifecycle policy keeps (most recent first). */
    imageRetentionCount: int(2, 1000).default(30),
    /** The infrastructure ships through the pipeline too: where Pulumi's state lives, and what counts as an infra change. */
    infra: infraDeliverySchema,
    /** Tests (and infra previews) on every pull request and branch push, reported to the git host as commit statuses. */
    pullRequests: pullRequestsSchema.default(pullRequestsSchema.parse({})),
  })
  .strict();

/** Staging refresh (staging only): prod's database copied, scrubbed, verified and swapped in on a schedule. */
const stagingRefreshSchema = z
  .object({
    /** Run the refresh on the schedule; when false the job exists but only runs by hand. */
    enabled: z.boolean().default(true),
    /** EventBridge Scheduler cron expression (six fields), read in `timezone`. Default: Sundays 04:00. */
    schedule: z
      .string()
      .regex(/^cron\((\S+ ){5}\S+\)$/, 'must be an EventBridge Scheduler cron expression with six fields, like "cron(0 4 ? * SUN *)"')
      .default("cron(0 4 ? * SUN *)"),
    /** IANA time zone of the schedule. */
    timezone: z.string().regex(/^[A-Za-z_]+(\/[A-Za-z_+-]+)*$/, 'must be an IANA time zone like "UTC" or "Europe/Berlin"').default("UTC"),
    /** Hours the replaced staging database is kept (as `<id>-previous`) for rollback; 0 deletes it at once. */
    retentionHours: int(0, 840).default(72),
    /** Tables scrubbed in parallel. */
    scrubConcurrency: int(1, 32).default(2),
  })
  .strict();

/**
 * Each section's defaults as the schema fills them in: the one place a knob's default lives.
 * Components that default an argument which is also a knob take the value from here.
 */
export const SETTING_DEFAULTS = {
  network: networkSchema.parse({}),
  service: serviceSchema.parse({}),
  deploy: deploySchema.parse({}),
  alarms: alarmsSchema.parse({}),
  pipeline: pipelineSchema.omit({ repository: true, infra: true }).parse({}),
  stagingRefresh: stagingRefreshSchema.parse({}),
};

/** The whole `friday:` namespace of a stack file. */
export const stackSettingsSchema = z
  .object({
    network: networkSchema.default(SETTING_DEFAULTS.network),
    database: databaseSchema,
    service: serviceSchema.default(SETTING_DEFAULTS.service),
    deploy: deploySchema.default(SETTING_DEFAULTS.deploy),
    https: httpsSchema.default({}),
    alarms: alarmsSchema.default(SETTING_DEFAULTS.alarms),
    /** Run this image instead of building app/ (for an operator without Docker). */
    imageUri: z.string().regex(/^[\w.-]+(:\d+)?\/[\w./-]+(:[\w.-]+|@sha256:[a-f0-9]{64})$/, "must be an image reference like 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:tag").optional(),
    /** (staging) Run this friday CLI image for the scheduled refresh instead of building scripts/Dockerfile. */
    opsImageUri: z.string().regex(/^[\w.-]+(:\d+)?\/[\w./-]+(:[\w.-]+|@sha256:[a-f0-9]{64})$/, "must be an image reference like 123456789012.dkr.ecr.us-east-1.amazonaws.com/ops:tag").optional(),
    /** (prod) The staging stack to read outputs from, e.g. "acme/friday/staging". */
    stagingStack: z.string().min(1).optional(),
    /** (prod) The delivery pipeline: repository, branch, commands, approval. */
    pipeline: pipelineSchema.optional(),
    /** (staging) The scheduled database refresh from prod. */
    stagingRefresh: stagingRefreshSchema.default(SETTING_DEFAULTS.stagingRefresh),
  })
  .strict();

export type StackSettings = z.infer<typeof stackSettingsSchema>;
/** The validated `friday:stagingRefresh` section. */
export type StagingRefreshSettings = z.infer<typeof stagingRefreshSchema>;
export type StackRole = "staging" | "prod";

/** A stack's validated configuration: its role plus the per-stack knobs. */
export interface StackConfig extends StackSettings {
  /** The stack name (`staging` or `prod`): decides naming and what the stack composes. */
  readonly stack: StackRole;
  readonly region: string;
}

/**
 * Keys that may not appear in a stack file, with where the value lives instead. A stack file that
 * sets one fails, so the two stacks cannot drift on engine, topology or deployment strategy.
 */
export const PARITY_LOCKED_KEYS: Readonly<Record<string, string>> = {
  azCount: "PARITY.azCount",
  "network.azCount": "PARITY.azCount",
  "network.vpcCidr": "PARITY.vpcCidr",
  engine: "PARITY.database.engine",
  engineVersion: "PARITY.database.engineVersion",
  "database.engine": "PARITY.database.engine",
  "database.engineVersion": "PARITY.database.engineVersion",
  "database.parameterGroupFamily": "PARITY.database.parameterGroupFamily",
  "database.family": "PARITY.database.parameterGroupFamily",
  "database.parameters": "PARITY.database.parameters",
  "database.port": "PARITY.database.port",
  "database.databaseName": "PARITY.database.databaseName",
  "database.masterUsername": "PARITY.database.masterUsername",
  "service.containerPort": "PARITY.service.containerPort",
  "service.healthCheckPath": "PARITY.service.healthCheckPath",
  "service.deploymentStrategy": "PARITY.service.deploymentStrategy",
  "service.cpuArchitecture": "PARITY.service.cpuArchitecture",
  "deploy.strategy": "PARITY.service.deploymentStrategy",
  "alarms.set": "PARITY.alarmSet",
};

/** The error every bad stack file gets: names the file, the key, what is wrong and the fix. */
export class StackConfigError extends Error {
  constructor(stack: string, problems: string[]) {
    super(
      `Pulumi.${stack}.yaml is not valid:\n` + problems.map((p) => `  - ${p}`).join("\n") +
        "\nFix the stack file and run again; nothing was created or changed.",
    );
    this.name = "StackConfigError";
  }
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

function suggestion(key: string, known: string[]): string {
  const best = known
    .map((k) => ({ k, d: editDistance(key, k) }))
    .sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.max(2, Math.floor(key.length / 3)) ? ` Did you mean "${best.k}"?` : "";
}

/** Known keys of the object schema at `path` (unwrapping defaults, optionals and refinements). */
function knownKeysAt(path: PropertyKey[]): string[] {
  let schema: z.ZodType = stackSettingsSchema;
  for (const segment of path) {
    schema = unwrap(schema);
    if (!(schema instanceof z.ZodObject)) return [];
    schema = (schema.shape as Record<string, z.ZodType>)[String(segment)];
    if (!schema) return [];
  }
  schema = unwrap(schema);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/**
 * Every setting a stack file can hold, as dotted paths (`alarms.p99LatencyMs`): the leaves of the
 * schema. Tests walk it so a new knob cannot be added without a test that it reaches its resource.
 */
export function settingPaths(schema: z.ZodType = stackSettingsSchema, prefix = ""): string[] {
  const inner = unwrap(schema);
  if (!(inner instanceof z.ZodObject)) return [prefix];
  return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, child]) => settingPaths(child, prefix ? `${prefix}.${key}` : key));
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (;;) {
    if (current instanceof z.ZodDefault || current instanceof z.ZodOptional) current = current.unwrap() as z.ZodType;
    else if (current instanceof z.ZodPipe) current = current.in as z.ZodType;
    else return current;
  }
}

function lockedKeyProblems(stack: string, value: unknown, prefix = ""): string[] {
  if (!value || typeof value !== "object" || Array.isArray(value)) return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, child]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    const home = PARITY_LOCKED_KEYS[path];
    if (home) {
      return [
        `friday:${path} is parity-locked: it is defined once in infra/parity.ts (${home}) so staging and prod cannot drift. ` +
          `Remove it from Pulumi.${stack}.yaml; to change it for both stacks, edit infra/parity.ts.`,
      ];
    }
    return lockedKeyProblems(stack, child, path);
  });
}

function describe(value: unknown): string {
  return value === undefined ? "nothing" : JSON.stringify(value);
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[String(k)] : undefined), root);
}

/** Pulumi hands config values over as strings; structured values arrive as JSON. */
function decode(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * Validates a stack's raw Pulumi config (as `pulumi.runtime.allConfig()` returns it: `friday:key`
 * → string). Throws one StackConfigError naming every bad key and its fix.
 */
export function parseStackConfig(stack: string, rawConfig: Readonly<Record<string, string>>): StackConfig {
  if (stack !== "staging" && stack !== "prod") {
    throw new StackConfigError(stack, [`the stack is named "${stack}": friday builds two stacks, "staging" and "prod". Run \`pulumi stack select staging\` (or prod).`]);
  }
  const settings: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(rawConfig)) {
    if (key.startsWith("friday:")) settings[key.slice("friday:".length)] = decode(raw);
  }
  const region = rawConfig["aws:region"];
  const problems = lockedKeyProblems(stack, settings);
  if (!region) problems.push(`aws:region is missing: add \`aws:region: us-east-1\` (or your region) to Pulumi.${stack}.yaml.`);
  if (stack === "prod" && !settings.stagingStack) {
    problems.push('friday:stagingStack is missing: prod reads staging\'s outputs to stay behind it. Set it to the staging stack\'s name, e.g. "acme/friday/staging".');
  }
  if (stack === "prod" && !settings.pipeline) {
    problems.push('friday:pipeline is missing: prod builds the delivery pipeline. Add `friday:pipeline: {repository: "owner/app"}` (see docs/pipeline.md).');
  }
  const defaultTags = decode(rawConfig["aws:defaultTags"] ?? "null") as { tags?: Record<string, unknown> } | null;
  if (defaultTags?.tags?.["friday:stack"] !== stack) {
    problems.push(
      `aws:defaultTags must tag every resource with its stack (the pipeline's infra roles are denied the other stack's resources by this tag): ` +
        `add \`aws:defaultTags: {tags: {"friday:stack": ${stack}}}\` to Pulumi.${stack}.yaml (got ${describe(defaultTags?.tags?.["friday:stack"])}).`,
    );
  }
  const pipeline = settings.pipeline as Record<string, unknown> | undefined;
  if (stack === "prod" && pipeline && typeof pipeline === "object" && pipeline.infra === undefined) {
    problems.push(
      "friday:pipeline.infra is missing: the pipeline runs `pulumi up` for both stacks and needs their state backend. " +
        "Run `npx friday bootstrap --region <region>` once; it creates the state bucket and KMS key and prints the block to add, e.g. " +
        '`infra: {backendUrl: "s3://acme-friday-state", secretsProvider: "awskms://alias/friday-pulumi?region=us-east-1"}` (see docs/infra-pipeline.md).',
    );
  }
  if (stack === "staging" && settings.pipeline !== undefined) {
    problems.push("friday:pipeline is set in the staging stack: only prod builds the pipeline (it deploys to both). Move the block to Pulumi.prod.yaml.");
  }
  if (problems.length) throw new StackConfigError(stack, problems);

  const parsed = stackSettingsSchema.safeParse(settings);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) {
          const path = [...issue.path, key].join(".");
          problems.push(`friday:${path} is not a setting.${suggestion(key, knownKeysAt(issue.path))} Known settings here: ${knownKeysAt(issue.path).join(", ")}.`);
        }
      } else {
        const path = issue.path.join(".");
        const got = valueAt(settings, issue.path);
        problems.push(`friday:${path} ${issue.message.replace(/^Invalid input: /, "")} (got ${describe(got)}).`);
      }
    }
    throw new StackConfigError(stack, problems);
  }
  return { ...parsed.data, stack, region };
}
