import { randomBytes } from "node:crypto";
import { DBInstance, DBSnapshot, DeleteDBInstanceCommand, DeleteDBSnapshotCommand, DescribeDBInstancesCommand, DescribeDBSnapshotsCommand, ModifyDBInstanceCommand, Tag } from "@aws-sdk/client-rds";
import { PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { readScrubKey } from "../scrub-key";
import { PublishCommand } from "@aws-sdk/client-sns";
import { DELETABLE, FAILED_STATES, MUTATING_RDS, RefreshClients, RefreshDatabaseSteps, RefreshOptions, TAG, Targets, assertNotSource, errorName, formatDuration, messageOf, runResourceNames, tagValue } from "./shared";

/**
 * One refresh run's state (what prepare() read, the run id, the secrets it holds) and the AWS
 * helpers every step uses. The steps are functions of it in this folder; the orchestrator
 * (scripts/staging/refresh.ts) runs them in order.
 */
export class RefreshContext {
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => Date;
  readonly log: (line: string) => void;
  readonly generatePassword: () => string;
  readonly pollMs: number;
  readonly waitTimeoutMs: number;
  readonly secrets: string[] = [];
  targets!: Targets;
  runId = "";
  names!: ReturnType<typeof runResourceNames>;
  previousId = "";
  sourceArn = "";
  targetInstance!: DBInstance;

  constructor(
    readonly clients: RefreshClients,
    readonly db: RefreshDatabaseSteps,
    readonly options: RefreshOptions,
  ) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? (() => new Date());
    this.log = options.log ?? ((line) => console.log(line));
    this.generatePassword = options.generatePassword ?? (() => randomBytes(24).toString("base64url"));
    this.pollMs = (options.pollSeconds ?? 30) * 1000;
    this.waitTimeoutMs = (options.waitTimeoutSeconds ?? 6 * 3600) * 1000;
  }

  retentionHours(): number {
    return this.options.retentionHours ?? this.targets.refresh.retentionHours ?? 72;
  }

  concurrency(): number {
    return this.options.concurrency ?? this.targets.refresh.concurrency ?? 2;
  }

  runTags(role: string): Tag[] {
    return [
      { Key: TAG.stack, Value: this.options.stack },
      { Key: TAG.run, Value: this.runId },
      { Key: TAG.role, Value: role },
    ];
  }

  /** True once the replacement serves under staging's identifier (steps 1–4 need nothing more). */
  async swapDone(): Promise<boolean> {
    const staging = await this.describeInstance(this.targets.target.dbIdentifier);
    return tagValue(staging?.TagList, TAG.run) === this.runId;
  }

  async replacementReady(): Promise<boolean> {
    if (await this.swapDone()) return true;
    const previous = await this.describeInstance(this.previousId);
    if (tagValue(previous?.TagList, TAG.replacedBy) === this.runId) return true; // swap under way
    return false;
  }

  async publish(message: string): Promise<boolean> {
    try {
      await this.clients.sns.send(new PublishCommand({ TopicArn: this.targets.target.topicArn, Subject: `friday: staging refresh failed (${this.options.stack})`, Message: this.redact(message) }));
      return true;
    } catch (error) {
      this.log(`could not notify ${this.targets.target.topicArn}: ${messageOf(error)}`);
      return false;
    }
  }

  /** Every mutating RDS call goes through here: none may ever name the source (prod) database. */
  async send(command: { constructor: { name: string }; input: object }): Promise<any> {
    const name = command.constructor.name;
    if (MUTATING_RDS.has(name)) assertNotSource(name, command.input, this.targets.source.dbIdentifier, this.sourceArn, this.options.stack);
    return this.clients.rds.send(command as any);
  }

  async describeInstance(id: string): Promise<DBInstance | undefined> {
    try {
      const out = await this.clients.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
      return out.DBInstances?.[0];
    } catch (error) {
      if (errorName(error) === "DBInstanceNotFoundFault" || errorName(error) === "DBInstanceNotFound") return undefined;
      throw error;
    }
  }

  async describeSnapshot(id: string): Promise<DBSnapshot | undefined> {
    try {
      const out = await this.clients.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id }));
      const snapshot = out.DBSnapshots?.[0];
      return snapshot && snapshot.Status !== "deleting" ? snapshot : undefined;
    } catch (error) {
      if (errorName(error) === "DBSnapshotNotFoundFault" || errorName(error) === "DBSnapshotNotFound") return undefined;
      throw error;
    }
  }

  async listInstances(): Promise<DBInstance[]> {
    const all: DBInstance[] = [];
    let marker: string | undefined;
    do {
      const out = await this.clients.rds.send(new DescribeDBInstancesCommand({ Marker: marker }));
      all.push(...(out.DBInstances ?? []));
      marker = out.Marker;
    } while (marker);
    return all;
  }

  async listSnapshots(): Promise<DBSnapshot[]> {
    const all: DBSnapshot[] = [];
    let marker: string | undefined;
    do {
      const out = await this.clients.rds.send(new DescribeDBSnapshotsCommand({ SnapshotType: "manual", Marker: marker }));
      all.push(...(out.DBSnapshots ?? []));
      marker = out.Marker;
    } while (marker);
    return all;
  }

  async poll<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = this.waitTimeoutMs): Promise<T> {
    const deadline = this.now().getTime() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (this.now().getTime() >= deadline) throw new Error(`timed out after ${formatDuration(timeoutMs)} waiting for ${what}`);
      await this.sleep(this.pollMs);
    }
  }

  waitForInstance(id: string, ready: (i: DBInstance) => boolean = () => true): Promise<DBInstance> {
    return this.poll(`${id} to be available`, async () => {
      const instance = await this.describeInstance(id);
      if (!instance) throw new Error(`${id} does not exist`);
      if (FAILED_STATES.has(instance.DBInstanceStatus ?? "")) {
        throw new Error(`${id} is in state "${instance.DBInstanceStatus}"`);
      }
      return instance.DBInstanceStatus === "available" && ready(instance) ? instance : undefined;
    });
  }

  waitForSnapshot(id: string): Promise<DBSnapshot> {
    return this.poll(`snapshot ${id}`, async () => {
      const snapshot = await this.describeSnapshot(id);
      if (!snapshot) throw new Error(`snapshot ${id} does not exist`);
      if (snapshot.Status === "failed" || snapshot.Status === "error") throw new Error(`snapshot ${id} is in state "${snapshot.Status}"`);
      return snapshot.Status === "available" ? snapshot : undefined;
    });
  }

  /** Renames an instance and waits until the new name answers and the old one is gone. */
  async rename(from: string, to: string): Promise<void> {
    await this.waitForInstance(from);
    await this.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: from, NewDBInstanceIdentifier: to, ApplyImmediately: true }));
    await this.poll(`${from} to be renamed ${to}`, async () => {
      const renamed = await this.describeInstance(to);
      const old = await this.describeInstance(from);
      return renamed?.DBInstanceStatus === "available" && !old ? true : undefined;
    });
  }

  async setMasterPassword(instance: DBInstance, password: string): Promise<void> {
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
  async settleRenames(): Promise<void> {
    const ids = [this.targets.target.dbIdentifier, this.previousId, this.names.replacement];
    await this.poll("renames in flight to finish", async () => {
      const found = await Promise.all(ids.map((id) => this.describeInstance(id)));
      return found.some((i) => i?.DBInstanceStatus === "renaming") ? undefined : true;
    });
  }

  /** Deletes an instance and waits until it is gone; false when there was none. */
  async deleteInstance(id: string): Promise<boolean> {
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
  async deleteSnapshot(id: string): Promise<boolean> {
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
  async deleteRunTemporaries(runId: string, snapshotsOnly = false): Promise<string[]> {
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
  async deleteRunSnapshotsQuietly(): Promise<string> {
    try {
      const deleted = await this.deleteRunTemporaries(this.runId, true);
      return deleted.length ? `deleted ${deleted.join(", ")}` : "no snapshot of this run was left";
    } catch (error) {
      return `${this.redact(messageOf(error))}; the next run deletes what is left`;
    }
  }

  /**
   * The scrub key, read exactly as `friday staging scrub --key-secret-arn` reads it (readScrubKey:
   * plain text, {"key": …} or binary), so a scrub by hand and the refresh give the same pseudonyms.
   */
  async scrubKey(): Promise<Buffer> {
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

  holdKey(key: Buffer): Buffer {
    this.secrets.push(key.toString("utf8"));
    return key;
  }

  /** Removes every secret this run holds (passwords, the key) from a message. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) {
      if (!secret) continue;
      out = out.split(secret).join("***").split(encodeURIComponent(secret)).join("***");
    }
    return out.replace(/(postgres(?:ql)?:\/\/[^:/\s]+:)[^@\s]+@/g, "$1***@");
  }
}
