import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";

/**
 * Runs the real Pulumi program in-process under `pulumi.runtime.setMocks`, with a stack's real YAML
 * config, and records every resource it registers. Tests and `friday plan` both use it: no AWS
 * account, no Pulumi CLI, no Docker.
 */

export const REPO_ROOT = join(__dirname, "..", "..");
export const FAKE_ACCOUNT = "123456789012";

/** One resource the program registered, with the inputs it asked for. */
export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  /** False for component resources. */
  readonly custom: boolean;
  /** The parent's URN, if any. */
  readonly parent?: string;
  /** Resource options the program set that matter for ownership (see DESIGN.md "Who owns what"). */
  readonly options: { ignoreChanges: string[]; protect: boolean; retainOnDelete: boolean };
  /** URNs of the resources this one depends on (explicit dependsOn and through its inputs). */
  readonly dependencies: string[];
  readonly inputs: Record<string, any>;
  /** The state the mock answered with (inputs plus fake computed attributes). */
  readonly state: Record<string, any>;
}

/** What one offline run of a stack produced. */
export interface OfflineRun {
  readonly stack: string;
  readonly resources: RecordedResource[];
  /** Stack outputs, fully resolved. */
  readonly outputs: Record<string, any>;
}

export interface OfflineRunOptions {
  /** Raw config (`friday:key` → string, as Pulumi passes it); default: read Pulumi.<stack>.yaml. */
  readonly rawConfig?: Record<string, string>;
  /** What the staging StackReference answers in the prod run; default: outputs of an offline staging run. */
  readonly stagingOutputs?: Record<string, unknown>;
}

/** Reads a stack file and flattens its `config:` the way the Pulumi CLI hands it to the program. */
export function readStackConfigFile(stack: string, root = REPO_ROOT): Record<string, string> {
  const path = join(root, `Pulumi.${stack}.yaml`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new Error(`No stack file ${path}: friday's stacks are "staging" and "prod".`);
  }
  const doc = (parseYaml(text) ?? {}) as { config?: Record<string, unknown> };
  const raw: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    const plain = value && typeof value === "object" && "value" in (value as object) ? (value as { value: unknown }).value : value;
    raw[key] = typeof plain === "string" ? plain : JSON.stringify(plain);
  }
  return raw;
}

function serviceOf(type: string): string {
  const [pkg, module] = type.split(":");
  return pkg === "aws" ? module.split("/")[0].toLowerCase() : pkg;
}

/** Fake computed attributes, enough for the program's Outputs to resolve to realistic values. */
let resourcesSeen = 0;
function fakeState(type: string, name: string, inputs: Record<string, any>, region: string): Record<string, any> {
  resourcesSeen++;
  const arn = `arn:aws:${serviceOf(type)}:${region}:${FAKE_ACCOUNT}:${type.split(":").pop()!.toLowerCase()}/${name}`;
  const state: Record<string, any> = { arn, ...inputs };
  switch (type) {
    case "aws:rds/instance:Instance":
      Object.assign(state, {
        address: `${name}.abc123.${region}.rds.amazonaws.com`,
        endpoint: `${name}.abc123.${region}.rds.amazonaws.com:5432`,
        resourceId: `db-${name.toUpperCase()}`,
        masterUserSecrets: [{ secretArn: `arn:aws:secretsmanager:${region}:${FAKE_ACCOUNT}:secret:rds!db-${name}-AbCdEf`, kmsKeyId: "", secretStatus: "active" }],
        arn: `arn:aws:rds:${region}:${FAKE_ACCOUNT}:db:${inputs.identifier ?? name}`,
      });
      break;
    case "aws:lb/loadBalancer:LoadBalancer":
      Object.assign(state, { dnsName: `${name}-1234.${region}.elb.amazonaws.com`, zoneId: "Z35SXDOTRQ7X7K", arnSuffix: `app/${name}/abc123` });
      break;
    case "aws:lb/targetGroup:TargetGroup":
      Object.assign(state, { arnSuffix: `targetgroup/${name}/abc123` });
      break;
    case "aws:ecr/repository:Repository":
      Object.assign(state, { repositoryUrl: `${FAKE_ACCOUNT}.dkr.ecr.${region}.amazonaws.com/${inputs.name ?? name}` });
      break;
    case "aws:ecs/taskDefinition:TaskDefinition":
      Object.assign(state, { revision: 1, arnWithoutRevision: arn });
      break;
    case "aws:ec2/vpc:Vpc":
      Object.assign(state, { cidrBlock: inputs.cidrBlock, defaultSecurityGroupId: "sg-default" });
      break;
    case "aws:ec2/eip:Eip":
      Object.assign(state, { publicIp: `203.0.113.${resourcesSeen % 250}` });
      break;
    case "aws:appconfig/environment:Environment":
      Object.assign(state, { environmentId: `env-${name}` });
      break;
    case "aws:appconfig/configurationProfile:ConfigurationProfile":
      Object.assign(state, { configurationProfileId: `prof-${name}` });
      break;
    case "aws:appconfig/hostedConfigurationVersion:HostedConfigurationVersion":
      Object.assign(state, { versionNumber: 1 });
      break;
    case "aws:kms/key:Key":
      Object.assign(state, { keyId: `key-${name}` });
      break;
    case "docker:index/image:Image":
      Object.assign(state, { repoDigest: `${inputs.imageName?.split(":")[0] ?? name}@sha256:${"0".repeat(64)}`, imageName: inputs.imageName });
      break;
    case "aws:ecs/service:Service":
      Object.assign(state, { id: `arn:aws:ecs:${region}:${FAKE_ACCOUNT}:service/${name}` });
      break;
  }
  return state;
}

/** Invokes the program may make; anything else fails the run loudly (a strict call mock). */
function answerCall(token: string, inputs: Record<string, any>, region: string): Record<string, any> {
  switch (token) {
    case "aws:index/getRegion:getRegion":
      return { name: region, region, id: region };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { accountId: FAKE_ACCOUNT, arn: `arn:aws:iam::${FAKE_ACCOUNT}:user/test`, userId: "AIDA" };
    case "aws:index/getAvailabilityZones:getAvailabilityZones":
      return { names: ["a", "b", "c"].map((z) => `${region}${z}`), zoneIds: ["use1-az1", "use1-az2", "use1-az4"], id: region };
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com" };
    case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
      return { userName: "AWS", password: "mock-token", proxyEndpoint: `https://${FAKE_ACCOUNT}.dkr.ecr.${region}.amazonaws.com` };
    default:
      throw new Error(`Unmocked invoke ${token}(${JSON.stringify(inputs)}): add it to answerCall() in scripts/lib/offline-program.ts.`);
  }
}

/** The mock API hides resource options; read them off the registration requests instead. */
function captureResourceOptions(into: Map<string, Pick<RecordedResource, "parent" | "options" | "dependencies">>): void {
  const monitor = require("@pulumi/pulumi/runtime/settings").getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request: any, callback: any) => {
    into.set(`${request.getType()}::${request.getName()}`, {
      parent: request.getParent() || undefined,
      options: {
        ignoreChanges: request.getIgnorechangesList(),
        protect: Boolean(request.getProtect()),
        retainOnDelete: Boolean(request.getRetainondelete?.()),
      },
      dependencies: [
        ...request.getDependenciesList(),
        ...[...request.getPropertydependenciesMap().entries()].flatMap(([, deps]: [string, any]) => deps.getUrnsList()),
      ],
    });
    return register(request, callback);
  };
}

async function resolveDeep(value: unknown): Promise<any> {
  if (pulumi.Output.isInstance(value)) {
    return resolveDeep(await new Promise((resolve) => (value as pulumi.Output<unknown>).apply(resolve)));
  }
  if (value instanceof Promise) return resolveDeep(await value);
  if (Array.isArray(value)) return Promise.all(value.map(resolveDeep));
  if (value && typeof value === "object" && !(value instanceof pulumi.Resource)) {
    const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveDeep(v)] as const));
    return Object.fromEntries(entries);
  }
  return value;
}

/**
 * Runs infra/program.ts for `stack` under mocks. For prod, the staging StackReference answers with
 * `options.stagingOutputs`, or with the outputs of an offline staging run (parity by default).
 */
export async function runOffline(stack: string, options: OfflineRunOptions = {}): Promise<OfflineRun> {
  const rawConfig = options.rawConfig ?? readStackConfigFile(stack);
  const region = rawConfig["aws:region"] ?? "us-east-1";
  let stagingOutputs = options.stagingOutputs;
  if (stack === "prod" && !stagingOutputs) {
    stagingOutputs = (await runOffline("staging")).outputs;
  }
  const resources: RecordedResource[] = [];
  const requestOptions = new Map<string, Pick<RecordedResource, "parent" | "options" | "dependencies">>();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const state =
          args.type === "pulumi:pulumi:StackReference"
            ? { name: args.inputs.name, outputs: stagingOutputs ?? {}, secretOutputNames: [] }
            : fakeState(args.type, args.name, args.inputs, region);
        const extra = requestOptions.get(`${args.type}::${args.name}`);
        resources.push({
          type: args.type,
          name: args.name,
          custom: args.custom !== false,
          parent: extra?.parent,
          options: extra?.options ?? { ignoreChanges: [], protect: false, retainOnDelete: false },
          dependencies: extra?.dependencies ?? [],
          inputs: args.inputs,
          state,
        });
        return { id: state.id ?? `${args.name}-id`, state };
      },
      call(args) {
        return answerCall(args.token, args.inputs, region);
      },
    },
    "friday",
    stack,
    false,
  );
  captureResourceOptions(requestOptions);
  pulumi.runtime.setAllConfig(rawConfig, []);
  // Imported after the mocks, as `pulumi up` would load it.
  const { program } = await import("../../infra/program");
  const outputs = await resolveDeep(await program());
  const settings = require("@pulumi/pulumi/runtime/settings");
  await settings.waitForRPCs?.();
  return { stack, resources, outputs };
}
