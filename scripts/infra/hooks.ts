import { processRunner, type InfraContext } from "./pulumi-run";

/**
 * What tests replace in `friday infra …` and `friday bootstrap`: output and clock. (The Pulumi CLI is
 * replaced through FRIDAY_PULUMI_BIN, the AWS clients through aws-sdk-client-mock.)
 */
export interface InfraHooks {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  now?: () => number;
}

let hooks: InfraHooks = {};
export function setInfraHooksForTests(next: InfraHooks): void {
  hooks = next;
}
export function infraHooks(): InfraHooks {
  return hooks;
}

/** The context a command runs in: progress to stdout, or to stderr when stdout carries JSON. */
export function infraContext(env: NodeJS.ProcessEnv, json: boolean | undefined): InfraContext & { stdout: (text: string) => void } {
  const stdout = hooks.stdout ?? ((t: string) => process.stdout.write(`${t}\n`));
  const stderr = hooks.stderr ?? ((t: string) => process.stderr.write(`${t}\n`));
  return { run: processRunner(env), env, log: json ? stderr : stdout, now: hooks.now ?? Date.now, stdout };
}
