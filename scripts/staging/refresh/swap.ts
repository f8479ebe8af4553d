import { AddTagsToResourceCommand, DBInstance } from "@aws-sdk/client-rds";
import { PutParameterCommand } from "@aws-sdk/client-ssm";
import { DescribeServicesCommand } from "@aws-sdk/client-ecs";
import { DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { refuseWhileInFlight, registerAndFollow, registrableInput, rewriteSecretArns, secretArnOfValueFrom, ServiceTarget } from "../../deploy/deploy";
import { describeTaskDefinition } from "../../deploy/service";
import { parameterName } from "../../../infra/stack-parameters";
import { TAG, readParameters, tagValue } from "./shared";
import type { RefreshContext } from "./context";
import { APPLY_STACK_HINT } from "../../lib/apply-stack";

/**
 * Step 5: swap the replacement in under staging's identifier, move the app onto its secret, wait
 * until the service is healthy on it.
 */
export async function swap(run: RefreshContext): Promise<string> {
  const stagingId = run.targets.target.dbIdentifier;
  const parts: string[] = [];
  await run.settleRenames();
  // The tag is this step's last action: with it, the renames, credentials and health check are done.
  const healthySince = tagValue((await run.describeInstance(stagingId))?.TagList, TAG.healthy);
  if (healthySince && (await run.swapDone())) return `skipped: swapped, credentials moved and healthy since ${healthySince}`;
  if (!(await run.swapDone())) {
    let previous = await run.describeInstance(run.previousId);
    const mine = tagValue(previous?.TagList, TAG.replacedBy) === run.runId;
    if (previous && !mine) {
      // An older previous instance is superseded by the one this swap makes.
      run.log(`  deleting the older ${run.previousId} (replaced by run ${tagValue(previous.TagList, TAG.replacedBy) ?? "unknown"})`);
      await run.deleteInstance(run.previousId);
      previous = undefined;
    }
    if (!mine) {
      const current = await run.waitForInstance(stagingId);
      const keepUntil = new Date(run.now().getTime() + run.retentionHours() * 3600_000).toISOString();
      await run.send(new AddTagsToResourceCommand({ ResourceName: current.DBInstanceArn, Tags: [{ Key: TAG.replacedBy, Value: run.runId }, { Key: TAG.keepUntil, Value: keepUntil }] }));
      await run.rename(stagingId, run.previousId);
      parts.push(`${stagingId} → ${run.previousId} (kept until ${keepUntil})`);
    } else if (await run.describeInstance(stagingId)) {
      throw new Error(`${run.previousId} is marked as replaced by ${run.runId} but "${stagingId}" exists and is not this run's replacement`);
    }
    await run.waitForInstance(run.names.replacement);
    await run.rename(run.names.replacement, stagingId);
    parts.push(`${run.names.replacement} → ${stagingId}`);
  } else {
    parts.push("already swapped");
  }
  const staging = await run.waitForInstance(stagingId);
  parts.push(...(await moveCredentials(run, staging)));
  parts.push(await waitHealthy(run));
  // Recorded in AWS, so that a resumed run failing before step 6 knows this swap is to be kept.
  if (!tagValue(staging.TagList, TAG.healthy)) {
    await run.send(new AddTagsToResourceCommand({ ResourceName: staging.DBInstanceArn, Tags: [{ Key: TAG.healthy, Value: run.now().toISOString() }] }));
  }
  return parts.join("; ");
}

/**
 * The swapped-in instance has its own RDS-managed secret (the old one stays with `-previous`, is
 * rotated for it and deleted with it): point /friday/<stack>/db-secret-arn at the new secret and
 * roll the service onto a revision of its current task definition that reads it.
 */
export async function moveCredentials(run: RefreshContext, staging: DBInstance): Promise<string[]> {
  const newArn = staging.MasterUserSecret?.SecretArn;
  if (!newArn) throw new Error(`${staging.DBInstanceIdentifier} has no RDS-managed master secret, so the app would have no credentials for it`);
  const previous = await run.describeInstance(run.previousId);
  const oldArns = new Set([run.targets.target.secretArn, previous?.MasterUserSecret?.SecretArn].filter((a): a is string => Boolean(a) && a !== newArn));
  const parts: string[] = [];
  const parameter = parameterName(run.options.stack, "dbSecretArn");
  if (run.targets.target.secretArn !== newArn) {
    await run.clients.ssm.send(new PutParameterCommand({ Name: parameter, Value: newArn, Type: "String", Overwrite: true }));
    parts.push(`${parameter} → ${newArn}`);
  }
  parts.push(await rollService(run, oldArns, newArn));
  return parts;
}

/**
 * Registers a revision of the service's current task definition with every container secret that
 * reads one of `from` reading `to` instead, and follows the deployment to its end (the deploy
 * command's code). A deployment that does not succeed throws.
 */
export async function rollService(run: RefreshContext, from: ReadonlySet<string>, to: string): Promise<string> {
  const target = run.targets.target;
  const ids: ServiceTarget = { stack: run.options.stack, clusterName: target.clusterName, serviceName: target.serviceName };
  const out = await run.clients.ecs.send(new DescribeServicesCommand({ cluster: target.clusterName, services: [target.serviceName] }));
  const current = out.services?.[0]?.taskDefinition;
  if (!current) throw new Error(`service ${target.serviceName} in ${target.clusterName} has no task definition: ${APPLY_STACK_HINT}`);
  const { taskDefinition, tags } = await describeTaskDefinition(run.clients.ecs, current, `the service's task definition is gone; ${APPLY_STACK_HINT}.`);
  const input = registrableInput(taskDefinition, tags, taskDefinition.family!);
  const changes = rewriteSecretArns(input, (arn) => (from.has(arn) ? to : undefined));
  if (changes.length === 0) {
    const reads = (taskDefinition.containerDefinitions ?? []).some((c) => (c.secrets ?? []).some((x) => x.valueFrom && secretArnOfValueFrom(x.valueFrom) === to));
    return reads ? `service already reads ${to}` : `service reads none of ${[...from].join(", ") || "the old secrets"}: not rolled`;
  }
  await refuseWhileInFlight(run.clients.ecs, ids);
  run.log(`  rolling ${target.serviceName} from ${current}: ${changes.join("; ")}`);
  const clock = { now: () => run.now().getTime(), sleep: run.sleep };
  const result = await registerAndFollow({ ecs: run.clients.ecs, clock, log: (line) => run.log(`  ${line}`) }, ids, input, {
    timeoutMinutes: run.options.rollTimeoutMinutes ?? 30,
    pollSeconds: Math.max(1, Math.min(300, run.pollMs / 1000)),
  });
  if (!result.ok) throw new Error(`rolling ${target.serviceName} onto ${to} failed: ${result.message}`);
  return `service rolled onto ${result.taskDefinitionArn} (${changes.length} secret(s) → ${to})`;
}

export async function waitHealthy(run: RefreshContext): Promise<string> {
  const needed = run.options.healthyPolls ?? 3;
  let streak = 0;
  let last = "";
  const target = run.targets.target;
  await run.poll(
    `${target.serviceName} to be healthy`,
    async () => {
      const out = await run.clients.ecs.send(new DescribeServicesCommand({ cluster: target.clusterName, services: [target.serviceName] }));
      const service = out.services?.[0];
      const running = service?.runningCount ?? 0;
      const desired = service?.desiredCount ?? 0;
      let healthy = 0;
      let unhealthy = 0;
      for (const arn of target.targetGroupArns) {
        const health = await run.clients.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }));
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
    (run.options.healthTimeoutSeconds ?? 900) * 1000,
  ).catch((error: Error) => {
    throw new Error(`the staging service did not become healthy on the new database (${last}): ${error.message}`);
  });
  return `service healthy (${last})`;
}

/**
 * Undoes moveCredentials after the old instance is back under staging's name: SSM names the old
 * secret again and the service reads it again. Runs before the replacement (and its secret) is deleted.
 */
export async function restoreCredentials(run: RefreshContext, oldArn: string, newArn: string): Promise<string[]> {
  const done: string[] = [];
  const parameter = parameterName(run.options.stack, "dbSecretArn");
  const values = await readParameters(run.clients.ssm, [parameter]);
  if (values[parameter] !== oldArn) {
    await run.clients.ssm.send(new PutParameterCommand({ Name: parameter, Value: oldArn, Type: "String", Overwrite: true }));
    done.push(`put ${parameter} back to ${oldArn}`);
  }
  const rolled = await rollService(run, new Set([newArn]), oldArn);
  if (rolled.startsWith("service rolled")) done.push(rolled.replace("service rolled onto", "rolled the service back onto"));
  return done;
}
