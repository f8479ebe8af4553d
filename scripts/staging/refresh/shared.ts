import { DBInstance, RDSClient, Tag } from "@aws-sdk/client-rds";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GetParametersCommand, SSMClient } from "@aws-sdk/client-ssm";
import { SNSClient } from "@aws-sdk/client-sns";
import { ECSClient } from "@aws-sdk/client-ecs";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { PARITY } from "../../../infra/parity";
import { refreshResourcePrefix, stackResourcePrefix } from "../../../infra/naming";
import { REFRESH_ROLE_TAG, REFRESH_SCRUB_TAG } from "../../../infra/refresh-parameters";

/**
 * What every part of the staging refresh shares: its inputs and report, resource names and tags,
 * and small pure helpers. scripts/staging/refresh.ts re-exports what its callers use.
 */
// ---------------------------------------------------------------------------------------------
// Inputs

/** The AWS clients the refresh talks to (tests pass aws-sdk-client-mock clients). */
export interface RefreshClients {
  readonly rds: RDSClient;
  readonly ssm: SSMClient;
  readonly secretsManager: SecretsManagerClient;
  readonly sns: SNSClient;
  readonly ecs: ECSClient;
  readonly elb: ElasticLoadBalancingV2Client;
}

/** Progress the scrub step reports (per table); passed through to the progress lines. */
export interface ScrubProgress {
  readonly table?: string;
  /** "start" | "done" | …: rows are counted from "done" (or from lines without a phase). */
  readonly phase?: string;
  readonly rows?: number;
  readonly message?: string;
}

/** The verdict of the verify step. */
export interface VerifyVerdict {
  readonly ok: boolean;
  /** What failed, one line each (never personal values). */
  readonly problems: readonly string[];
}

/**
 * The PostgreSQL work, injected so the orchestrator is tested without a database. The CLI wires the
 * real ones from scrub-rules.ts, scrub.ts, verify.ts and refresh-prewarm.ts.
 */
export interface RefreshDatabaseSteps {
  /** Reads and validates the rules file. */
  loadRules(path: string): Promise<unknown>;
  /** A sample of personal values taken before the scrub, for verify to look for afterwards. */
  takeSample(input: { databaseUrl: string; rules: unknown }): Promise<unknown>;
  /** Scrubs the database in place (fails closed on an unclassified column). */
  scrub(input: { databaseUrl: string; rules: unknown; key: string | Buffer; concurrency: number; onProgress: (p: ScrubProgress) => void }): Promise<unknown>;
  /** Checks the scrubbed database. */
  verify(input: { databaseUrl: string; rules: unknown; before: unknown }): Promise<VerifyVerdict>;
  /** Reads every table once so the restored volume is loaded before the app uses it. */
  prewarm(input: { databaseUrl: string }): Promise<{ tables: number; rows?: number }>;
}

export interface RefreshOptions {
  /** The stack whose database is replaced; only "staging". */
  readonly stack: string;
  /** The stack whose database is copied. @default "prod" */
  readonly sourceStack?: string;
  /** Path of the scrub rules file. */
  readonly rulesPath: string;
  /** Hours to keep the replaced instance; default: the stack's SSM parameter, else 72. */
  readonly retentionHours?: number;
  /** Tables scrubbed in parallel; default: the stack's SSM parameter, else 2. */
  readonly concurrency?: number;
  /** Start a new run even if an unfinished one exists (its leftovers are deleted first). @default false */
  readonly fresh?: boolean;
  /** Only delete an expired `-previous` instance; copy nothing. @default false */
  readonly pruneOnly?: boolean;
  /** Seconds between polls. @default 30 */
  readonly pollSeconds?: number;
  /** Longest wait for one RDS transition (restore, snapshot, rename, delete). @default 6 hours */
  readonly waitTimeoutSeconds?: number;
  /** Longest wait for the service to be healthy on the new database. @default 15 minutes */
  readonly healthTimeoutSeconds?: number;
  /** Longest wait for the service to roll onto the new database secret (one ECS deployment). @default 30 */
  readonly rollTimeoutMinutes?: number;
  /** Consecutive healthy polls required after the swap. @default 3 */
  readonly healthyPolls?: number;
  /** Waits; tests pass one that only advances a fake clock. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** The clock. */
  readonly now?: () => Date;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /** Fresh master passwords for the temporary instance (and the replacement, until RDS manages it). */
  readonly generatePassword?: () => string;
  /**
   * PEM bundle of the RDS certificate authorities: with it, connections verify the server
   * (sslmode=verify-full); without it they are encrypted but unverified. @default none
   */
  readonly caBundlePath?: string;
  /** This process is itself the refresh's ECS task (so one running task of the family is this one). @default false */
  readonly insideTask?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Report

export const STEP_NAMES = [
  "snapshot prod",
  "restore isolated instance",
  "scrub and verify",
  "snapshot scrubbed, restore replacement, prewarm",
  "swap, move credentials, health check",
  "clean up",
] as const;

export type StepStatus = "done" | "skipped" | "failed" | "not run";

export interface StepReport {
  readonly step: number;
  readonly name: string;
  status: StepStatus;
  durationMs: number;
  /** One line on what happened (resumed, created, ...). */
  detail?: string;
}

export interface RefreshReport {
  readonly stack: string;
  readonly runId: string;
  /** True when the run picked up an unfinished earlier run. */
  readonly resumed: boolean;
  ok: boolean;
  readonly steps: StepReport[];
  totalMs: number;
  /** The failure, with every secret redacted. */
  error?: string;
  /** What the failure path did (swap undone, resources deleted, ...). */
  readonly recovery: string[];
  /** Whether the SNS topic was told about the failure. */
  notified?: boolean;
}

/** Thrown for bad input before anything was changed. */
export class RefreshInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RefreshInputError";
  }
}

// ---------------------------------------------------------------------------------------------
// Naming

export const RUN_ID = /^r\d{14}$/;

/** A run id from the clock: `r` + UTC yyyymmddhhmmss. */
export function newRunId(now: Date): string {
  return "r" + now.toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

/** The names of everything one run makes. */
export function runResourceNames(stack: string, runId: string) {
  const prefix = `${refreshResourcePrefix(stack)}${runId}`;
  return {
    sourceSnapshot: `${prefix}-source`,
    isolated: `${prefix}-isolated`,
    scrubbedSnapshot: `${prefix}-scrubbed`,
    replacement: `${prefix}-new`,
  };
}

export const TAG = {
  stack: "friday:stack",
  run: "friday:refresh-run",
  /** What the resource is in the run (its IAM policy keys on it): source-snapshot, isolated, scrubbed-snapshot, replacement. */
  role: REFRESH_ROLE_TAG,
  /** On the isolated instance: "started" once the scrub began, "verified" after verify passed (no snapshot of it before). */
  scrub: REFRESH_SCRUB_TAG,
  /** On `<id>-previous`: the run that replaced it. */
  replacedBy: "friday:refresh-replaced-by",
  /** On `<id>-previous`: when it may be deleted (ISO time). */
  keepUntil: "friday:refresh-keep-until",
  /**
   * On the swapped-in instance: when it passed the health check (ISO time). A resumed run skips step 5
   * for it, and a failure keeps such a swap instead of undoing it (the failure is not the new database's).
   */
  healthy: "friday:refresh-healthy",
} as const;

export const tagValue = (tags: Tag[] | undefined, key: string): string | undefined => tags?.find((t) => t.Key === key)?.Value;

/**
 * Tag lists merged by key, a later list's value winning. RDS rejects a request whose Tags name a key
 * twice, and staging's own tags (from Pulumi) already carry keys the run sets too (`friday:stack`).
 */
export function mergeTags(...lists: ReadonlyArray<readonly Tag[] | undefined>): Tag[] {
  const byKey = new Map<string, Tag>();
  for (const list of lists) for (const tag of list ?? []) if (tag.Key) byKey.set(tag.Key, { Key: tag.Key, Value: tag.Value });
  return [...byKey.values()];
}

/** "17" of "17.6": engine versions of one major share a parameter-group family (postgres17). */
export const majorOf = (version: string | undefined): string => (version ?? "").split(".")[0];

// ---------------------------------------------------------------------------------------------
// The orchestrator

export interface Targets {
  source: { dbIdentifier: string };
  target: {
    dbIdentifier: string;
    parameterGroup: string;
    subnetGroup: string;
    engineVersion: string;
    secretArn: string;
    clusterName: string;
    serviceName: string;
    targetGroupArns: string[];
    topicArn: string;
  };
  refresh: { isolatedSecurityGroupId: string; keySecretArn: string; retentionHours?: number; concurrency?: number };
}

/** Instance states a wait gives up on: the instance will not become available by itself. */
export const FAILED_STATES = new Set(["failed", "incompatible-restore", "incompatible-parameters", "incompatible-network", "storage-full", "inaccessible-encryption-credentials", "restore-error"]);

/** Instance states a deletion may start from (a failed restore is deleted as it is). */
export const DELETABLE = new Set(["available", "stopped", ...FAILED_STATES]);

export const MUTATING_RDS = new Set(["ModifyDBInstanceCommand", "DeleteDBInstanceCommand", "DeleteDBSnapshotCommand", "AddTagsToResourceCommand", "RemoveTagsFromResourceCommand", "RestoreDBInstanceFromDBSnapshotCommand", "CreateDBSnapshotCommand"]);



// ---------------------------------------------------------------------------------------------
// Helpers (exported for tests)

/** Throws if a mutating RDS call names the source database (or anything outside the stack prefix). */
export function assertNotSource(command: string, input: object, sourceId: string, sourceArn: string, stack: string): void {
  const i = input as Record<string, unknown>;
  const prefix = stackResourcePrefix(stack);
  const named = [i.DBInstanceIdentifier, i.NewDBInstanceIdentifier, i.DBSnapshotIdentifier, i.ResourceName].filter((x): x is string => typeof x === "string");
  // CreateDBSnapshot reads its DBInstanceIdentifier: the one call allowed to name the source.
  const checked = command === "CreateDBSnapshotCommand" ? named.filter((n) => n !== i.DBInstanceIdentifier) : named;
  for (const name of checked) {
    const id = name.startsWith("arn:") ? name.split(":").slice(6).join(":") : name;
    if (name === sourceId || name === sourceArn || id === sourceId || !id.startsWith(prefix)) {
      throw new Error(`refusing ${command} on "${name}": the refresh only changes resources named "${prefix}…", never ${sourceId}`);
    }
  }
}

/** Hours a run lock holds before another run may take it over. */
export const LOCK_HOURS = 24;

export function parseLock(value: string | undefined): { holder: string; kind: string; since: string; until: string } | undefined {
  if (!value) return undefined;
  try {
    const lock = JSON.parse(value) as { holder?: unknown; kind?: unknown; since?: unknown; until?: unknown };
    return typeof lock.holder === "string" && typeof lock.since === "string" && typeof lock.until === "string"
      ? { holder: lock.holder, kind: String(lock.kind ?? "cli"), since: lock.since, until: lock.until }
      : undefined;
  } catch {
    return undefined;
  }
}

export async function readParameters(ssm: SSMClient, names: string[]): Promise<Record<string, string | undefined>> {
  const values: Record<string, string | undefined> = {};
  for (let i = 0; i < names.length; i += 10) {
    const out = await ssm.send(new GetParametersCommand({ Names: names.slice(i, i + 10) }));
    for (const p of out.Parameters ?? []) if (p.Name) values[p.Name] = p.Value;
  }
  return values;
}

/**
 * A connection URL for an instance. TLS always (the parameter group forces it); the server is
 * verified against `caBundlePath` (the RDS CA bundle) when given.
 */
export function databaseUrlOf(instance: DBInstance, password: string, username = instance.MasterUsername ?? PARITY.database.masterUsername, caBundlePath?: string): string {
  const host = instance.Endpoint?.Address;
  if (!host) throw new Error(`${instance.DBInstanceIdentifier} has no endpoint yet`);
  const port = instance.Endpoint?.Port ?? PARITY.database.port;
  const database = instance.DBName ?? PARITY.database.databaseName;
  const tls = caBundlePath ? `sslmode=verify-full&sslrootcert=${encodeURIComponent(caBundlePath)}` : "sslmode=no-verify";
  return `postgres://${encodeURIComponent(username)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(database)}?${tls}`;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

export function summaryLine(report: RefreshReport): string {
  const steps = report.steps.map((s) => `${s.step}:${s.status}(${formatDuration(s.durationMs)})`).join(" ");
  return `staging refresh ${report.runId} ${report.ok ? "succeeded" : "FAILED"} in ${formatDuration(report.totalMs)} — ${steps}`;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function errorName(error: unknown): string | undefined {
  return (error as { name?: string } | undefined)?.name;
}
