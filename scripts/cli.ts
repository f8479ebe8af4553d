import { Command, CommanderError } from "commander";
import { registerPlan } from "./plan";
import { registerMigrate } from "./migrate/command";
import { registerSmoke } from "./pipeline/smoke";
import { registerDeploy } from "./deploy/deploy";
import { registerRollback } from "./deploy/rollback";
import { registerStatus } from "./deploy/status";
import { registerGate } from "./deploy/gate";
import { registerFlags } from "./flags/register";
import { registerStagingRefresh } from "./staging/refresh-command";
import { registerStagingData } from "./staging/data-command";
import { registerAdoptDatabase } from "./staging/adopt-database";
import { registerMetrics } from "./metrics/command";
import { registerBootstrap } from "./infra/bootstrap";
import { registerInfra } from "./infra/command";

/**
 * The `friday` operator CLI. Each command lives in its own file under scripts/ and exports a
 * `register…(program)` function: a thin commander layer over plain, tested functions.
 */
export function buildCli(): Command {
  const program = new Command("friday")
    .description("Operate friday: plan, deploy, roll back, migrate, refresh staging, flip flags.")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerPlan(program);
  registerMigrate(program);
  registerSmoke(program);
  registerDeploy(program);
  registerRollback(program);
  registerStatus(program);
  registerGate(program);
  registerFlags(program);
  registerStagingRefresh(program);
  registerStagingData(program);
  registerAdoptDatabase(program);
  registerMetrics(program);
  registerInfra(program);
  registerBootstrap(program);
  return program;
}

/** Runs the CLI. Errors are printed once, without a stack trace, and set a non-zero exit code. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed help or the usage error.
      process.exitCode = error.exitCode;
      return;
    }
    throw error;
  }
}
