import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { parameterName, STACK_PARAMETERS, type StackParameterKey } from "../infra/stack-parameters";

export interface StackParametersArgs {
  /** The stack whose identifiers these are ("staging" or "prod"): the SSM path is /friday/<stack>/. */
  readonly stack: string;
  /** Identifiers by STACK_PARAMETERS key (a component that owns others, e.g. feature flags, publishes its own). */
  readonly values: Partial<Record<StackParameterKey, pulumi.Input<string>>>;
  /** Tags for every resource. */
  readonly tags?: Record<string, string>;
}

export function validateStackParametersArgs(name: string, args: StackParametersArgs): void {
  if (!/^[a-z][a-z0-9-]*$/.test(args.stack)) {
    throw new Error(`StackParameters "${name}": stack must be a lowercase name like "prod" (got "${args.stack}").`);
  }
  const unknown = Object.keys(args.values).filter((key) => !(key in STACK_PARAMETERS));
  if (unknown.length) {
    throw new Error(`StackParameters "${name}": ${unknown.join(", ")} not in STACK_PARAMETERS: add them to infra/stack-parameters.ts first.`);
  }
}

/**
 * Parameters the stack writes only when it creates them. `dbSecretArn`: the staging refresh swaps in
 * a database with its own RDS-managed secret and points the parameter at it (the deploy step and
 * the refresh read it); a later `pulumi up` must not put back the secret of the instance it was
 * created with, which RDS deletes with that instance. Every stack gets the same rule so staging and
 * prod stay alike; in prod (no refresh) the value never changes anyway. A database replaced by
 * Pulumi itself (new secret) needs the parameter updated by hand — see docs/runbooks/staging-refresh.md.
 */
export const OWNED_AFTER_CREATION: readonly StackParameterKey[] = ["dbSecretArn"];

/**
 * Publishes the stack's identifiers as SSM parameters under /friday/<stack>/, so operator commands
 * and the pipeline find the cluster, service, alarms and database with AWS credentials alone.
 */
export class StackParameters extends pulumi.ComponentResource {
  public readonly parameters: aws.ssm.Parameter[];

  constructor(name: string, args: StackParametersArgs, opts?: pulumi.ComponentResourceOptions) {
    super("friday:ops:StackParameters", name, {}, opts);
    validateStackParametersArgs(name, args);
    this.parameters = (Object.keys(args.values) as StackParameterKey[]).map((key) =>
      new aws.ssm.Parameter(`${name}-${STACK_PARAMETERS[key]}`, {
        name: parameterName(args.stack, key),
        type: "String",
        value: args.values[key]!,
        description: `friday ${args.stack}: ${key}`,
        tags: args.tags,
      }, { parent: this, ignoreChanges: OWNED_AFTER_CREATION.includes(key) ? ["value"] : [] }));
    this.registerOutputs({});
  }
}
