import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import {
  AddTagsToResourceCommand,
  CreateDBSnapshotCommand,
  DBInstance,
  DBSnapshot,
  DeleteDBInstanceCommand,
  DeleteDBSnapshotCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  ModifyDBInstanceCommand,
  RDSClient,
  RemoveTagsFromResourceCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  Tag,
} from "@aws-sdk/client-rds";
import { PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { readScrubKey } from "./scrub-key";
import { DeleteParameterCommand, GetParametersCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { DescribeServicesCommand, ECSClient, ListTasksCommand } from "@aws-sdk/client-ecs";
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { PARITY } from "../../infra/parity";
import { refuseWhileInFlight, registerAndFollow, registrableInput, rewriteSecretArns, secretArnOfValueFrom, ServiceTarget } from "../deploy/deploy";
import { describeTaskDefinition } from "../deploy/service";
import { parameterName, StackParameterKey } from "../../infra/stack-parameters";
import { refreshResourcePrefix, refreshTaskFamily, stackResourcePrefix } from "../../infra/naming";
import { refreshLockParameterName, refreshParameterName, RefreshParameterKey } from "../../infra/refresh-parameters";

/**
 * `friday staging refresh`: replaces staging's database with a scrubbed copy of prod's.
 *
 *   1 snapshot prod (the only thing ever done to prod: a read)
 *   2 restore it to a temporary instance in the isolated security group (staging's engine version,
 *     parameter group and subnet group; private; encrypted)
 *   3 scrub and verify it (over a fresh master password set on the temporary instance only); delete
 *     prod's snapshot (nothing after this needs the unscrubbed copy)
 *   4 snapshot the scrubbed instance; restore staging's replacement from it, prewarm it (over a
 *     temporary password), then let RDS manage its master password (its own managed secret)
 *   5 swap it in under staging's identifier (old → `<id>-previous`); point SSM db-secret-arn at the
 *     new secret and roll the service onto a revision reading it; check the service
 *   6 delete the temporaries; delete a `-previous` whose retention has run out
 *
 * All state lives in AWS: every resource a run makes is named `friday-<stack>-refresh-<runId>-<role>`
 * and tagged with the run id, so a rerun after a crash derives where the last run stopped and goes on
 * from there. A failure undoes the swap (if it had started; credentials included) and deletes what
 * the run made, so staging keeps serving; a swap that passed its health check is kept instead. Then
 * the SNS topic hears what staging serves now.
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

const RUN_ID = /^r\d{14}$/;

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
  role: "friday:refresh-role",
  /** On the isolated instance: "started" once the scrub began, "verified" after verify passed. */
  scrub: "friday:refresh-scrub",
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

const tagValue = (tags: Tag[] | undefined, key: string): string | undefined => tags?.find((t) => t.Key === key)?.Value;

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
const majorOf = (version: string | undefined): string => (version ?? "").split(".")[0];

// ---------------------------------------------------------------------------------------------
// The orchestrator

interface Targets {
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
const FAILED_STATES = new Set(["failed", "incompatible-restore", "incompatible-parameters", "incompatible-network", "storage-full", "inaccessible-encryption-credentials", "restore-error"]);

/** Instance states a deletion may start from (a failed restore is deleted as it is). */
const DELETABLE = new Set(["available", "stopped", ...FAILED_STATES]);

const MUTATING_RDS = new Set(["ModifyDBInstanceCommand", "DeleteDBInstanceCommand", "DeleteDBSnapshotCommand", "AddTagsToResourceCommand", "RemoveTagsFromResourceCommand", "RestoreDBInstanceFromDBSnapshotCommand", "CreateDBSnapshotCommand"]);

/** Runs (or resumes) a refresh. Never throws for a failed run: the report says what happened. */
export async function refreshStaging(clients: RefreshClients, db: RefreshDatabaseSteps, options: RefreshOptions): Promise<RefreshReport> {
  const run = new RefreshRun(clients, db, options);
  return run.execute();
}

class RefreshRun {
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => Date;
  private readonly log: (line: string) => void;
  private readonly generatePassword: () => string;
  private readonly pollMs: number;
  private readonly waitTimeoutMs: number;
  private readonly secrets: string[] = [];
  private targets!: Targets;
  private runId = "";
  private names!: ReturnType<typeof runResourceNames>;
  private previousId = "";
  private sourceArn = "";
  private targetInstance!: DBInstance;

  constructor(
    private readonly clients: RefreshClients,
    private readonly db: RefreshDatabaseSteps,
    private readonly options: RefreshOptions,
  ) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? (() => new Date());
    this.log = options.log ?? ((line) => console.log(line));
    this.generatePassword = options.generatePassword ?? (() => randomBytes(24).toString("base64url"));
    this.pollMs = (options.pollSeconds ?? 30) * 1000;
    this.waitTimeoutMs = (options.waitTimeoutSeconds ?? 6 * 3600) * 1000;
  }

  async execute(): Promise<RefreshReport> {
    try {
      await this.prepare(); // bad input throws here, before anything changes
      await this.acquireLock();
    } catch (error) {
      await this.notifyCouldNotStart(error);
      throw error;
    }
    try {
      return await this.executeLocked();
    } finally {
      await this.releaseLock();
    }
  }

  /** AWS failing before the run starts is worth a notice; bad input is the caller's to read. */
  private async notifyCouldNotStart(error: unknown): Promise<void> {
    if (this.targets?.target.topicArn && !(error instanceof RefreshInputError)) {
      await this.publish(`friday staging refresh could not start on ${this.options.stack}: ${this.redact(messageOf(error))}\nStaging was not touched. Runbook: docs/runbooks/staging-refresh.md`);
    }
  }

  private readonly lockHolder = `${process.env.HOSTNAME || hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;

  /**
   * One run at a time, wherever it runs (the ECS check in prepare() sees only the job's tasks, not a
   * run from a laptop): the lock parameter is created only if absent. A lock is taken over — its run
   * died without deleting it, and runs resume, so nothing is lost — when it was held by a job task
   * (prepare() found none of the job's tasks running) or when it is older than a day.
   */
  private async acquireLock(): Promise<void> {
    const name = refreshLockParameterName(this.options.stack);
    const now = this.now();
    const kind = this.options.insideTask ? "task" : "cli";
    const value = JSON.stringify({ holder: this.lockHolder, kind, since: now.toISOString(), until: new Date(now.getTime() + LOCK_HOURS * 3600_000).toISOString() });
    try {
      await this.clients.ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: "String", Overwrite: false, Description: "friday: a staging refresh is running" }));
      return;
    } catch (error) {
      if ((error as { name?: string }).name !== "ParameterAlreadyExists") throw error;
    }
    const held = parseLock((await readParameters(this.clients.ssm, [name]))[name]);
    if (held && held.kind !== "task" && new Date(held.until).getTime() > now.getTime()) {
      throw new RefreshInputError(
        `another staging refresh is running (${held.holder}, since ${held.since}): wait for it to finish, then run again — it resumes where that one stops. If none is running (it was killed), delete the lock: aws ssm delete-parameter --name ${name}`,
      );
    }
    this.log(`  taking over the lock of ${held?.holder ?? "an unknown run"} (since ${held?.since ?? "?"}): ${held?.kind === "task" ? "that job task is no longer running" : "expired"}`);
    await this.clients.ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: "String", Overwrite: true }));
  }

  private async releaseLock(): Promise<void> {
    const name = refreshLockParameterName(this.options.stack);
    try {
      const held = parseLock((await readParameters(this.clients.ssm, [name]))[name]);
      if (held?.holder === this.lockHolder) await this.clients.ssm.send(new DeleteParameterCommand({ Name: name }));
    } catch (error) {
      this.log(`  could not delete the run lock ${name} (${messageOf(error)}): it expires after ${LOCK_HOURS} h, or delete it by hand`);
    }
  }

  private async executeLocked(): Promise<RefreshReport> {
    const started = this.now().getTime();
    let chosen: { runId: string; resumed: boolean };
    try {
      chosen = this.options.pruneOnly ? { runId: "prune", resumed: false } : await this.chooseRun();
    } catch (error) {
      await this.notifyCouldNotStart(error);
      throw error;
    }
    const { runId, resumed } = chosen;
    this.runId = runId;
    this.names = runResourceNames(this.options.stack, runId);
    const report: RefreshReport = {
      stack: this.options.stack,
      runId,
      resumed,
      ok: false,
      steps: STEP_NAMES.map((name, i) => ({ step: i + 1, name, status: "not run" as StepStatus, durationMs: 0 })),
      totalMs: 0,
      recovery: [],
    };
    this.log(`staging refresh ${runId}${resumed ? " (resuming an unfinished run)" : ""}: ${this.targets.source.dbIdentifier} → ${this.targets.target.dbIdentifier}`);

    const prune = async () => "skipped: --prune";
    const steps: Array<() => Promise<string | undefined>> = this.options.pruneOnly
      ? [prune, prune, prune, prune, prune, () => this.cleanUp()]
      : [
          () => this.snapshotSource(),
          () => this.restoreIsolated(),
          () => this.scrubAndVerify(),
          () => this.restoreReplacement(),
          () => this.swap(),
          () => this.cleanUp(),
        ];
    let failedStep: StepReport | undefined;
    for (const [i, step] of steps.entries()) {
      const entry = report.steps[i];
      const t0 = this.now().getTime();
      this.log(`[${entry.step}/6] ${entry.name} …`);
      try {
        const detail = await step();
        entry.status = detail?.startsWith("skipped") ? "skipped" : "done";
        entry.detail = detail;
      } catch (error) {
        entry.status = "failed";
        entry.detail = this.redact(messageOf(error));
        failedStep = entry;
      }
      entry.durationMs = this.now().getTime() - t0;
      this.log(`[${entry.step}/6] ${entry.name}: ${entry.status} in ${formatDuration(entry.durationMs)}${entry.detail ? ` — ${entry.detail}` : ""}`);
      if (failedStep) break;
    }

    if (failedStep) {
      report.error = `step ${failedStep.step} (${failedStep.name}) failed: ${failedStep.detail}`;
      this.log(`STAGING REFRESH FAILED: ${report.error}`);
      await this.recover(report, failedStep.step);
      report.notified = await this.notifyFailure(report);
    } else {
      report.ok = true;
    }
    report.totalMs = this.now().getTime() - started;
    this.log(summaryLine(report));
    return report;
  }

  // ------------------------------------------------------------------ preparation (read only)

  private async prepare(): Promise<void> {
    const { stack } = this.options;
    const sourceStack = this.options.sourceStack ?? "prod";
    if (stack === "prod" || stack === sourceStack) {
      throw new RefreshInputError(`--stack ${stack}: the refresh replaces staging's database with a scrubbed copy of ${sourceStack}'s; it never writes to ${stack}. Run it with --stack staging.`);
    }
    if (stack !== "staging") {
      throw new RefreshInputError(`--stack ${stack}: friday's stacks are "staging" and "prod"; the refresh runs on staging. Use --stack staging.`);
    }
    if (!this.options.rulesPath) throw new RefreshInputError("--rules is empty: pass the scrub rules file (see docs/runbooks/staging-refresh.md).");

    const stackKeys: StackParameterKey[] = ["dbInstanceIdentifier", "dbParameterGroupName", "dbSubnetGroupName", "dbEngineVersion", "dbSecretArn", "clusterName", "serviceName", "blueTargetGroupArn", "greenTargetGroupArn", "notificationsTopicArn"];
    const required = [
      ...stackKeys.map((key) => parameterName(stack, key)),
      parameterName(sourceStack, "dbInstanceIdentifier"),
      ...(["isolatedSecurityGroupId", "scrubKeySecretArn"] as const).map((key) => refreshParameterName(stack, key)),
    ];
    // Settings with defaults (72 h, 2 tables): read when published, never missing.
    const settings = (["retentionHours", "scrubConcurrency"] as const).map((key) => refreshParameterName(stack, key));
    const values = await readParameters(this.clients.ssm, [...required, ...settings]);
    const missing = required.filter((name) => values[name] === undefined);
    if (missing.length) {
      throw new RefreshInputError(`SSM parameters missing: ${missing.join(", ")}. Run \`pulumi up -s staging\` (and prod) so the stacks publish them, with the StagingRefresh component in staging.`);
    }
    const v = (stk: string, key: StackParameterKey) => values[parameterName(stk, key)]!;
    const r = (key: RefreshParameterKey) => values[refreshParameterName(stack, key)];
    this.targets = {
      source: { dbIdentifier: v(sourceStack, "dbInstanceIdentifier") },
      target: {
        dbIdentifier: v(stack, "dbInstanceIdentifier"),
        parameterGroup: v(stack, "dbParameterGroupName"),
        subnetGroup: v(stack, "dbSubnetGroupName"),
        engineVersion: v(stack, "dbEngineVersion"),
        secretArn: v(stack, "dbSecretArn"),
        clusterName: v(stack, "clusterName"),
        serviceName: v(stack, "serviceName"),
        targetGroupArns: [v(stack, "blueTargetGroupArn"), v(stack, "greenTargetGroupArn")],
        topicArn: v(stack, "notificationsTopicArn"),
      },
      refresh: {
        isolatedSecurityGroupId: r("isolatedSecurityGroupId")!,
        keySecretArn: r("scrubKeySecretArn")!,
        retentionHours: r("retentionHours") === undefined ? undefined : Number(r("retentionHours")),
        concurrency: r("scrubConcurrency") === undefined ? undefined : Number(r("scrubConcurrency")),
      },
    };
    const target = this.targets.target.dbIdentifier;
    const source = this.targets.source.dbIdentifier;
    if (!target.startsWith(stackResourcePrefix(stack)) || target === source) {
      throw new RefreshInputError(`${parameterName(stack, "dbInstanceIdentifier")} is "${target}": the refresh only replaces an instance named "${stackResourcePrefix(stack)}…" that is not ${sourceStack}'s ("${source}").`);
    }
    this.previousId = `${target}-previous`;
    const retention = this.retentionHours();
    if (!Number.isFinite(retention) || retention < 0 || retention > 24 * 35) {
      throw new RefreshInputError(`retention hours is ${retention}: use 0..840 (--retention-hours, or stagingRefresh.retentionHours in Pulumi.${stack}.yaml).`);
    }
    const concurrency = this.concurrency();
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) {
      throw new RefreshInputError(`scrub concurrency is ${concurrency}: use an integer 1..32 (--concurrency, or stagingRefresh.scrubConcurrency).`);
    }

    await this.assertNoOtherRun();
    const sourceInstance = await this.describeInstance(source);
    if (!sourceInstance) throw new RefreshInputError(`${sourceStack}'s database "${source}" was not found: check ${parameterName(sourceStack, "dbInstanceIdentifier")} and --region.`);
    this.sourceArn = sourceInstance.DBInstanceArn ?? "";
    if (!sourceInstance.StorageEncrypted) {
      throw new RefreshInputError(`${sourceStack}'s database "${source}" is not encrypted at rest, so its snapshot would not be either: encrypt it first; the refresh copies nothing unencrypted.`);
    }
    if (compareVersions(sourceInstance.EngineVersion ?? "", this.targets.target.engineVersion) > 0) {
      throw new RefreshInputError(`${sourceStack} runs PostgreSQL ${sourceInstance.EngineVersion}, newer than staging's ${this.targets.target.engineVersion}: upgrade staging first (\`pulumi up -s staging\`).`);
    }
    const targetInstance = await this.describeInstance(target);
    const previous = await this.describeInstance(this.previousId);
    if (!targetInstance && !previous) {
      throw new RefreshInputError(`staging's database "${target}" was not found (nor "${this.previousId}"): run \`pulumi up -s staging\` first.`);
    }
    if (!targetInstance && !RUN_ID.test(tagValue(previous?.TagList, TAG.replacedBy) ?? "")) {
      throw new RefreshInputError(`staging's database "${target}" was not found, and "${this.previousId}" is not marked by a refresh run: put staging back under "${target}" (see docs/runbooks/staging-refresh.md) and run again.`);
    }
    if (targetInstance) this.targetInstance = targetInstance;
  }

  /** One refresh at a time: another running task of the job's family is a reason to stop. */
  private async assertNoOtherRun(): Promise<void> {
    const family = refreshTaskFamily(this.options.stack);
    const out = await this.clients.ecs.send(new ListTasksCommand({ cluster: this.targets.target.clusterName, family, desiredStatus: "RUNNING" }));
    const running = out.taskArns ?? [];
    if (running.length > (this.options.insideTask ? 1 : 0)) {
      throw new RefreshInputError(`another staging refresh is running (${running.join(", ")}): wait for it to finish (or stop it: \`aws ecs stop-task --cluster ${this.targets.target.clusterName} --task <arn>\`), then run again; it resumes where that one stops.`);
    }
  }

  private retentionHours(): number {
    return this.options.retentionHours ?? this.targets.refresh.retentionHours ?? 72;
  }

  private concurrency(): number {
    return this.options.concurrency ?? this.targets.refresh.concurrency ?? 2;
  }

  /** Resumes the newest unfinished run (deleting older ones' leftovers), or starts a new one. */
  private async chooseRun(): Promise<{ runId: string; resumed: boolean }> {
    const prefix = refreshResourcePrefix(this.options.stack);
    const pattern = new RegExp(`^${prefix}(r\\d{14})-(source|isolated|scrubbed|new)$`);
    const runIds = new Set<string>();
    for (const i of await this.listInstances()) {
      const m = pattern.exec(i.DBInstanceIdentifier ?? "");
      if (m && i.DBInstanceStatus !== "deleting") runIds.add(m[1]);
    }
    for (const s of await this.listSnapshots()) {
      const m = pattern.exec(s.DBSnapshotIdentifier ?? "");
      if (m && s.Status !== "deleting") runIds.add(m[1]);
    }
    const previous = await this.describeInstance(this.previousId);
    const replacedBy = tagValue(previous?.TagList, TAG.replacedBy);
    const staging = await this.describeInstance(this.targets.target.dbIdentifier);
    // A half-done swap (nothing under staging's name) belongs to the run that started it.
    if (!staging && replacedBy && RUN_ID.test(replacedBy)) runIds.add(replacedBy);
    const sorted = [...runIds].sort();
    const newest = sorted[sorted.length - 1];
    const pending = !staging && replacedBy ? replacedBy : undefined;
    const resume = pending ?? (this.options.fresh ? undefined : newest);
    for (const old of sorted.filter((id) => id !== resume)) {
      this.log(`deleting the leftovers of unfinished run ${old}`);
      await this.deleteRunTemporaries(old);
    }
    return resume ? { runId: resume, resumed: true } : { runId: newRunId(this.now()), resumed: false };
  }

  // ------------------------------------------------------------------ the steps

  private runTags(role: string): Tag[] {
    return [
      { Key: TAG.stack, Value: this.options.stack },
      { Key: TAG.run, Value: this.runId },
      { Key: TAG.role, Value: role },
    ];
  }

  /** True once the replacement serves under staging's identifier (steps 1–4 need nothing more). */
  private async swapDone(): Promise<boolean> {
    const staging = await this.describeInstance(this.targets.target.dbIdentifier);
    return tagValue(staging?.TagList, TAG.run) === this.runId;
  }

  private async replacementReady(): Promise<boolean> {
    if (await this.swapDone()) return true;
    const previous = await this.describeInstance(this.previousId);
    if (tagValue(previous?.TagList, TAG.replacedBy) === this.runId) return true; // swap under way
    return false;
  }

  private async snapshotSource(): Promise<string> {
    if (await this.replacementReady()) return "skipped: the replacement already exists";
    if (await this.describeSnapshot(this.names.scrubbedSnapshot)) return "skipped: the scrubbed snapshot already exists";
    const isolated = await this.describeInstance(this.names.isolated);
    if (isolated && tagValue(isolated.TagList, TAG.scrub) === "verified") return "skipped: the isolated instance is already scrubbed";
    const existing = await this.describeSnapshot(this.names.sourceSnapshot);
    if (!existing) {
      await this.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: this.targets.source.dbIdentifier, DBSnapshotIdentifier: this.names.sourceSnapshot, Tags: this.runTags("source-snapshot") }));
    }
    const snapshot = await this.waitForSnapshot(this.names.sourceSnapshot);
    return `${existing ? "resumed" : "created"} ${this.names.sourceSnapshot} (${snapshot.AllocatedStorage ?? "?"} GiB)`;
  }

  private async restoreIsolated(): Promise<string> {
    if (await this.replacementReady()) return "skipped: the replacement already exists";
    if (await this.describeSnapshot(this.names.scrubbedSnapshot)) return "skipped: the scrubbed snapshot already exists";
    let isolated = await this.describeInstance(this.names.isolated);
    let resumed = Boolean(isolated);
    if (isolated && tagValue(isolated.TagList, TAG.scrub) === "verified") return "skipped: the isolated instance is already scrubbed";
    if (isolated && tagValue(isolated.TagList, TAG.scrub) === "started") {
      // A scrub that stopped half-way cannot be finished safely: start again from prod's snapshot.
      this.log("  the isolated instance holds a half-done scrub: deleting it and restoring again");
      await this.deleteInstance(this.names.isolated);
      isolated = undefined;
      resumed = false;
    }
    const target = this.targets.target;
    if (!isolated) {
      const snapshot = await this.waitForSnapshot(this.names.sourceSnapshot);
      // Staging's parameter group is of staging's family (postgres<major>), which RDS refuses for a
      // snapshot of an older major (prod is upgraded after staging). Then the instance starts on that
      // major's default group, and the upgrade below sets staging's group with the new major; nothing
      // connects to it before.
      const sameMajor = majorOf(snapshot.EngineVersion) === majorOf(target.engineVersion);
      await this.send(
        new RestoreDBInstanceFromDBSnapshotCommand({
          DBInstanceIdentifier: this.names.isolated,
          DBSnapshotIdentifier: this.names.sourceSnapshot,
          DBInstanceClass: this.targetInstance?.DBInstanceClass,
          DBSubnetGroupName: target.subnetGroup,
          ...(sameMajor ? { DBParameterGroupName: target.parameterGroup } : {}),
          VpcSecurityGroupIds: [this.targets.refresh.isolatedSecurityGroupId],
          PubliclyAccessible: false,
          MultiAZ: false,
          BackupRetentionPeriod: 0,
          DeletionProtection: false,
          AutoMinorVersionUpgrade: false,
          CopyTagsToSnapshot: false,
          Tags: this.runTags("isolated"),
        }),
      );
    }
    isolated = await this.waitForInstance(this.names.isolated);
    if (!isolated.StorageEncrypted) throw new Error(`${this.names.isolated} is not encrypted at rest; refusing to go on`);
    if (isolated.PubliclyAccessible) throw new Error(`${this.names.isolated} is publicly accessible; refusing to go on`);
    const groups = (isolated.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId);
    if (groups.length !== 1 || groups[0] !== this.targets.refresh.isolatedSecurityGroupId) {
      throw new Error(`${this.names.isolated} is in security groups ${groups.join(", ")}, not only the isolated one (${this.targets.refresh.isolatedSecurityGroupId}); refusing to go on`);
    }
    let upgraded = "";
    if (isolated.EngineVersion !== target.engineVersion) {
      const major = isolated.EngineVersion?.split(".")[0] !== target.engineVersion.split(".")[0];
      await this.send(
        new ModifyDBInstanceCommand({
          DBInstanceIdentifier: this.names.isolated,
          EngineVersion: target.engineVersion,
          AllowMajorVersionUpgrade: major,
          DBParameterGroupName: target.parameterGroup,
          ApplyImmediately: true,
        }),
      );
      const onStagingsGroup = (i: DBInstance) => (i.DBParameterGroups ?? []).some((g) => g.DBParameterGroupName === target.parameterGroup);
      await this.waitForInstance(this.names.isolated, (i) => i.EngineVersion === target.engineVersion && !i.PendingModifiedValues?.EngineVersion && onStagingsGroup(i));
      upgraded = `, upgraded ${isolated.EngineVersion} → ${target.engineVersion}`;
    }
    return `${resumed ? "resumed" : "restored"} ${this.names.isolated} in ${this.targets.refresh.isolatedSecurityGroupId}${upgraded}`;
  }

  private async scrubAndVerify(): Promise<string> {
    // Past this step nothing needs prod's unscrubbed snapshot; a run that stopped right after the
    // verify (before deleting it) deletes it here on resume.
    if (await this.replacementReady()) return `skipped: the replacement already exists${await this.dropSourceSnapshot()}`;
    if (await this.describeSnapshot(this.names.scrubbedSnapshot)) return `skipped: the scrubbed snapshot already exists${await this.dropSourceSnapshot()}`;
    const isolated = await this.waitForInstance(this.names.isolated);
    if (tagValue(isolated.TagList, TAG.scrub) === "verified") return `skipped: already scrubbed and verified${await this.dropSourceSnapshot()}`;

    const rules = await this.db.loadRules(this.options.rulesPath);
    const key = await this.scrubKey();
    const password = this.generatePassword();
    this.secrets.push(password);
    await this.setMasterPassword(isolated, password);
    const databaseUrl = databaseUrlOf(await this.waitForInstance(this.names.isolated), password, undefined, this.options.caBundlePath);

    const before = await this.db.takeSample({ databaseUrl, rules });
    await this.send(new AddTagsToResourceCommand({ ResourceName: isolated.DBInstanceArn, Tags: [{ Key: TAG.scrub, Value: "started" }] }));
    const t0 = this.now().getTime();
    let tables = 0;
    let rows = 0;
    const summary = (await this.db.scrub({
      databaseUrl,
      rules,
      key,
      concurrency: this.concurrency(),
      onProgress: (p) => {
        if (p.table && typeof p.rows === "number" && (p.phase === undefined || p.phase === "done")) {
          tables += 1;
          rows += p.rows;
        }
        this.log(`  scrub: ${this.redact(p.message ?? (p.table ? `${p.table} ${p.rows ?? ""} rows` : JSON.stringify(p)))}`);
      },
    })) as unknown;
    const scrubMs = this.now().getTime() - t0;
    const reported = summary as { tables?: unknown[]; rows?: number } | undefined;
    if (Array.isArray(reported?.tables) && typeof reported?.rows === "number") {
      tables = reported.tables.length;
      rows = reported.rows;
    }
    const verdict = await this.db.verify({ databaseUrl, rules, before });
    if (!verdict.ok) {
      throw new Error(`verify found ${verdict.problems.length} problem(s): ${verdict.problems.slice(0, 10).join("; ")}${verdict.problems.length > 10 ? "; …" : ""}`);
    }
    await this.send(new AddTagsToResourceCommand({ ResourceName: isolated.DBInstanceArn, Tags: [{ Key: TAG.scrub, Value: "verified" }] }));
    const dropped = await this.dropSourceSnapshot();
    const rate = scrubMs > 0 && rows > 0 ? `, ${Math.round(rows / (scrubMs / 1000))} rows/s` : "";
    return `scrubbed${tables ? ` ${tables} tables, ${rows} rows${rate}` : ""} with ${this.concurrency()} in parallel; verified${dropped}`;
  }

  /**
   * Deletes the `-source` snapshot (a full unscrubbed copy of prod) once the isolated instance is
   * tagged verified: from then on a resumed run starts from that instance, never from the snapshot.
   */
  private async dropSourceSnapshot(): Promise<string> {
    return (await this.deleteSnapshot(this.names.sourceSnapshot)) ? `; deleted ${this.names.sourceSnapshot}` : "";
  }

  private async restoreReplacement(): Promise<string> {
    if (await this.replacementReady()) return "skipped: the replacement already serves or is being swapped in";
    if (!(await this.describeSnapshot(this.names.scrubbedSnapshot))) {
      await this.waitForInstance(this.names.isolated);
      await this.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: this.names.isolated, DBSnapshotIdentifier: this.names.scrubbedSnapshot, Tags: this.runTags("scrubbed-snapshot") }));
    }
    await this.waitForSnapshot(this.names.scrubbedSnapshot);

    const staging = this.targetInstance;
    let replacement = await this.describeInstance(this.names.replacement);
    const resumed = Boolean(replacement);
    if (!replacement) {
      const keep = (staging.TagList ?? []).filter((t) => t.Key && !t.Key.startsWith("aws:") && !t.Key.startsWith("friday:refresh-"));
      await this.send(
        new RestoreDBInstanceFromDBSnapshotCommand({
          DBInstanceIdentifier: this.names.replacement,
          DBSnapshotIdentifier: this.names.scrubbedSnapshot,
          DBInstanceClass: staging.DBInstanceClass,
          DBSubnetGroupName: this.targets.target.subnetGroup,
          DBParameterGroupName: this.targets.target.parameterGroup,
          VpcSecurityGroupIds: (staging.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId!),
          PubliclyAccessible: false,
          MultiAZ: staging.MultiAZ ?? false,
          StorageType: staging.StorageType,
          BackupRetentionPeriod: staging.BackupRetentionPeriod,
          AutoMinorVersionUpgrade: staging.AutoMinorVersionUpgrade ?? false,
          CopyTagsToSnapshot: staging.CopyTagsToSnapshot ?? true,
          DeletionProtection: false,
          Tags: mergeTags(keep, this.runTags("replacement")),
        }),
      );
    }
    replacement = await this.waitForInstance(this.names.replacement);
    let prewarmed = "prewarmed earlier";
    if (!replacement.MasterUserSecret?.SecretArn) {
      // Prewarm (the restored volume loads from S3 on first read) over a temporary password held in
      // memory only, then hand the password to RDS: the replacement gets its own managed secret,
      // which the swap points the app at. No password is copied from or written to Secrets Manager.
      const password = this.generatePassword();
      this.secrets.push(password);
      await this.setMasterPassword(replacement, password);
      const ready = await this.waitForInstance(this.names.replacement);
      const warm = await this.db.prewarm({ databaseUrl: databaseUrlOf(ready, password, undefined, this.options.caBundlePath) });
      prewarmed = `prewarmed ${warm.tables} tables`;
      await this.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: this.names.replacement, ManageMasterUserPassword: true, ApplyImmediately: true }));
    }
    const managed = await this.waitForInstance(this.names.replacement, (i) => i.MasterUserSecret?.SecretStatus === "active" && Boolean(i.MasterUserSecret.SecretArn));
    return `${resumed ? "resumed" : "restored"} ${this.names.replacement} from ${this.names.scrubbedSnapshot}; ${prewarmed}; its master password is managed by RDS (${managed.MasterUserSecret!.SecretArn})`;
  }

  private async swap(): Promise<string> {
    const stagingId = this.targets.target.dbIdentifier;
    const parts: string[] = [];
    await this.settleRenames();
    // The tag is this step's last action: with it, the renames, credentials and health check are done.
    const healthySince = tagValue((await this.describeInstance(stagingId))?.TagList, TAG.healthy);
    if (healthySince && (await this.swapDone())) return `skipped: swapped, credentials moved and healthy since ${healthySince}`;
    if (!(await this.swapDone())) {
      let previous = await this.describeInstance(this.previousId);
      const mine = tagValue(previous?.TagList, TAG.replacedBy) === this.runId;
      if (previous && !mine) {
        // An older previous instance is superseded by the one this swap makes.
        this.log(`  deleting the older ${this.previousId} (replaced by run ${tagValue(previous.TagList, TAG.replacedBy) ?? "unknown"})`);
        await this.deleteInstance(this.previousId);
        previous = undefined;
      }
      if (!mine) {
        const current = await this.waitForInstance(stagingId);
        const keepUntil = new Date(this.now().getTime() + this.retentionHours() * 3600_000).toISOString();
        await this.send(new AddTagsToResourceCommand({ ResourceName: current.DBInstanceArn, Tags: [{ Key: TAG.replacedBy, Value: this.runId }, { Key: TAG.keepUntil, Value: keepUntil }] }));
        await this.rename(stagingId, this.previousId);
        parts.push(`${stagingId} → ${this.previousId} (kept until ${keepUntil})`);
      } else if (await this.describeInstance(stagingId)) {
        throw new Error(`${this.previousId} is marked as replaced by ${this.runId} but "${stagingId}" exists and is not this run's replacement`);
      }
      await this.waitForInstance(this.names.replacement);
      await this.rename(this.names.replacement, stagingId);
      parts.push(`${this.names.replacement} → ${stagingId}`);
    } else {
      parts.push("already swapped");
    }
    const staging = await this.waitForInstance(stagingId);
    parts.push(...(await this.moveCredentials(staging)));
    parts.push(await this.waitHealthy());
    // Recorded in AWS, so that a resumed run failing before step 6 knows this swap is to be kept.
    if (!tagValue(staging.TagList, TAG.healthy)) {
      await this.send(new AddTagsToResourceCommand({ ResourceName: staging.DBInstanceArn, Tags: [{ Key: TAG.healthy, Value: this.now().toISOString() }] }));
    }
    return parts.join("; ");
  }

  /**
   * The swapped-in instance has its own RDS-managed secret (the old one stays with `-previous`, is
   * rotated for it and deleted with it): point /friday/<stack>/db-secret-arn at the new secret and
   * roll the service onto a revision of its current task definition that reads it.
   */
  private async moveCredentials(staging: DBInstance): Promise<string[]> {
    const newArn = staging.MasterUserSecret?.SecretArn;
    if (!newArn) throw new Error(`${staging.DBInstanceIdentifier} has no RDS-managed master secret, so the app would have no credentials for it`);
    const previous = await this.describeInstance(this.previousId);
    const oldArns = new Set([this.targets.target.secretArn, previous?.MasterUserSecret?.SecretArn].filter((a): a is string => Boolean(a) && a !== newArn));
    const parts: string[] = [];
    const parameter = parameterName(this.options.stack, "dbSecretArn");
    if (this.targets.target.secretArn !== newArn) {
      await this.clients.ssm.send(new PutParameterCommand({ Name: parameter, Value: newArn, Type: "String", Overwrite: true }));
      parts.push(`${parameter} → ${newArn}`);
    }
    parts.push(await this.rollService(oldArns, newArn));
    return parts;
  }

  /**
   * Registers a revision of the service's current task definition with every container secret that
   * reads one of `from` reading `to` instead, and follows the deployment to its end (the deploy
   * command's code). A deployment that does not succeed throws.
   */
  private async rollService(from: ReadonlySet<string>, to: string): Promise<string> {
    const target = this.targets.target;
    const ids: ServiceTarget = { stack: this.options.stack, clusterName: target.clusterName, serviceName: target.serviceName };
    const out = await this.clients.ecs.send(new DescribeServicesCommand({ cluster: target.clusterName, services: [target.serviceName] }));
    const current = out.services?.[0]?.taskDefinition;
    if (!current) throw new Error(`service ${target.serviceName} in ${target.clusterName} has no task definition: run \`pulumi up -s ${this.options.stack}\``);
    const { taskDefinition, tags } = await describeTaskDefinition(this.clients.ecs, current, `the service's task definition is gone; run \`pulumi up -s ${this.options.stack}\`.`);
    const input = registrableInput(taskDefinition, tags, taskDefinition.family!);
    const changes = rewriteSecretArns(input, (arn) => (from.has(arn) ? to : undefined));
    if (changes.length === 0) {
      const reads = (taskDefinition.containerDefinitions ?? []).some((c) => (c.secrets ?? []).some((x) => x.valueFrom && secretArnOfValueFrom(x.valueFrom) === to));
      return reads ? `service already reads ${to}` : `service reads none of ${[...from].join(", ") || "the old secrets"}: not rolled`;
    }
    await refuseWhileInFlight(this.clients.ecs, ids);
    this.log(`  rolling ${target.serviceName} from ${current}: ${changes.join("; ")}`);
    const clock = { now: () => this.now().getTime(), sleep: this.sleep };
    const result = await registerAndFollow({ ecs: this.clients.ecs, clock, log: (line) => this.log(`  ${line}`) }, ids, input, {
      timeoutMinutes: this.options.rollTimeoutMinutes ?? 30,
      pollSeconds: Math.max(1, Math.min(300, this.pollMs / 1000)),
    });
    if (!result.ok) throw new Error(`rolling ${target.serviceName} onto ${to} failed: ${result.message}`);
    return `service rolled onto ${result.taskDefinitionArn} (${changes.length} secret(s) → ${to})`;
  }

  /**
   * Undoes moveCredentials after the old instance is back under staging's name: SSM names the old
   * secret again and the service reads it again. Runs before the replacement (and its secret) is deleted.
   */
  private async restoreCredentials(oldArn: string, newArn: string): Promise<string[]> {
    const done: string[] = [];
    const parameter = parameterName(this.options.stack, "dbSecretArn");
    const values = await readParameters(this.clients.ssm, [parameter]);
    if (values[parameter] !== oldArn) {
      await this.clients.ssm.send(new PutParameterCommand({ Name: parameter, Value: oldArn, Type: "String", Overwrite: true }));
      done.push(`put ${parameter} back to ${oldArn}`);
    }
    const rolled = await this.rollService(new Set([newArn]), oldArn);
    if (rolled.startsWith("service rolled")) done.push(rolled.replace("service rolled onto", "rolled the service back onto"));
    return done;
  }

  private async cleanUp(): Promise<string> {
    const parts: string[] = [];
    if (!this.options.pruneOnly) {
      if (!(await this.swapDone())) throw new Error(`"${this.targets.target.dbIdentifier}" is not this run's replacement; not deleting anything`);
      const deleted = await this.deleteRunTemporaries(this.runId);
      parts.push(deleted.length ? `deleted ${deleted.join(", ")}` : "no temporaries left");
    }
    const previous = await this.describeInstance(this.previousId);
    if (previous && this.options.pruneOnly && !(await this.describeInstance(this.targets.target.dbIdentifier))) {
      // A swap is half-way (nothing under staging's name): -previous may be what staging goes back to.
      parts.push(`${this.previousId} kept: nothing is named "${this.targets.target.dbIdentifier}" (a swap is half-way; finish it with a run without --prune)`);
    } else if (previous) {
      const until = tagValue(previous.TagList, TAG.keepUntil);
      const expired = !until || Number.isNaN(Date.parse(until)) || Date.parse(until) <= this.now().getTime();
      if (expired) {
        await this.deleteInstance(this.previousId);
        parts.push(`deleted ${this.previousId} (retention ${until ? `ended ${until}` : "unknown"})`);
      } else {
        parts.push(`${this.previousId} kept until ${until}`);
      }
    }
    return parts.join("; ");
  }

  // ------------------------------------------------------------------ failure path

  /** Puts staging back under its identifier if the swap had started, then deletes the run's temporaries. */
  private async recover(report: RefreshReport, failedStep: number): Promise<void> {
    const stagingId = this.targets.target.dbIdentifier;
    try {
      if (this.options.pruneOnly) {
        report.recovery.push("nothing to undo (--prune)");
        return;
      }
      await this.settleRenames();
      const previous = await this.describeInstance(this.previousId);
      const current = await this.describeInstance(stagingId);
      if (current && tagValue(current.TagList, TAG.replacedBy) === this.runId && tagValue(current.TagList, TAG.run) !== this.runId) {
        // Marked for the swap but never renamed: unmark it.
        await this.send(new RemoveTagsFromResourceCommand({ ResourceName: current.DBInstanceArn, TagKeys: [TAG.replacedBy, TAG.keepUntil] }));
      }
      // The new database passed its health check (step 6 comes after it; the tag is step 5's last
      // action, so it also covers an earlier attempt of this run) and serves with the app on its
      // secret: keep it. Any later failure is not the new database's (a resumed run's throttled
      // describe, say), and undoing the swap would only take staging back to older data.
      const passedHealth = tagValue(current?.TagList, TAG.run) === this.runId && Boolean(tagValue(current?.TagList, TAG.healthy));
      if (failedStep === 6 || passedHealth) {
        report.recovery.push(
          `kept the new staging database${failedStep === 6 ? "" : " (it passed its health check before this attempt)"}; run \`friday staging refresh --stack ${this.options.stack}\` again to delete what is left of run ${this.runId}`,
        );
        // The snapshots (one of them prod's unscrubbed data) are not needed by a kept swap.
        report.recovery.push(await this.deleteRunSnapshotsQuietly());
        return;
      }
      let undone = false;
      if (previous && tagValue(previous.TagList, TAG.replacedBy) === this.runId) {
        const atStaging = await this.describeInstance(stagingId);
        if (atStaging && tagValue(atStaging.TagList, TAG.run) === this.runId) {
          await this.rename(stagingId, this.names.replacement);
          undone = true;
          report.recovery.push(`moved the replacement back to ${this.names.replacement}`);
        } else if (atStaging) {
          throw new Error(`"${stagingId}" is held by an instance that is not this run's; leaving ${this.previousId} in place`);
        }
        await this.waitForInstance(this.previousId);
        await this.rename(this.previousId, stagingId);
        const restored = await this.waitForInstance(stagingId);
        await this.send(new RemoveTagsFromResourceCommand({ ResourceName: restored.DBInstanceArn, TagKeys: [TAG.replacedBy, TAG.keepUntil] }));
        report.recovery.push(`put the previous staging database back as ${stagingId}`);
      }
      // Credentials move in step 5 only, but a resumed run can undo a swap whose step 5 ran in an
      // earlier attempt: whenever a swap is undone, the app goes back to the old secret before the
      // replacement (and its secret) is deleted.
      if (failedStep === 5 || undone) {
        const restored = await this.describeInstance(stagingId);
        const replacement = await this.describeInstance(this.names.replacement);
        const oldArn = tagValue(restored?.TagList, TAG.run) === this.runId ? undefined : (restored?.MasterUserSecret?.SecretArn ?? this.targets.target.secretArn);
        const newArn = replacement?.MasterUserSecret?.SecretArn;
        if (oldArn && newArn && oldArn !== newArn) report.recovery.push(...(await this.restoreCredentials(oldArn, newArn)));
      }
      const deleted = await this.deleteRunTemporaries(this.runId);
      report.recovery.push(deleted.length ? `deleted ${deleted.join(", ")}` : "nothing of this run was left to delete");
    } catch (error) {
      report.recovery.push(`recovery stopped: ${this.redact(messageOf(error))} — rerun \`friday staging refresh --stack ${this.options.stack}\` to resume, or see docs/runbooks/staging-refresh.md`);
    } finally {
      for (const line of report.recovery) this.log(`  recovery: ${line}`);
    }
  }

  private async notifyFailure(report: RefreshReport): Promise<boolean> {
    const message = [
      `friday staging refresh ${report.runId} failed on ${this.options.stack}.`,
      report.error,
      "",
      "Steps:",
      ...report.steps.map((s) => `  ${s.step}. ${s.name}: ${s.status} (${formatDuration(s.durationMs)})${s.detail ? ` — ${s.detail}` : ""}`),
      "",
      "Recovery:",
      ...report.recovery.map((line) => `  - ${line}`),
      "",
      `${await this.stagingAfterRecovery(report)} Runbook: docs/runbooks/staging-refresh.md`,
    ].join("\n");
    return this.publish(message);
  }

  /**
   * What staging serves after the recovery, read from AWS rather than assumed: the recovery may have
   * kept the new database (step 6), put the old one back, or stopped half-way with nothing under
   * staging's name.
   */
  private async stagingAfterRecovery(report: RefreshReport): Promise<string> {
    const stagingId = this.targets.target.dbIdentifier;
    const rerun = `Run \`friday staging refresh --stack ${this.options.stack}\``;
    const stopped = report.recovery.some((line) => line.startsWith("recovery stopped"));
    let staging: DBInstance | undefined;
    let previous: DBInstance | undefined;
    try {
      staging = await this.describeInstance(stagingId);
      previous = await this.describeInstance(this.previousId);
    } catch (error) {
      return `Could not check "${stagingId}" after the recovery (${this.redact(messageOf(error))}): staging may be down. ${rerun} to resume run ${this.runId} (it finishes or undoes its swap), or see the runbook, §5 and §7.`;
    }
    if (!staging) {
      const held = previous ? ` The previous database is "${this.previousId}".` : "";
      return `Nothing is named "${stagingId}" after the recovery${stopped ? " stopped part-way" : ""}: STAGING MAY BE DOWN.${held} ${rerun} to resume run ${this.runId} (it finishes or undoes its swap), or put "${this.previousId}" back by hand (runbook §7).`;
    }
    const status = staging.DBInstanceStatus === "available" ? "" : ` (its status: ${staging.DBInstanceStatus})`;
    if (tagValue(staging.TagList, TAG.run) === this.runId) {
      const kept = previous ? `; the previous database is kept as "${this.previousId}" (runbook §7 puts it back)` : "";
      return `Staging serves the NEW (scrubbed) data of run ${this.runId}${status}${kept}. ${rerun} again to delete what is left of the run.`;
    }
    return `Staging keeps serving its previous data${status}.${stopped ? ` The recovery stopped part-way: ${rerun} again to delete what is left of run ${this.runId}.` : ""}`;
  }

  private async publish(message: string): Promise<boolean> {
    try {
      await this.clients.sns.send(new PublishCommand({ TopicArn: this.targets.target.topicArn, Subject: `friday: staging refresh failed (${this.options.stack})`, Message: this.redact(message) }));
      return true;
    } catch (error) {
      this.log(`could not notify ${this.targets.target.topicArn}: ${messageOf(error)}`);
      return false;
    }
  }

  // ------------------------------------------------------------------ AWS helpers

  /** Every mutating RDS call goes through here: none may ever name the source (prod) database. */
  private async send(command: { constructor: { name: string }; input: object }): Promise<any> {
    const name = command.constructor.name;
    if (MUTATING_RDS.has(name)) assertNotSource(name, command.input, this.targets.source.dbIdentifier, this.sourceArn, this.options.stack);
    return this.clients.rds.send(command as any);
  }

  private async describeInstance(id: string): Promise<DBInstance | undefined> {
    try {
      const out = await this.clients.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
      return out.DBInstances?.[0];
    } catch (error) {
      if (errorName(error) === "DBInstanceNotFoundFault" || errorName(error) === "DBInstanceNotFound") return undefined;
      throw error;
    }
  }

  private async describeSnapshot(id: string): Promise<DBSnapshot | undefined> {
    try {
      const out = await this.clients.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id }));
      const snapshot = out.DBSnapshots?.[0];
      return snapshot && snapshot.Status !== "deleting" ? snapshot : undefined;
    } catch (error) {
      if (errorName(error) === "DBSnapshotNotFoundFault" || errorName(error) === "DBSnapshotNotFound") return undefined;
      throw error;
    }
  }

  private async listInstances(): Promise<DBInstance[]> {
    const all: DBInstance[] = [];
    let marker: string | undefined;
    do {
      const out = await this.clients.rds.send(new DescribeDBInstancesCommand({ Marker: marker }));
      all.push(...(out.DBInstances ?? []));
      marker = out.Marker;
    } while (marker);
    return all;
  }

  private async listSnapshots(): Promise<DBSnapshot[]> {
    const all: DBSnapshot[] = [];
    let marker: string | undefined;
    do {
      const out = await this.clients.rds.send(new DescribeDBSnapshotsCommand({ SnapshotType: "manual", Marker: marker }));
      all.push(...(out.DBSnapshots ?? []));
      marker = out.Marker;
    } while (marker);
    return all;
  }

  private async poll<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = this.waitTimeoutMs): Promise<T> {
    const deadline = this.now().getTime() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (this.now().getTime() >= deadline) throw new Error(`timed out after ${formatDuration(timeoutMs)} waiting for ${what}`);
      await this.sleep(this.pollMs);
    }
  }

  private waitForInstance(id: string, ready: (i: DBInstance) => boolean = () => true): Promise<DBInstance> {
    return this.poll(`${id} to be available`, async () => {
      const instance = await this.describeInstance(id);
      if (!instance) throw new Error(`${id} does not exist`);
      if (FAILED_STATES.has(instance.DBInstanceStatus ?? "")) {
        throw new Error(`${id} is in state "${instance.DBInstanceStatus}"`);
      }
      return instance.DBInstanceStatus === "available" && ready(instance) ? instance : undefined;
    });
  }

  private waitForSnapshot(id: string): Promise<DBSnapshot> {
    return this.poll(`snapshot ${id}`, async () => {
      const snapshot = await this.describeSnapshot(id);
      if (!snapshot) throw new Error(`snapshot ${id} does not exist`);
      if (snapshot.Status === "failed" || snapshot.Status === "error") throw new Error(`snapshot ${id} is in state "${snapshot.Status}"`);
      return snapshot.Status === "available" ? snapshot : undefined;
    });
  }

  /** Renames an instance and waits until the new name answers and the old one is gone. */
  private async rename(from: string, to: string): Promise<void> {
    await this.waitForInstance(from);
    await this.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: from, NewDBInstanceIdentifier: to, ApplyImmediately: true }));
    await this.poll(`${from} to be renamed ${to}`, async () => {
      const renamed = await this.describeInstance(to);
      const old = await this.describeInstance(from);
      return renamed?.DBInstanceStatus === "available" && !old ? true : undefined;
    });
  }

  private async setMasterPassword(instance: DBInstance, password: string): Promise<void> {
    const id = instance.DBInstanceIdentifier!;
    await this.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: id,
        MasterUserPassword: password,
        ...(instance.MasterUserSecret ? { ManageMasterUserPassword: false } : {}),
        ApplyImmediately: true,
      }),
    );
    await this.waitForInstance(id, (i) => !i.PendingModifiedValues?.MasterUserPassword);
  }

  /** Waits until no instance of the swap (staging, previous, replacement) is half-way through a rename. */
  private async settleRenames(): Promise<void> {
    const ids = [this.targets.target.dbIdentifier, this.previousId, this.names.replacement];
    await this.poll("renames in flight to finish", async () => {
      const found = await Promise.all(ids.map((id) => this.describeInstance(id)));
      return found.some((i) => i?.DBInstanceStatus === "renaming") ? undefined : true;
    });
  }

  /** Deletes an instance and waits until it is gone; false when there was none. */
  private async deleteInstance(id: string): Promise<boolean> {
    let instance = await this.describeInstance(id);
    if (!instance) return false;
    if (instance.DBInstanceStatus !== "deleting") {
      if (!DELETABLE.has(instance.DBInstanceStatus ?? "")) {
        instance = await this.poll(`${id} to be deletable`, async () => {
          const i = await this.describeInstance(id);
          if (!i) throw new Error(`${id} disappeared`);
          return DELETABLE.has(i.DBInstanceStatus ?? "") ? i : undefined;
        });
      }
      if (instance.DeletionProtection) {
        await this.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: id, DeletionProtection: false, ApplyImmediately: true }));
        await this.waitForInstance(id, (i) => !i.DeletionProtection);
      }
      await this.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: id, SkipFinalSnapshot: true, DeleteAutomatedBackups: true }));
    }
    await this.poll(`${id} to be deleted`, async () => ((await this.describeInstance(id)) ? undefined : true));
    return true;
  }

  /** Deletes a snapshot and waits until it is gone; false when there was none. */
  private async deleteSnapshot(id: string): Promise<boolean> {
    const snapshot = await this.describeSnapshot(id);
    if (!snapshot) return false;
    if (snapshot.Status === "creating") await this.waitForSnapshot(id);
    await this.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: id }));
    await this.poll(`snapshot ${id} to be deleted`, async () => ((await this.describeSnapshot(id)) ? undefined : true));
    return true;
  }

  /**
   * Deletes a run's snapshots, then (unless `snapshotsOnly`) its isolated instance and replacement
   * (the replacement is not found under `-new` once it serves as staging). Prod's unscrubbed snapshot
   * goes before anything else, and every deletion is tried even when another fails, so an instance
   * that cannot be deleted never keeps a copy of prod's data around. Throws at the end if any failed.
   */
  private async deleteRunTemporaries(runId: string, snapshotsOnly = false): Promise<string[]> {
    const names = runResourceNames(this.options.stack, runId);
    const deleted: string[] = [];
    const failed: string[] = [];
    const settle = async (ids: string[], remove: (id: string) => Promise<boolean>) => {
      // Instances go down in parallel (each deletion is started, then waited for).
      const results = await Promise.allSettled(ids.map((id) => remove(id)));
      results.forEach((result, i) => {
        if (result.status === "rejected") failed.push(`${ids[i]} (${messageOf(result.reason)})`);
        else if (result.value) deleted.push(ids[i]);
      });
    };
    await settle([names.sourceSnapshot], (id) => this.deleteSnapshot(id));
    await settle([names.scrubbedSnapshot], (id) => this.deleteSnapshot(id));
    if (!snapshotsOnly) await settle([names.isolated, names.replacement], (id) => this.deleteInstance(id));
    if (failed.length) throw new Error(`${deleted.length ? `deleted ${deleted.join(", ")}; ` : ""}could not delete ${failed.join(", ")}`);
    return deleted;
  }

  /** For a kept swap: tries to delete the run's snapshots, and says what happened (never throws). */
  private async deleteRunSnapshotsQuietly(): Promise<string> {
    try {
      const deleted = await this.deleteRunTemporaries(this.runId, true);
      return deleted.length ? `deleted ${deleted.join(", ")}` : "no snapshot of this run was left";
    } catch (error) {
      return `${this.redact(messageOf(error))}; the next run deletes what is left`;
    }
  }

  private async waitHealthy(): Promise<string> {
    const needed = this.options.healthyPolls ?? 3;
    let streak = 0;
    let last = "";
    const target = this.targets.target;
    await this.poll(
      `${target.serviceName} to be healthy`,
      async () => {
        const out = await this.clients.ecs.send(new DescribeServicesCommand({ cluster: target.clusterName, services: [target.serviceName] }));
        const service = out.services?.[0];
        const running = service?.runningCount ?? 0;
        const desired = service?.desiredCount ?? 0;
        let healthy = 0;
        let unhealthy = 0;
        for (const arn of target.targetGroupArns) {
          const health = await this.clients.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
          for (const d of health.TargetHealthDescriptions ?? []) {
            const state = d.TargetHealth?.State;
            if (state === "healthy") healthy += 1;
            else if (state === "unhealthy") unhealthy += 1;
          }
        }
        last = `${running}/${desired} tasks running, ${healthy} healthy and ${unhealthy} unhealthy targets`;
        const ok = service?.status === "ACTIVE" && desired > 0 && running >= desired && healthy >= 1 && unhealthy === 0;
        streak = ok ? streak + 1 : 0;
        return streak >= needed ? true : undefined;
      },
      (this.options.healthTimeoutSeconds ?? 900) * 1000,
    ).catch((error: Error) => {
      throw new Error(`the staging service did not become healthy on the new database (${last}): ${error.message}`);
    });
    return `service healthy (${last})`;
  }

  /**
   * The scrub key, read exactly as `friday staging scrub --key-secret-arn` reads it (readScrubKey:
   * plain text, {"key": …} or binary), so a scrub by hand and the refresh give the same pseudonyms.
   */
  private async scrubKey(): Promise<Buffer> {
    const secretId = this.targets.refresh.keySecretArn;
    try {
      return this.holdKey(await readScrubKey(this.clients.secretsManager, secretId));
    } catch (error) {
      // Only a secret with no value yet is a first run; anything else must not overwrite a key.
      if (errorName(error) !== "ResourceNotFoundException") throw error;
    }
    // First run: the component made the secret without a value; the key never leaves AWS.
    const key = randomBytes(32).toString("hex");
    await this.clients.secretsManager.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: key, ClientRequestToken: `friday-${this.runId}-key-0000000000000000`.slice(0, 64) }));
    this.log("  created the scrub key (first run)");
    return this.holdKey(await readScrubKey(this.clients.secretsManager, secretId));
  }

  private holdKey(key: Buffer): Buffer {
    this.secrets.push(key.toString("utf8"));
    return key;
  }

  /** Removes every secret this run holds (passwords, the key) from a message. */
  private redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) {
      if (!secret) continue;
      out = out.split(secret).join("***").split(encodeURIComponent(secret)).join("***");
    }
    return out.replace(/(postgres(?:ql)?:\/\/[^:/\s]+:)[^@\s]+@/g, "$1***@");
  }
}

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
const LOCK_HOURS = 24;

function parseLock(value: string | undefined): { holder: string; kind: string; since: string; until: string } | undefined {
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

async function readParameters(ssm: SSMClient, names: string[]): Promise<Record<string, string | undefined>> {
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

export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
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

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function errorName(error: unknown): string | undefined {
  return (error as { name?: string } | undefined)?.name;
}
