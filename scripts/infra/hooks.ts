import type { CodePipelineClient } from "@aws-sdk/client-codepipeline";
import type { RDSClient } from "@aws-sdk/client-rds";
import type { BootstrapClients } from "./bootstrap";
import { processRunner, type InfraContext, type PulumiRunner } from "./pulumi-run";

/** What tests replace in `friday infra …` and `friday bootstrap`: the Pulumi runner, AWS clients, output and clock. */
export interface InfraHooks {
  runner?: (env: NodeJS.ProcessEnv) => PulumiRunner;
  codepipeline?: (region?: string) => CodePipelineClient;
  rds?: (region?: string) => RDSClient;
  bootstrapClients?: (region: string) => BootstrapClients;
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
  return { run: (hooks.runner ?? processRunner)(env), env, log: json ? stderr : stdout, now: hooks.now ?? Date.now, stdout };
}
