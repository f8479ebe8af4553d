import { Command } from "commander";
import { DeployError } from "./aws";
import { addCommonFlags, cliContext, CommonFlags, finish } from "./cli-support";
import { COMPLETED_STATUSES } from "./follow";
import { getStatus, StatusDeps, StatusReport } from "./status";
import { validateStackName } from "./stack";
import { APPLY_STACK_HINT } from "../lib/apply-stack";

/**
 * The automatic gate between staging and prod: staging's last deployment succeeded, nothing is in
 * flight there, it runs the digest about to go to prod (when given), and its rollback alarms are OK.
 */

export interface GateOptions {
  /** @default "staging" */
  stack?: string;
  /** The digest the pipeline is about to promote: staging must be running exactly this. */
  image?: string;
  /** Accept INSUFFICIENT_DATA (a quiet staging with no traffic) as well as OK. @default false */
  allowInsufficientData?: boolean;
}

export interface GateCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface GateResult {
  ok: boolean;
  stack: string;
  checks: GateCheck[];
  message: string;
  status: StatusReport;
}

function digestOf(image: string | undefined): string | undefined {
  return image?.match(/sha256:[a-f0-9]{64}/)?.[0];
}

/** Evaluates the gate on a status report (pure: tests and the CLI share it). */
export function evaluateGate(status: StatusReport, options: GateOptions = {}): GateCheck[] {
  const checks: GateCheck[] = [];
  checks.push(
    status.inFlight
      ? { name: "nothing in flight", ok: false, detail: `${status.inFlight.serviceDeploymentArn} is ${status.inFlight.status}${status.inFlight.lifecycleStage ? ` at ${status.inFlight.lifecycleStage}` : ""}` }
      : { name: "nothing in flight", ok: true, detail: "no deployment in flight" },
  );

  const lastCompleted = status.deployments.find((d) => (COMPLETED_STATUSES as string[]).includes(d.status ?? ""));
  checks.push(
    !lastCompleted
      ? { name: "last deployment succeeded", ok: false, detail: "no completed deployment in ECS's history" }
      : lastCompleted.status === "SUCCESSFUL"
        ? { name: "last deployment succeeded", ok: true, detail: `${lastCompleted.serviceDeploymentArn} SUCCESSFUL at ${lastCompleted.finishedAt ?? "?"}` }
        : {
            name: "last deployment succeeded",
            ok: false,
            detail: `${lastCompleted.serviceDeploymentArn} ended ${lastCompleted.status}${lastCompleted.reason ? ` (${lastCompleted.reason})` : ""}`,
          },
  );

  if (options.image) {
    const wanted = digestOf(options.image);
    const runningDigests = status.running.map((r) => r.imageDigest ?? digestOf(r.image));
    const ok = wanted !== undefined && runningDigests.length > 0 && runningDigests.every((d) => d === wanted);
    checks.push({
      name: "runs the promoted digest",
      ok,
      detail: ok ? `runs ${wanted}` : `wanted ${wanted ?? options.image}, runs ${runningDigests.map((d) => d ?? "?").join(", ") || "nothing"}`,
    });
  }

  const accepted = options.allowInsufficientData ? ["OK", "INSUFFICIENT_DATA"] : ["OK"];
  if (status.alarms.length === 0) {
    checks.push({ name: "rollback alarms OK", ok: false, detail: `the stack publishes no rollback alarms: ${APPLY_STACK_HINT}` });
  } else {
    const bad = status.alarms.filter((a) => !accepted.includes(a.state));
    checks.push({
      name: "rollback alarms OK",
      ok: bad.length === 0,
      detail: bad.length === 0 ? `${status.alarms.length} alarm(s) ${accepted.join(" or ")}` : bad.map((a) => `${a.name} is ${a.state}`).join(", "),
    });
  }
  return checks;
}

/** The gate the pipeline runs before prod (and `friday gate`): ok only when every check passes. */
export async function checkStagingGate(deps: StatusDeps, options: GateOptions = {}): Promise<GateResult> {
  const stack = validateStackName(options.stack ?? "staging");
  if (options.image !== undefined && !digestOf(options.image)) {
    throw new DeployError(`--image must contain an image digest (sha256:<64 hex>) (got "${options.image}").`);
  }
  const status = await getStatus(deps, { stack, last: 10 });
  const checks = evaluateGate(status, options);
  const failed = checks.filter((c) => !c.ok);
  const message =
    failed.length === 0
      ? `Gate passed: ${stack} ${checks.map((c) => c.name).join(", ")}.`
      : `Gate FAILED on ${stack}: ${failed.map((c) => `${c.name}: ${c.detail}`).join("; ")}.`;
  return { ok: failed.length === 0, stack, checks, message, status };
}

export function formatGate(result: GateResult): string {
  return [result.message, ...result.checks.map((c) => `  ${c.ok ? "✓" : "✗"} ${c.name}: ${c.detail}`)].join("\n");
}

/** `friday gate --stack staging [--image <digest>] [--allow-insufficient-data] [--json]` */
export function registerGate(program: Command): void {
  addCommonFlags(
    program
      .command("gate")
      .description("check a stack is fit to promote from: last deployment succeeded, nothing in flight, rollback alarms OK (exit 1 if not)"),
  )
    .option("--image <image>", "also require the stack to run exactly this digest")
    .option("--allow-insufficient-data", "accept alarms in INSUFFICIENT_DATA (a staging without traffic)")
    .action(async (flags: CommonFlags & { image?: string; allowInsufficientData?: boolean }) => {
      const ctx = cliContext();
      const { ecs, ssm, cloudwatch } = ctx.clients(flags.region);
      const result = await checkStagingGate(
        { ecs, ssm, cloudwatch, clock: ctx.clock },
        { stack: flags.stack, image: flags.image, allowInsufficientData: flags.allowInsufficientData },
      );
      finish(ctx, flags.json, result, formatGate(result));
    });
}
