import { CreateDBSnapshotCommand, DBInstance, ModifyDBInstanceCommand, RestoreDBInstanceFromDBSnapshotCommand } from "@aws-sdk/client-rds";
import { TAG, databaseUrlOf, majorOf, mergeTags, tagValue } from "./shared";
import type { RefreshContext } from "./context";

/**
 * Steps 2 and 4: restore prod's snapshot to the isolated instance; restore staging's replacement
 * from the scrubbed snapshot and prewarm it.
 */
export async function restoreIsolated(run: RefreshContext): Promise<string> {
  if (await run.replacementReady()) return "skipped: the replacement already exists";
  if (await run.describeSnapshot(run.names.scrubbedSnapshot)) return "skipped: the scrubbed snapshot already exists";
  let isolated = await run.describeInstance(run.names.isolated);
  let resumed = Boolean(isolated);
  if (isolated && tagValue(isolated.TagList, TAG.scrub) === "verified") return "skipped: the isolated instance is already scrubbed";
  if (isolated && tagValue(isolated.TagList, TAG.scrub) === "started") {
    // A scrub that stopped half-way cannot be finished safely: start again from prod's snapshot.
    run.log("  the isolated instance holds a half-done scrub: deleting it and restoring again");
    await run.deleteInstance(run.names.isolated);
    isolated = undefined;
    resumed = false;
  }
  const target = run.targets.target;
  if (!isolated) {
    const snapshot = await run.waitForSnapshot(run.names.sourceSnapshot);
    // Staging's parameter group is of staging's family (postgres<major>), which RDS refuses for a
    // snapshot of an older major (prod is upgraded after staging). Then the instance starts on that
    // major's default group, and the upgrade below sets staging's group with the new major; nothing
    // connects to it before.
    const sameMajor = majorOf(snapshot.EngineVersion) === majorOf(target.engineVersion);
    await run.send(
      new RestoreDBInstanceFromDBSnapshotCommand({
        DBInstanceIdentifier: run.names.isolated,
        DBSnapshotIdentifier: run.names.sourceSnapshot,
        DBInstanceClass: run.targetInstance?.DBInstanceClass,
        DBSubnetGroupName: target.subnetGroup,
        ...(sameMajor ? { DBParameterGroupName: target.parameterGroup } : {}),
        VpcSecurityGroupIds: [run.targets.refresh.isolatedSecurityGroupId],
        PubliclyAccessible: false,
        MultiAZ: false,
        BackupRetentionPeriod: 0,
        DeletionProtection: false,
        AutoMinorVersionUpgrade: false,
        CopyTagsToSnapshot: false,
        Tags: run.runTags("isolated"),
      }),
    );
  }
  isolated = await run.waitForInstance(run.names.isolated);
  if (!isolated.StorageEncrypted) throw new Error(`${run.names.isolated} is not encrypted at rest; refusing to go on`);
  if (isolated.PubliclyAccessible) throw new Error(`${run.names.isolated} is publicly accessible; refusing to go on`);
  const groups = (isolated.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId);
  if (groups.length !== 1 || groups[0] !== run.targets.refresh.isolatedSecurityGroupId) {
    throw new Error(`${run.names.isolated} is in security groups ${groups.join(", ")}, not only the isolated one (${run.targets.refresh.isolatedSecurityGroupId}); refusing to go on`);
  }
  let upgraded = "";
  if (isolated.EngineVersion !== target.engineVersion) {
    const major = isolated.EngineVersion?.split(".")[0] !== target.engineVersion.split(".")[0];
    await run.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: run.names.isolated,
        EngineVersion: target.engineVersion,
        AllowMajorVersionUpgrade: major,
        DBParameterGroupName: target.parameterGroup,
        ApplyImmediately: true,
      }),
    );
    const onStagingsGroup = (i: DBInstance) => (i.DBParameterGroups ?? []).some((g) => g.DBParameterGroupName === target.parameterGroup);
    await run.waitForInstance(run.names.isolated, (i) => i.EngineVersion === target.engineVersion && !i.PendingModifiedValues?.EngineVersion && onStagingsGroup(i));
    upgraded = `, upgraded ${isolated.EngineVersion} → ${target.engineVersion}`;
  }
  return `${resumed ? "resumed" : "restored"} ${run.names.isolated} in ${run.targets.refresh.isolatedSecurityGroupId}${upgraded}`;
}

export async function restoreReplacement(run: RefreshContext): Promise<string> {
  if (await run.replacementReady()) return "skipped: the replacement already serves or is being swapped in";
  if (!(await run.describeSnapshot(run.names.scrubbedSnapshot))) {
    await run.waitForInstance(run.names.isolated);
    await run.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: run.names.isolated, DBSnapshotIdentifier: run.names.scrubbedSnapshot, Tags: run.runTags("scrubbed-snapshot") }));
  }
  await run.waitForSnapshot(run.names.scrubbedSnapshot);

  const staging = run.targetInstance;
  let replacement = await run.describeInstance(run.names.replacement);
  const resumed = Boolean(replacement);
  if (!replacement) {
    const keep = (staging.TagList ?? []).filter((t) => t.Key && !t.Key.startsWith("aws:") && !t.Key.startsWith("friday:refresh-"));
    await run.send(
      new RestoreDBInstanceFromDBSnapshotCommand({
        DBInstanceIdentifier: run.names.replacement,
        DBSnapshotIdentifier: run.names.scrubbedSnapshot,
        DBInstanceClass: staging.DBInstanceClass,
        DBSubnetGroupName: run.targets.target.subnetGroup,
        DBParameterGroupName: run.targets.target.parameterGroup,
        VpcSecurityGroupIds: (staging.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId!),
        PubliclyAccessible: false,
        MultiAZ: staging.MultiAZ ?? false,
        StorageType: staging.StorageType,
        BackupRetentionPeriod: staging.BackupRetentionPeriod,
        AutoMinorVersionUpgrade: staging.AutoMinorVersionUpgrade ?? false,
        CopyTagsToSnapshot: staging.CopyTagsToSnapshot ?? true,
        DeletionProtection: false,
        Tags: mergeTags(keep, run.runTags("replacement")),
      }),
    );
  }
  replacement = await run.waitForInstance(run.names.replacement);
  let prewarmed = "prewarmed earlier";
  if (!replacement.MasterUserSecret?.SecretArn) {
    // Prewarm (the restored volume loads from S3 on first read) over a temporary password held in
    // memory only, then hand the password to RDS: the replacement gets its own managed secret,
    // which the swap points the app at. No password is copied from or written to Secrets Manager.
    const password = run.generatePassword();
    run.secrets.push(password);
    await run.setMasterPassword(replacement, password);
    const ready = await run.waitForInstance(run.names.replacement);
    const warm = await run.db.prewarm({ databaseUrl: databaseUrlOf(ready, password, undefined, run.options.caBundlePath) });
    prewarmed = `prewarmed ${warm.tables} tables`;
    await run.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: run.names.replacement, ManageMasterUserPassword: true, ApplyImmediately: true }));
  }
  const managed = await run.waitForInstance(run.names.replacement, (i) => i.MasterUserSecret?.SecretStatus === "active" && Boolean(i.MasterUserSecret.SecretArn));
  return `${resumed ? "resumed" : "restored"} ${run.names.replacement} from ${run.names.scrubbedSnapshot}; ${prewarmed}; its master password is managed by RDS (${managed.MasterUserSecret!.SecretArn})`;
}
