import { DBInstance, RemoveTagsFromResourceCommand } from "@aws-sdk/client-rds";
import { RefreshReport, TAG, formatDuration, messageOf, tagValue } from "./shared";
import type { RefreshContext } from "./context";
import { restoreCredentials } from "./swap";

/**
 * The failure path: undo what a failed run started (the swap and credentials included) and say
 * what staging serves now.
 */
/** Puts staging back under its identifier if the swap had started, then deletes the run's temporaries. */
export async function recover(run: RefreshContext, report: RefreshReport, failedStep: number): Promise<void> {
  const stagingId = run.targets.target.dbIdentifier;
  try {
    if (run.options.pruneOnly) {
      report.recovery.push("nothing to undo (--prune)");
      return;
    }
    await run.settleRenames();
    const previous = await run.describeInstance(run.previousId);
    const current = await run.describeInstance(stagingId);
    if (current && tagValue(current.TagList, TAG.replacedBy) === run.runId && tagValue(current.TagList, TAG.run) !== run.runId) {
      // Marked for the swap but never renamed: unmark it.
      await run.send(new RemoveTagsFromResourceCommand({ ResourceName: current.DBInstanceArn, TagKeys: [TAG.replacedBy, TAG.keepUntil] }));
    }
    // The new database passed its health check (step 6 comes after it; the tag is step 5's last
    // action, so it also covers an earlier attempt of this run) and serves with the app on its
    // secret: keep it. Any later failure is not the new database's (a resumed run's throttled
    // describe, say), and undoing the swap would only take staging back to older data.
    const passedHealth = tagValue(current?.TagList, TAG.run) === run.runId && Boolean(tagValue(current?.TagList, TAG.healthy));
    if (failedStep === 6 || passedHealth) {
      report.recovery.push(
        `kept the new staging database${failedStep === 6 ? "" : " (it passed its health check before this attempt)"}; run \`friday staging refresh --stack ${run.options.stack}\` again to delete what is left of run ${run.runId}`,
      );
      // The snapshots (one of them prod's unscrubbed data) are not needed by a kept swap.
      report.recovery.push(await run.deleteRunSnapshotsQuietly());
      return;
    }
    let undone = false;
    if (previous && tagValue(previous.TagList, TAG.replacedBy) === run.runId) {
      const atStaging = await run.describeInstance(stagingId);
      if (atStaging && tagValue(atStaging.TagList, TAG.run) === run.runId) {
        await run.rename(stagingId, run.names.replacement);
        undone = true;
        report.recovery.push(`moved the replacement back to ${run.names.replacement}`);
      } else if (atStaging) {
        throw new Error(`"${stagingId}" is held by an instance that is not this run's; leaving ${run.previousId} in place`);
      }
      await run.waitForInstance(run.previousId);
      await run.rename(run.previousId, stagingId);
      const restored = await run.waitForInstance(stagingId);
      await run.send(new RemoveTagsFromResourceCommand({ ResourceName: restored.DBInstanceArn, TagKeys: [TAG.replacedBy, TAG.keepUntil] }));
      report.recovery.push(`put the previous staging database back as ${stagingId}`);
    }
    // Credentials move in step 5 only, but a resumed run can undo a swap whose step 5 ran in an
    // earlier attempt: whenever a swap is undone, the app goes back to the old secret before the
    // replacement (and its secret) is deleted.
    if (failedStep === 5 || undone) {
      const restored = await run.describeInstance(stagingId);
      const replacement = await run.describeInstance(run.names.replacement);
      const oldArn = tagValue(restored?.TagList, TAG.run) === run.runId ? undefined : (restored?.MasterUserSecret?.SecretArn ?? run.targets.target.secretArn);
      const newArn = replacement?.MasterUserSecret?.SecretArn;
      if (oldArn && newArn && oldArn !== newArn) report.recovery.push(...(await restoreCredentials(run, oldArn, newArn)));
    }
    const deleted = await run.deleteRunTemporaries(run.runId);
    report.recovery.push(deleted.length ? `deleted ${deleted.join(", ")}` : "nothing of this run was left to delete");
  } catch (error) {
    report.recovery.push(`recovery stopped: ${run.redact(messageOf(error))} — rerun \`friday staging refresh --stack ${run.options.stack}\` to resume, or see docs/runbooks/staging-refresh.md`);
  } finally {
    for (const line of report.recovery) run.log(`  recovery: ${line}`);
  }
}

export async function notifyFailure(run: RefreshContext, report: RefreshReport): Promise<boolean> {
  const message = [
    `friday staging refresh ${report.runId} failed on ${run.options.stack}.`,
    report.error,
    "",
    "Steps:",
    ...report.steps.map((s) => `  ${s.step}. ${s.name}: ${s.status} (${formatDuration(s.durationMs)})${s.detail ? ` — ${s.detail}` : ""}`),
    "",
    "Recovery:",
    ...report.recovery.map((line) => `  - ${line}`),
    "",
    `${await stagingAfterRecovery(run, report)} Runbook: docs/runbooks/staging-refresh.md`,
  ].join("\n");
  return run.publish(message);
}

/**
 * What staging serves after the recovery, read from AWS rather than assumed: the recovery may have
 * kept the new database (step 6), put the old one back, or stopped half-way with nothing under
 * staging's name.
 */
export async function stagingAfterRecovery(run: RefreshContext, report: RefreshReport): Promise<string> {
  const stagingId = run.targets.target.dbIdentifier;
  const rerun = `Run \`friday staging refresh --stack ${run.options.stack}\``;
  const stopped = report.recovery.some((line) => line.startsWith("recovery stopped"));
  let staging: DBInstance | undefined;
  let previous: DBInstance | undefined;
  try {
    staging = await run.describeInstance(stagingId);
    previous = await run.describeInstance(run.previousId);
  } catch (error) {
    return `Could not check "${stagingId}" after the recovery (${run.redact(messageOf(error))}): staging may be down. ${rerun} to resume run ${run.runId} (it finishes or undoes its swap), or see the runbook, §5 and §7.`;
  }
  if (!staging) {
    const held = previous ? ` The previous database is "${run.previousId}".` : "";
    return `Nothing is named "${stagingId}" after the recovery${stopped ? " stopped part-way" : ""}: STAGING MAY BE DOWN.${held} ${rerun} to resume run ${run.runId} (it finishes or undoes its swap), or put "${run.previousId}" back by hand (runbook §7).`;
  }
  const status = staging.DBInstanceStatus === "available" ? "" : ` (its status: ${staging.DBInstanceStatus})`;
  if (tagValue(staging.TagList, TAG.run) === run.runId) {
    const kept = previous ? `; the previous database is kept as "${run.previousId}" (runbook §7 puts it back)` : "";
    return `Staging serves the NEW (scrubbed) data of run ${run.runId}${status}${kept}. ${rerun} again to delete what is left of the run.`;
  }
  return `Staging keeps serving its previous data${status}.${stopped ? ` The recovery stopped part-way: ${rerun} again to delete what is left of run ${run.runId}.` : ""}`;
}
