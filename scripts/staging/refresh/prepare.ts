import { ListTasksCommand } from "@aws-sdk/client-ecs";
import { parameterName, StackParameterKey } from "../../../infra/stack-parameters";
import { refreshResourcePrefix, refreshTaskFamily, stackResourcePrefix } from "../../../infra/naming";
import { refreshParameterName, RefreshParameterKey } from "../../../infra/refresh-parameters";
import { RUN_ID, RefreshInputError, TAG, newRunId, readParameters, tagValue } from "./shared";
import { compareVersions } from "../../../infra/parity";
import type { RefreshContext } from "./context";
import { APPLY_STACK_HINT } from "../../lib/apply-stack";

/**
 * Before anything changes: read and check the inputs (SSM, the instances), then pick the run to
 * resume or start.
 */
export async function prepare(run: RefreshContext): Promise<void> {
  const { stack } = run.options;
  const sourceStack = run.options.sourceStack ?? "prod";
  if (stack === "prod" || stack === sourceStack) {
    throw new RefreshInputError(`--stack ${stack}: the refresh replaces staging's database with a scrubbed copy of ${sourceStack}'s; it never writes to ${stack}. Run it with --stack staging.`);
  }
  if (stack !== "staging") {
    throw new RefreshInputError(`--stack ${stack}: friday's stacks are "staging" and "prod"; the refresh runs on staging. Use --stack staging.`);
  }
  if (!run.options.rulesPath) throw new RefreshInputError("--rules is empty: pass the scrub rules file (see docs/runbooks/staging-refresh.md).");

  const stackKeys: StackParameterKey[] = ["dbInstanceIdentifier", "dbParameterGroupName", "dbSubnetGroupName", "dbEngineVersion", "dbSecretArn", "clusterName", "serviceName", "blueTargetGroupArn", "greenTargetGroupArn", "notificationsTopicArn"];
  const required = [
    ...stackKeys.map((key) => parameterName(stack, key)),
    parameterName(sourceStack, "dbInstanceIdentifier"),
    ...(["isolatedSecurityGroupId", "scrubKeySecretArn"] as const).map((key) => refreshParameterName(stack, key)),
  ];
  // Settings with defaults (72 h, 2 tables): read when published, never missing.
  const settings = (["retentionHours", "scrubConcurrency"] as const).map((key) => refreshParameterName(stack, key));
  const values = await readParameters(run.clients.ssm, [...required, ...settings]);
  const missing = required.filter((name) => values[name] === undefined);
  if (missing.length) {
    throw new RefreshInputError(`SSM parameters missing: ${missing.join(", ")}. The stacks publish them (staging with its StagingRefresh component): ${APPLY_STACK_HINT}.`);
  }
  const v = (stk: string, key: StackParameterKey) => values[parameterName(stk, key)]!;
  const r = (key: RefreshParameterKey) => values[refreshParameterName(stack, key)];
  run.targets = {
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
  const target = run.targets.target.dbIdentifier;
  const source = run.targets.source.dbIdentifier;
  if (!target.startsWith(stackResourcePrefix(stack)) || target === source) {
    throw new RefreshInputError(`${parameterName(stack, "dbInstanceIdentifier")} is "${target}": the refresh only replaces an instance named "${stackResourcePrefix(stack)}…" that is not ${sourceStack}'s ("${source}").`);
  }
  run.previousId = `${target}-previous`;
  const retention = run.retentionHours();
  if (!Number.isFinite(retention) || retention < 0 || retention > 24 * 35) {
    throw new RefreshInputError(`retention hours is ${retention}: use 0..840 (--retention-hours, or stagingRefresh.retentionHours in Pulumi.${stack}.yaml).`);
  }
  const concurrency = run.concurrency();
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) {
    throw new RefreshInputError(`scrub concurrency is ${concurrency}: use an integer 1..32 (--concurrency, or stagingRefresh.scrubConcurrency).`);
  }

  await assertNoOtherRun(run);
  const sourceInstance = await run.describeInstance(source);
  if (!sourceInstance) throw new RefreshInputError(`${sourceStack}'s database "${source}" was not found: check ${parameterName(sourceStack, "dbInstanceIdentifier")} and --region.`);
  run.sourceArn = sourceInstance.DBInstanceArn ?? "";
  if (!sourceInstance.StorageEncrypted) {
    throw new RefreshInputError(`${sourceStack}'s database "${source}" is not encrypted at rest, so its snapshot would not be either: encrypt it first; the refresh copies nothing unencrypted.`);
  }
  if (compareVersions(sourceInstance.EngineVersion ?? "", run.targets.target.engineVersion) > 0) {
    throw new RefreshInputError(`${sourceStack} runs PostgreSQL ${sourceInstance.EngineVersion}, newer than staging's ${run.targets.target.engineVersion}: upgrade staging first — set PARITY.database.engineVersion in infra/parity.ts to ${sourceInstance.EngineVersion} and merge (the pipeline applies staging before prod).`);
  }
  const targetInstance = await run.describeInstance(target);
  const previous = await run.describeInstance(run.previousId);
  if (!targetInstance && !previous) {
    throw new RefreshInputError(`staging's database "${target}" was not found (nor "${run.previousId}"): ${APPLY_STACK_HINT}.`);
  }
  if (!targetInstance && !RUN_ID.test(tagValue(previous?.TagList, TAG.replacedBy) ?? "")) {
    throw new RefreshInputError(`staging's database "${target}" was not found, and "${run.previousId}" is not marked by a refresh run: put staging back under "${target}" (see docs/runbooks/staging-refresh.md) and run again.`);
  }
  if (targetInstance) run.targetInstance = targetInstance;
}

/** One refresh at a time: another running task of the job's family is a reason to stop. */
export async function assertNoOtherRun(run: RefreshContext): Promise<void> {
  const family = refreshTaskFamily(run.options.stack);
  const out = await run.clients.ecs.send(new ListTasksCommand({ cluster: run.targets.target.clusterName, family, desiredStatus: "RUNNING" }));
  const running = out.taskArns ?? [];
  if (running.length > (run.options.insideTask ? 1 : 0)) {
    throw new RefreshInputError(`another staging refresh is running (${running.join(", ")}): wait for it to finish (or stop it: \`aws ecs stop-task --cluster ${run.targets.target.clusterName} --task <arn>\`), then run again; it resumes where that one stops.`);
  }
}

/** Resumes the newest unfinished run (deleting older ones' leftovers), or starts a new one. */
export async function chooseRun(run: RefreshContext): Promise<{ runId: string; resumed: boolean }> {
  const prefix = refreshResourcePrefix(run.options.stack);
  const pattern = new RegExp(`^${prefix}(r\\d{14})-(source|isolated|scrubbed|new)$`);
  const runIds = new Set<string>();
  for (const i of await run.listInstances()) {
    const m = pattern.exec(i.DBInstanceIdentifier ?? "");
    if (m && i.DBInstanceStatus !== "deleting") runIds.add(m[1]);
  }
  for (const s of await run.listSnapshots()) {
    const m = pattern.exec(s.DBSnapshotIdentifier ?? "");
    if (m && s.Status !== "deleting") runIds.add(m[1]);
  }
  const previous = await run.describeInstance(run.previousId);
  const replacedBy = tagValue(previous?.TagList, TAG.replacedBy);
  const staging = await run.describeInstance(run.targets.target.dbIdentifier);
  // A half-done swap (nothing under staging's name) belongs to the run that started it.
  if (!staging && replacedBy && RUN_ID.test(replacedBy)) runIds.add(replacedBy);
  const sorted = [...runIds].sort();
  const newest = sorted[sorted.length - 1];
  const pending = !staging && replacedBy ? replacedBy : undefined;
  const resume = pending ?? (run.options.fresh ? undefined : newest);
  for (const old of sorted.filter((id) => id !== resume)) {
    run.log(`deleting the leftovers of unfinished run ${old}`);
    await run.deleteRunTemporaries(old);
  }
  return resume ? { runId: resume, resumed: true } : { runId: newRunId(run.now()), resumed: false };
}
