import * as pulumi from "@pulumi/pulumi";

/**
 * The one Pulumi mock harness: a recorder of every registered resource (with the options the mock
 * API hides: parent, ignoreChanges, dependencies), fake computed attributes realistic enough for
 * Outputs to resolve, and a strict call mock that fails on an unmocked invoke. The offline program
 * runs (tests, `friday plan`) and the standalone component tests all install it.
 */

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
        engineVersionActual: inputs.engineVersion,
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
function answerCall(token: string, inputs: Record<string, any>, region: string, liveDatabases: Record<string, string> = {}): Record<string, any> {
  switch (token) {
    case "aws:rds/getInstances:getInstances": {
      // Only the db-instance-id filter is answered: the program looks its own database up by name.
      const ids: string[] = (inputs.filters ?? []).filter((f: { name: string }) => f.name === "db-instance-id").flatMap((f: { values: string[] }) => f.values);
      const found = ids.filter((id) => id in liveDatabases);
      return { id: region, instanceIdentifiers: found, instanceArns: found.map((id) => `arn:aws:rds:${region}:${FAKE_ACCOUNT}:db:${id}`) };
    }
    case "aws:rds/getInstance:getInstance": {
      const id = inputs.dbInstanceIdentifier;
      if (!(id in liveDatabases)) throw new Error(`getInstance: DBInstanceNotFound: ${id}`);
      return { id, dbInstanceIdentifier: id, engine: "postgres", engineVersion: liveDatabases[id] };
    }
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
      throw new Error(`Unmocked invoke ${token}(${JSON.stringify(inputs)}): add it to answerCall() in scripts/lib/pulumi-mocks.ts.`);
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


/** Secret inputs reach the mock wrapped in Pulumi's secret envelope; record the plain value. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";
export function unsecret(value: any): any {
  return value && typeof value === "object" && value[SECRET_SIG] === SECRET_VALUE ? value.value : value;
}

export interface MockOptions {
  /** Stack name the program sees (`pulumi.getStack()`). */
  readonly stack: string;
  /** Region the fake ARNs and invokes answer with. @default "us-east-1" */
  readonly region?: string;
  /** Attributes (and optionally an `id`) to put over the default fake state of a resource. */
  readonly state?: (type: string, name: string, inputs: Record<string, any>) => Record<string, any> | undefined;
  /** DB instances that already exist (identifier → the engine version RDS runs). @default none */
  readonly liveDatabases?: Record<string, string>;
  /** What a StackReference answers with (read when it is registered). @default {} */
  readonly stackReferenceOutputs?: () => Record<string, unknown>;
}

/**
 * Installs the mocks for `stack` and returns the live list the program's registrations go into.
 * Import the code under test after this (as `pulumi up` would load it).
 */
export async function installMocks(options: MockOptions): Promise<RecordedResource[]> {
  const region = options.region ?? "us-east-1";
  const resources: RecordedResource[] = [];
  const requestOptions = new Map<string, Pick<RecordedResource, "parent" | "options" | "dependencies">>();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const inputs = Object.fromEntries(Object.entries(args.inputs).map(([k, v]) => [k, unsecret(v)]));
        const state: Record<string, any> =
          args.type === "pulumi:pulumi:StackReference"
            ? { name: args.inputs.name, outputs: options.stackReferenceOutputs?.() ?? {}, secretOutputNames: [] }
            : { ...fakeState(args.type, args.name, inputs, region), ...options.state?.(args.type, args.name, inputs) };
        const extra = requestOptions.get(`${args.type}::${args.name}`);
        resources.push({
          type: args.type,
          name: args.name,
          custom: args.custom !== false,
          parent: extra?.parent,
          options: extra?.options ?? { ignoreChanges: [], protect: false, retainOnDelete: false },
          dependencies: extra?.dependencies ?? [],
          inputs,
          state,
        });
        return { id: state.id ?? `${args.name}-id`, state };
      },
      call(args) {
        return answerCall(args.token, args.inputs, region, options.liveDatabases);
      },
    },
    "friday",
    options.stack,
    false,
  );
  captureResourceOptions(requestOptions);
  return resources;
}

/** Waits until every registration the program started has reached the mocks. */
export async function settle(): Promise<void> {
  await require("@pulumi/pulumi/runtime/settings").waitForRPCs?.();
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** The value of an Output (always await it: an assertion inside .apply() can pass when it should fail). */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}
