import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { DeleteParameterCommand, PutParameterCommand } from "@aws-sdk/client-ssm";
import { refreshLockParameterName } from "../../infra/refresh-parameters";
import { LOCK_HOURS, RefreshClients, RefreshDatabaseSteps, RefreshInputError, RefreshOptions, RefreshReport, STEP_NAMES, StepReport, StepStatus, formatDuration, messageOf, parseLock, readParameters, runResourceNames, summaryLine } from "./refresh/shared";
import { RefreshContext } from "./refresh/context";
import { prepare, chooseRun } from "./refresh/prepare";
import { snapshotSource } from "./refresh/snapshot";
import { restoreIsolated, restoreReplacement } from "./refresh/restore";
import { scrubAndVerify } from "./refresh/scrub";
import { swap } from "./refresh/swap";
import { cleanUp } from "./refresh/clean-up";
import { recover, notifyFailure } from "./refresh/recover";

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

// What the command, the component's tests and the pipeline's steps use; the rest is in ./refresh/.
export { TAG, mergeTags, formatDuration } from "./refresh/shared";
export type { RefreshClients, RefreshDatabaseSteps, RefreshOptions, RefreshReport } from "./refresh/shared";

/** Runs (or resumes) a refresh. Never throws for a failed run: the report says what happened. */
export async function refreshStaging(clients: RefreshClients, db: RefreshDatabaseSteps, options: RefreshOptions): Promise<RefreshReport> {
  const run = new RefreshRun(clients, db, options);
  return run.execute();
}

class RefreshRun extends RefreshContext {
  async execute(): Promise<RefreshReport> {
    try {
      await prepare(this); // bad input throws here, before anything changes
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
      chosen = this.options.pruneOnly ? { runId: "prune", resumed: false } : await chooseRun(this);
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
      ? [prune, prune, prune, prune, prune, () => cleanUp(this)]
      : [
          () => snapshotSource(this),
          () => restoreIsolated(this),
          () => scrubAndVerify(this),
          () => restoreReplacement(this),
          () => swap(this),
          () => cleanUp(this),
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
      await recover(this, report, failedStep.step);
      report.notified = await notifyFailure(this, report);
    } else {
      report.ok = true;
    }
    report.totalMs = this.now().getTime() - started;
    this.log(summaryLine(report));
    return report;
  }
}
