import {
  AddTagsToResourceCommand,
  CreateDBSnapshotCommand,
  DBInstance,
  DBInstanceAlreadyExistsFault,
  DBInstanceNotFoundFault,
  DBSnapshot,
  DBSnapshotNotFoundFault,
  DeleteDBInstanceCommand,
  DeleteDBSnapshotCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  InvalidDBInstanceStateFault,
  ModifyDBInstanceCommand,
  RDSClient,
  RemoveTagsFromResourceCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  Tag,
} from "@aws-sdk/client-rds";
import { GetSecretValueCommand, PutSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DeleteParameterCommand, GetParametersCommand, ParameterAlreadyExists, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import {
  DescribeServiceDeploymentsCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  TaskDefinition,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { mockClient } from "aws-sdk-client-mock";
import { parameterName } from "../../../../infra/stack-parameters";
import { refreshLockParameterName, refreshParameterName } from "../../../../infra/refresh-parameters";
import { RefreshDatabaseSteps, RefreshOptions, runResourceNames, TAG } from "../shared";

// The world the staging refresh tests run in (scripts/staging/refresh*.test.ts and
// scripts/staging/refresh/*.test.ts): stateful fakes of the AWS APIs the refresh calls, the SSM
// parameters the stacks publish, mocked database steps, a fake clock, and the checks every test
// ends with. A test file calls useFakeAws() once, then drives refreshStaging() against it.

// ------------------------------------------------------------------------------------------------
// A small, stateful fake of the RDS API: instances and snapshots move through their states one
// describe at a time, renames move identifiers, deletes take a poll to finish. Every mutating call
// is checked against prod here too.

export const REGION = "us-east-1";
export const ACCOUNT = "123456789012";
export const PROD = "friday-prod-db";
export const STAGING = "friday-staging-db";
export const PREVIOUS = `${STAGING}-previous`;
export const ISOLATED_SG = "sg-isolated";
export const STAGING_DB_SG = "sg-staging-db";
export const KEY_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:friday/staging/staging-refresh/scrub-key-AbCdEf`;
export const STAGING_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:rds!db-staging-AbCdEf`;
/** The managed secrets the fake RDS makes when asked to manage an instance's password: 1, 2, … */
const managedSecret = (n: number) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:rds!db-managed-${n}-XyZ123`;
export const NEW_SECRET = managedSecret(1);
export const API_KEY_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:friday/staging/api-key-MnOpQr`;
export const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:friday-staging-notifications`;
export const START = Date.parse("2026-11-26T03:00:00Z");
export const RUN = "r20261126030000";
export const NAMES = runResourceNames("staging", RUN);

export const arnOf = (kind: "db" | "snapshot", id: string) => `arn:aws:rds:${REGION}:${ACCOUNT}:${kind}:${id}`;
const majorOf = (version: string | undefined) => (version ?? "").split(".")[0];
/** The tags Pulumi puts on staging's instance (stacks/environment.ts, components/database.ts). */
export const PULUMI_TAGS: Tag[] = [
  { Key: "Name", Value: STAGING },
  { Key: TAG.stack, Value: "staging" },
  { Key: "friday:managed-by", Value: "pulumi" },
];

interface FakeInstance extends DBInstance {
  /** What the data is: "prod", "staging-old", "scrubbed" … (the fake's stand-in for contents). */
  data: string;
  next?: { after: number; apply: (i: FakeInstance) => void };
}
interface FakeSnapshot extends DBSnapshot {
  data: string;
  next?: { after: number; apply: (s: FakeSnapshot) => void };
}

class FakeRds {
  readonly instances = new Map<string, FakeInstance>();
  readonly snapshots = new Map<string, FakeSnapshot>();
  /** Throws this error for the first command the predicate matches. */
  failWhen?: (name: string, input: any) => Error | undefined;
  /** Instances restored from a snapshot end in this state instead of "available". */
  restoreEndsIn?: (id: string) => string | undefined;
  /** Managed secrets made so far, and those deleted with their instance (as RDS does). */
  secretsMade = 0;
  readonly deletedSecrets: string[] = [];

  private manage(instance: FakeInstance): void {
    instance.MasterUserSecret = { SecretArn: managedSecret(++this.secretsMade), SecretStatus: "creating" };
    instance.next = { after: 2, apply: (i) => ((i.DBInstanceStatus = "available"), (i.MasterUserSecret!.SecretStatus = "active")) };
  }

  addInstance(id: string, data: string, extra: Partial<FakeInstance> = {}): FakeInstance {
    const instance: FakeInstance = {
      DBInstanceIdentifier: id,
      DBInstanceArn: arnOf("db", id),
      DBInstanceStatus: "available",
      DBInstanceClass: "db.t4g.medium",
      Engine: "postgres",
      EngineVersion: "17.6",
      StorageEncrypted: true,
      PubliclyAccessible: false,
      MultiAZ: false,
      StorageType: "gp3",
      BackupRetentionPeriod: 3,
      DBName: "app",
      MasterUsername: "friday",
      Endpoint: { Address: `${id}.abc123.${REGION}.rds.amazonaws.com`, Port: 5432 },
      VpcSecurityGroups: [{ VpcSecurityGroupId: STAGING_DB_SG, Status: "active" }],
      TagList: [{ Key: "Name", Value: id }],
      DBParameterGroups: [{ DBParameterGroupName: `${id}-postgres17`, ParameterApplyStatus: "in-sync" }],
      data,
      ...extra,
    };
    this.instances.set(id, instance);
    return instance;
  }

  private tick(): void {
    for (const item of [...this.instances.values(), ...this.snapshots.values()] as Array<FakeInstance | FakeSnapshot>) {
      if (item.next && --item.next.after <= 0) {
        const { apply } = item.next;
        item.next = undefined;
        apply(item as any);
      }
    }
  }

  private instance(id: string): FakeInstance {
    const found = this.instances.get(id);
    if (!found) throw new DBInstanceNotFoundFault({ message: `DBInstance ${id} not found.`, $metadata: {} });
    return found;
  }

  private available(id: string): FakeInstance {
    const found = this.instance(id);
    if (found.DBInstanceStatus !== "available") throw new InvalidDBInstanceStateFault({ message: `Instance ${id} is ${found.DBInstanceStatus}`, $metadata: {} });
    return found;
  }

  private byArn(arn: string): { TagList?: Tag[] } {
    const found = [...this.instances.values(), ...this.snapshots.values()].find((x: any) => x.DBInstanceArn === arn || x.DBSnapshotArn === arn);
    if (!found) throw new DBInstanceNotFoundFault({ message: `${arn} not found`, $metadata: {} });
    return found;
  }

  private view<T extends { data: string; next?: unknown }>(x: T): Omit<T, "data" | "next"> {
    const { data: _d, next: _n, ...rest } = x;
    return JSON.parse(JSON.stringify(rest));
  }

  /** The one-shot failure `failWhen` asks for (describes included). */
  private failIfAsked(name: string, input: any): void {
    const failure = this.failWhen?.(name, input);
    if (failure) {
      this.failWhen = undefined;
      throw failure;
    }
  }

  private guard(name: string, input: any): void {
    this.failIfAsked(name, input);
    // Like RDS: a request whose Tags name one key twice is refused as a whole.
    const keys = ((input.Tags ?? []) as Tag[]).map((t) => t.Key);
    const repeated = keys.find((k, i) => keys.indexOf(k) !== i);
    if (repeated !== undefined) throw Object.assign(new Error(`Duplicate tag key: ${repeated}`), { name: "InvalidParameterValue" });
    const named = [input.DBInstanceIdentifier, input.NewDBInstanceIdentifier, input.DBSnapshotIdentifier, input.ResourceName];
    const touchesProd = named.some((n) => n === PROD || n === arnOf("db", PROD));
    if (touchesProd && !(name === "CreateDBSnapshot" && input.DBInstanceIdentifier === PROD && input.DBSnapshotIdentifier !== PROD)) {
      throw new Error(`TEST FAKE: ${name} must never touch prod (${JSON.stringify(input)})`);
    }
  }

  /** Staging's groups are named `…-postgres<major>` (components/database.ts), of family postgres<major>. */
  private checkFamily(group: string, major: string): void {
    const family = /postgres(\d+)$/.exec(group)?.[1];
    if (family !== major) {
      throw Object.assign(new Error(`The parameter group ${group} with DBParameterGroupFamily postgres${family} can't be used for this instance. Use a parameter group with DBParameterGroupFamily postgres${major}.`), {
        name: "InvalidParameterCombination",
      });
    }
  }

  install(rds: typeof rdsStub): void {
    rds.on(DescribeDBInstancesCommand).callsFake((input: any) => {
      this.failIfAsked("DescribeDBInstances", input);
      this.tick();
      if (input.DBInstanceIdentifier) return { DBInstances: [this.view(this.instance(input.DBInstanceIdentifier))] };
      return { DBInstances: [...this.instances.values()].map((i) => this.view(i)) };
    });
    rds.on(DescribeDBSnapshotsCommand).callsFake((input: any) => {
      this.tick();
      if (input.DBSnapshotIdentifier) {
        const found = this.snapshots.get(input.DBSnapshotIdentifier);
        if (!found) throw new DBSnapshotNotFoundFault({ message: `DBSnapshot ${input.DBSnapshotIdentifier} not found.`, $metadata: {} });
        return { DBSnapshots: [this.view(found)] };
      }
      return { DBSnapshots: [...this.snapshots.values()].map((s) => this.view(s)) };
    });
    rds.on(CreateDBSnapshotCommand).callsFake((input: any) => {
      this.guard("CreateDBSnapshot", input);
      const source = this.available(input.DBInstanceIdentifier!);
      const id = input.DBSnapshotIdentifier!;
      this.snapshots.set(id, {
        DBSnapshotIdentifier: id,
        DBSnapshotArn: arnOf("snapshot", id),
        DBInstanceIdentifier: source.DBInstanceIdentifier,
        Status: "creating",
        EngineVersion: source.EngineVersion,
        Encrypted: source.StorageEncrypted,
        AllocatedStorage: 20,
        SnapshotType: "manual",
        TagList: input.Tags,
        data: source.data + (source.TagList?.some((t) => t.Key === TAG.scrub && t.Value === "verified") ? "+scrubbed" : ""),
        next: { after: 4, apply: (s) => (s.Status = "available") },
      });
      return { DBSnapshot: { DBSnapshotIdentifier: id, Status: "creating" } };
    });
    rds.on(RestoreDBInstanceFromDBSnapshotCommand).callsFake((input: any) => {
      this.guard("RestoreDBInstanceFromDBSnapshot", input);
      const snapshot = this.snapshots.get(input.DBSnapshotIdentifier!);
      if (!snapshot || snapshot.Status !== "available") throw new DBSnapshotNotFoundFault({ message: "snapshot not available", $metadata: {} });
      const id = input.DBInstanceIdentifier!;
      if (this.instances.has(id)) throw new DBInstanceAlreadyExistsFault({ message: `${id} exists`, $metadata: {} });
      const endState = this.restoreEndsIn?.(id) ?? "available";
      // Like RDS: the parameter group must be of the snapshot's engine family; without one, the
      // family's default group.
      const major = majorOf(snapshot.EngineVersion);
      if (input.DBParameterGroupName) this.checkFamily(input.DBParameterGroupName, major);
      this.addInstance(id, snapshot.data, {
        DBInstanceStatus: "creating",
        EngineVersion: snapshot.EngineVersion,
        StorageEncrypted: snapshot.Encrypted,
        PubliclyAccessible: input.PubliclyAccessible ?? true,
        MultiAZ: input.MultiAZ,
        DeletionProtection: input.DeletionProtection,
        BackupRetentionPeriod: input.BackupRetentionPeriod,
        VpcSecurityGroups: (input.VpcSecurityGroupIds ?? []).map((g: string) => ({ VpcSecurityGroupId: g, Status: "active" })),
        DBSubnetGroup: { DBSubnetGroupName: input.DBSubnetGroupName },
        DBParameterGroups: [{ DBParameterGroupName: input.DBParameterGroupName ?? `default.postgres${major}`, ParameterApplyStatus: "in-sync" }],
        TagList: input.Tags,
        next: { after: 2, apply: (i) => (i.DBInstanceStatus = endState) },
      });
      if (input.ManageMasterUserPassword) this.manage(this.instances.get(id)!);
      return { DBInstance: { DBInstanceIdentifier: id } };
    });
    rds.on(ModifyDBInstanceCommand).callsFake((input: any) => {
      this.guard("ModifyDBInstance", input);
      const instance = this.available(input.DBInstanceIdentifier!);
      if (input.NewDBInstanceIdentifier) {
        const to = input.NewDBInstanceIdentifier;
        if (this.instances.has(to)) throw new DBInstanceAlreadyExistsFault({ message: `${to} exists`, $metadata: {} });
        // Like RDS: "renaming" under the old name for a while, then under the new one, then available.
        instance.DBInstanceStatus = "renaming";
        instance.next = {
          after: 3,
          apply: (i) => {
            this.instances.delete(i.DBInstanceIdentifier!);
            Object.assign(i, { DBInstanceIdentifier: to, DBInstanceArn: arnOf("db", to), Endpoint: { Address: `${to}.abc123.${REGION}.rds.amazonaws.com`, Port: 5432 } });
            this.instances.set(to, i);
            i.next = { after: 1, apply: (j) => (j.DBInstanceStatus = "available") };
          },
        };
      }
      if (input.MasterUserPassword && instance.MasterUserSecret && input.ManageMasterUserPassword !== false) {
        throw Object.assign(new Error("You can't specify MasterUserPassword for an instance whose password RDS manages"), { name: "InvalidParameterCombination" });
      }
      if (input.ManageMasterUserPassword === false && instance.MasterUserSecret) {
        this.deletedSecrets.push(instance.MasterUserSecret.SecretArn!);
        instance.MasterUserSecret = undefined;
      }
      if (input.ManageMasterUserPassword === true && !instance.MasterUserSecret) {
        instance.DBInstanceStatus = "modifying";
        this.manage(instance);
      }
      if (input.MasterUserPassword) {
        instance.DBInstanceStatus = "resetting-master-credentials";
        instance.PendingModifiedValues = { MasterUserPassword: "****" };
        instance.next = { after: 1, apply: (i) => ((i.DBInstanceStatus = "available"), (i.PendingModifiedValues = {})) };
      }
      const group = input.DBParameterGroupName;
      if (input.EngineVersion) {
        const major = majorOf(input.EngineVersion);
        if (major !== majorOf(instance.EngineVersion) && !input.AllowMajorVersionUpgrade) {
          throw Object.assign(new Error("The AllowMajorVersionUpgrade flag must be present when upgrading to a new major version."), { name: "InvalidParameterCombination" });
        }
        if (group) this.checkFamily(group, major);
        instance.DBInstanceStatus = "upgrading";
        instance.next = {
          after: 2,
          apply: (i) => {
            i.DBInstanceStatus = "available";
            i.EngineVersion = input.EngineVersion;
            if (group) i.DBParameterGroups = [{ DBParameterGroupName: group, ParameterApplyStatus: "in-sync" }];
          },
        };
      } else if (group) {
        this.checkFamily(group, majorOf(instance.EngineVersion));
        instance.DBParameterGroups = [{ DBParameterGroupName: group, ParameterApplyStatus: "in-sync" }];
      }
      if (input.DeletionProtection !== undefined) instance.DeletionProtection = input.DeletionProtection;
      return { DBInstance: { DBInstanceIdentifier: instance.DBInstanceIdentifier } };
    });
    rds.on(DeleteDBInstanceCommand).callsFake((input: any) => {
      this.guard("DeleteDBInstance", input);
      const instance = this.instance(input.DBInstanceIdentifier!);
      if (!["available", "failed", "incompatible-parameters", "incompatible-restore"].includes(instance.DBInstanceStatus!)) this.available(instance.DBInstanceIdentifier!);
      if (instance.DeletionProtection) throw new InvalidDBInstanceStateFault({ message: "deletion protection", $metadata: {} });
      instance.DBInstanceStatus = "deleting";
      if (instance.MasterUserSecret?.SecretArn) this.deletedSecrets.push(instance.MasterUserSecret.SecretArn);
      instance.next = { after: 1, apply: (i) => this.instances.delete(i.DBInstanceIdentifier!) };
      return {};
    });
    rds.on(DeleteDBSnapshotCommand).callsFake((input: any) => {
      this.guard("DeleteDBSnapshot", input);
      const snapshot = this.snapshots.get(input.DBSnapshotIdentifier!);
      if (!snapshot) throw new DBSnapshotNotFoundFault({ message: "not found", $metadata: {} });
      this.snapshots.delete(input.DBSnapshotIdentifier!);
      return {};
    });
    rds.on(AddTagsToResourceCommand).callsFake((input: any) => {
      this.guard("AddTagsToResource", input);
      const target = this.byArn(input.ResourceName!);
      const keys = new Set(input.Tags!.map((t: Tag) => t.Key));
      target.TagList = [...(target.TagList ?? []).filter((t) => !keys.has(t.Key)), ...input.Tags!];
      return {};
    });
    rds.on(RemoveTagsFromResourceCommand).callsFake((input: any) => {
      this.guard("RemoveTagsFromResource", input);
      const target = this.byArn(input.ResourceName!);
      target.TagList = (target.TagList ?? []).filter((t) => !input.TagKeys!.includes(t.Key!));
      return {};
    });
  }
}

// ------------------------------------------------------------------------------------------------
// A small fake of the app's ECS service: task definitions by ARN, the revision the service runs, and
// deployments that end as `rollOutcome` says (SUCCESSFUL moves the service onto the new revision).

export const APP_FAMILY = "friday-staging-app";
export const tdArn = (revision: number) => `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${APP_FAMILY}:${revision}`;

class FakeService {
  readonly taskDefinitions = new Map<string, TaskDefinition>();
  current = tdArn(7);
  rollOutcome: "SUCCESSFUL" | "ROLLBACK_SUCCESSFUL" = "SUCCESSFUL";
  private deployments = new Map<string, { taskDefinition: string; status?: string }>();

  constructor() {
    this.taskDefinitions.set(tdArn(7), {
      taskDefinitionArn: tdArn(7),
      family: APP_FAMILY,
      revision: 7,
      status: "ACTIVE",
      executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/friday-staging-exec`,
      taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/friday-staging-task`,
      networkMode: "awsvpc",
      cpu: "512",
      memory: "1024",
      requiresCompatibilities: ["FARGATE"],
      containerDefinitions: [
        {
          name: "app",
          image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/friday-app@sha256:${"a".repeat(64)}`,
          secrets: [
            { name: "PGUSER", valueFrom: `${STAGING_SECRET}:username::` },
            { name: "PGPASSWORD", valueFrom: `${STAGING_SECRET}:password::` },
            { name: "API_KEY", valueFrom: API_KEY_SECRET },
          ],
        },
        { name: "appconfig-agent", image: "public.ecr.aws/aws-appconfig/aws-appconfig-agent:2.x" },
      ],
    });
  }

  /** The secret ARNs the running revision's app container reads its database credentials from. */
  databaseSecrets(arn = this.current): string[] {
    const app = this.taskDefinitions.get(arn)!.containerDefinitions![0];
    return [...new Set((app.secrets ?? []).filter((x) => x.name!.startsWith("PG")).map((x) => x.valueFrom!.split(":").slice(0, 7).join(":")))];
  }

  install(ecsStub: typeof ecs): void {
    ecsStub.on(DescribeServicesCommand).callsFake(() => ({ services: [{ status: "ACTIVE", runningCount: 1, desiredCount: 1, taskDefinition: this.current }] }));
    ecsStub.on(DescribeTaskDefinitionCommand).callsFake((input: any) => {
      const found = this.taskDefinitions.get(input.taskDefinition);
      if (!found) throw Object.assign(new Error("Unable to describe task definition."), { name: "ClientException" });
      return { taskDefinition: structuredClone(found), tags: [{ key: "friday:stack", value: "staging" }] };
    });
    ecsStub.on(RegisterTaskDefinitionCommand).callsFake((input: any) => {
      const revision = Math.max(...[...this.taskDefinitions.values()].map((t) => t.revision!)) + 1;
      const registered: TaskDefinition = { ...structuredClone(input), taskDefinitionArn: tdArn(revision), revision, status: "ACTIVE" };
      this.taskDefinitions.set(tdArn(revision), registered);
      return { taskDefinition: registered };
    });
    ecsStub.on(UpdateServiceCommand).callsFake((input: any) => {
      const arn = `arn:aws:ecs:${REGION}:${ACCOUNT}:service-deployment/friday-staging/${APP_FAMILY}/dep-${this.deployments.size + 1}`;
      this.deployments.set(arn, { taskDefinition: input.taskDefinition });
      return { service: { serviceName: APP_FAMILY, currentServiceDeployment: arn } };
    });
    ecsStub.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [] });
    ecsStub.on(DescribeServiceDeploymentsCommand).callsFake((input: any) => ({
      serviceDeployments: input.serviceDeploymentArns.map((arn: string) => {
        const d = this.deployments.get(arn)!;
        if (!d.status) {
          d.status = this.rollOutcome;
          if (d.status === "SUCCESSFUL") this.current = d.taskDefinition;
        }
        return { serviceDeploymentArn: arn, status: d.status, lifecycleStage: "CLEAN_UP", startedAt: new Date(fake.clock), finishedAt: new Date(fake.clock), rollback: d.status === "SUCCESSFUL" ? undefined : { reason: "alarm friday-staging-5xx" } };
      }),
    }));
  }
}

// ------------------------------------------------------------------------------------------------
// The harness

const rdsStub = mockClient(RDSClient);
export const rds = rdsStub;
export const ssm = mockClient(SSMClient);
export const secrets = mockClient(SecretsManagerClient);
export const sns = mockClient(SNSClient);
export const ecs = mockClient(ECSClient);
const elb = mockClient(ElasticLoadBalancingV2Client);
export const clients = { rds: new RDSClient({}), ssm: new SSMClient({}), secretsManager: new SecretsManagerClient({}), sns: new SNSClient({}), ecs: new ECSClient({}), elb: new ElasticLoadBalancingV2Client({}) };

const INITIAL_PARAMETERS: Record<string, string> = {
  [parameterName("staging", "dbInstanceIdentifier")]: STAGING,
  [parameterName("staging", "dbParameterGroupName")]: "friday-staging-db-postgres17",
  [parameterName("staging", "dbSubnetGroupName")]: "friday-staging-db-subnets",
  [parameterName("staging", "dbEngineVersion")]: "17.6",
  [parameterName("staging", "dbSecretArn")]: STAGING_SECRET,
  [parameterName("staging", "clusterName")]: "friday-staging",
  [parameterName("staging", "serviceName")]: "friday-staging-app",
  [parameterName("staging", "blueTargetGroupArn")]: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/friday-staging-blue/1`,
  [parameterName("staging", "greenTargetGroupArn")]: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/friday-staging-green/2`,
  [parameterName("staging", "notificationsTopicArn")]: TOPIC,
  [parameterName("prod", "dbInstanceIdentifier")]: PROD,
  [refreshParameterName("staging", "isolatedSecurityGroupId")]: ISOLATED_SG,
  [refreshParameterName("staging", "scrubKeySecretArn")]: KEY_SECRET,
  [refreshParameterName("staging", "retentionHours")]: "72",
  [refreshParameterName("staging", "scrubConcurrency")]: "3",
};

export const PARAMETERS: Record<string, string> = { ...INITIAL_PARAMETERS };
export const DB_SECRET_PARAMETER = parameterName("staging", "dbSecretArn");
export const LOCK_PARAMETER = refreshLockParameterName("staging");
/** PutParameter calls on the app's db-secret-arn (the run lock is written too). */
export const secretPuts = () => ssm.commandCalls(PutParameterCommand).filter((c) => c.args[0].input.Name === DB_SECRET_PARAMETER);

export const TEMP_PASSWORD = "temp-pass-Xk7Lw";

// Made afresh before each test by useFakeAws(). Tests read these through the module's live bindings
// and change them in place (`world.failWhen = …`, `calls.length = 0`); they never reassign them.
export let world: FakeRds;
export let service: FakeService;
/** What the run logged, and the database steps it called by name, in order. */
export let lines: string[];
export let calls: string[];
/**
 * The scalars a test sets: the fake clock (ms since the epoch; the run's sleep() advances it), the
 * scrub key secret's value (undefined: the secret has none yet), and whether the app's targets can
 * be healthy at all.
 */
export const fake = { clock: START, keyValue: undefined as string | undefined, healthy: true };

type MockedSteps = { [K in keyof RefreshDatabaseSteps]: jest.Mock };

export function dbSteps(overrides: Partial<MockedSteps> = {}): MockedSteps {
  const record = (name: string) => calls.push(name);
  return {
    loadRules: jest.fn(async () => (record("loadRules"), { tables: {} })),
    takeSample: jest.fn(async () => (record("takeSample"), { sample: ["alice@example.com"] })),
    scrub: jest.fn(async ({ onProgress }) => {
      record("scrub");
      onProgress({ table: "users", rows: 120 });
      onProgress({ table: "orders", rows: 300 });
      return { tables: 2 };
    }),
    verify: jest.fn(async () => (record("verify"), { ok: true, problems: [] })),
    prewarm: jest.fn(async () => (record("prewarm"), { tables: 5 })),
    ...overrides,
  } as MockedSteps;
}

export function options(overrides: Partial<RefreshOptions> = {}): RefreshOptions {
  return {
    stack: "staging",
    rulesPath: "scrub-rules.yaml",
    sleep: async (ms) => {
      fake.clock += ms;
    },
    now: () => new Date(fake.clock),
    log: (line) => lines.push(line),
    generatePassword: () => TEMP_PASSWORD,
    healthTimeoutSeconds: 600,
    ...overrides,
  };
}

/** The mutating RDS commands sent, as `Name target[→ detail]`, in order. */
export function mutations(): string[] {
  return rds
    .calls()
    .map((c) => c.args[0] as any)
    .filter((cmd) => !cmd.constructor.name.startsWith("Describe"))
    .map((cmd) => {
      const i = cmd.input;
      const name = cmd.constructor.name.replace(/Command$/, "");
      switch (name) {
        case "CreateDBSnapshot":
          return `${name} ${i.DBInstanceIdentifier} → ${i.DBSnapshotIdentifier}`;
        case "RestoreDBInstanceFromDBSnapshot":
          return `${name} ${i.DBSnapshotIdentifier} → ${i.DBInstanceIdentifier}`;
        case "ModifyDBInstance":
          return `${name} ${i.DBInstanceIdentifier} ${i.NewDBInstanceIdentifier ? `→ ${i.NewDBInstanceIdentifier}` : i.MasterUserPassword ? "password" : i.ManageMasterUserPassword ? "managed password" : i.EngineVersion ? `engine ${i.EngineVersion}` : JSON.stringify(i)}`;
        case "AddTagsToResource":
        case "RemoveTagsFromResource":
          return `${name} ${i.ResourceName.split(":").pop()} ${(i.Tags ?? i.TagKeys).map((t: any) => (typeof t === "string" ? t : `${t.Key}=${t.Key === TAG.keepUntil || t.Key === TAG.healthy ? "…" : t.Value}`)).join(",")}`;
        default:
          return `${name} ${i.DBInstanceIdentifier ?? i.DBSnapshotIdentifier}`;
      }
    });
}

export function leftovers(): string[] {
  return [...world.instances.keys(), ...world.snapshots.keys()].filter((id) => id.includes("-refresh-"));
}

export function expectStagingIntact(): void {
  const staging = world.instances.get(STAGING);
  expect(staging?.data).toBe("staging-old");
  expect(staging?.DBInstanceStatus).toBe("available");
  expect(staging?.TagList).toEqual(PULUMI_TAGS);
  expect(world.instances.has(PREVIOUS)).toBe(false);
  expect(leftovers()).toEqual([]);
  expect(world.instances.get(PROD)?.data).toBe("prod");
  // The app's credentials: SSM and the running revision still name staging's own secret.
  expect(staging?.MasterUserSecret?.SecretArn).toBe(STAGING_SECRET);
  expect(PARAMETERS[DB_SECRET_PARAMETER]).toBe(STAGING_SECRET);
  expect(service.databaseSecrets()).toEqual([STAGING_SECRET]);
  expect(world.deletedSecrets).not.toContain(STAGING_SECRET);
}

/** True when the service reads the managed secret of the instance serving under staging's name. */
export function appCanConnect(): boolean {
  const secret = world.instances.get(STAGING)?.MasterUserSecret?.SecretArn;
  return Boolean(secret) && service.databaseSecrets().length === 1 && service.databaseSecrets()[0] === secret;
}

/**
 * Installs the fakes for the tests of the calling file: before each test, fresh RDS, ECS, SSM, Secrets
 * Manager, SNS and ELB fakes with prod and staging as they are before any refresh; after each test,
 * the checks that hold whatever the test did. Call it once at the top of a test file.
 */
export function useFakeAws(): void {
  beforeEach(() => {
    for (const m of [rds, ssm, secrets, sns, ecs, elb]) m.reset();
    world = new FakeRds();
    world.install(rds);
    world.addInstance(PROD, "prod", { DBInstanceClass: "db.m7g.large", MultiAZ: true, DeletionProtection: true, VpcSecurityGroups: [{ VpcSecurityGroupId: "sg-prod-db" }] });
    world.addInstance(STAGING, "staging-old", { MasterUserSecret: { SecretArn: STAGING_SECRET, SecretStatus: "active" }, TagList: structuredClone(PULUMI_TAGS) });
    service = new FakeService();
    service.install(ecs);
    for (const key of Object.keys(PARAMETERS)) delete PARAMETERS[key];
    Object.assign(PARAMETERS, INITIAL_PARAMETERS);
    fake.clock = START;
    fake.keyValue = "k".repeat(64);
    fake.healthy = true;
    lines = [];
    calls = [];
    ssm.on(GetParametersCommand).callsFake((input: any) => ({
      Parameters: input.Names!.filter((n: string) => PARAMETERS[n] !== undefined).map((n: string) => ({ Name: n, Value: PARAMETERS[n] })),
      InvalidParameters: input.Names!.filter((n: string) => PARAMETERS[n] === undefined),
    }));
    ssm.on(PutParameterCommand).callsFake((input: any) => {
      if (input.Name === LOCK_PARAMETER) {
        if (PARAMETERS[input.Name] !== undefined && !input.Overwrite) throw new ParameterAlreadyExists({ message: "The parameter already exists.", $metadata: {} });
        PARAMETERS[input.Name] = input.Value;
        return { Version: 1 };
      }
      if (input.Name !== DB_SECRET_PARAMETER || !input.Overwrite) throw new Error(`TEST: unexpected PutParameter ${JSON.stringify(input)}`);
      PARAMETERS[input.Name] = input.Value;
      return { Version: 2 };
    });
    ssm.on(DeleteParameterCommand).callsFake((input: any) => {
      if (input.Name !== LOCK_PARAMETER) throw new Error(`TEST: unexpected DeleteParameter ${input.Name}`);
      delete PARAMETERS[input.Name];
      return {};
    });
    secrets.on(GetSecretValueCommand).callsFake((input: any) => {
      if (input.SecretId === KEY_SECRET) {
        if (fake.keyValue === undefined) throw new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT", $metadata: {} });
        return { SecretString: fake.keyValue };
      }
      throw new Error(`TEST: unexpected secret ${input.SecretId}`);
    });
    secrets.on(PutSecretValueCommand).callsFake((input: any) => {
      fake.keyValue = input.SecretString;
      return {};
    });
    sns.on(PublishCommand).resolves({ MessageId: "m-1" });
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    // Targets are healthy when the app can log in to the database under staging's name.
    elb.on(DescribeTargetHealthCommand).callsFake((input: any) =>
      input.TargetGroupArn!.includes("blue") ? { TargetHealthDescriptions: [{ TargetHealth: { State: fake.healthy && appCanConnect() ? "healthy" : "unhealthy" } }] } : { TargetHealthDescriptions: [] },
    );
  });

  // Whatever a test did: no call that modifies or deletes a prod resource was ever sent, and the only
  // secret the job touched in Secrets Manager is the scrub key (no database password is read or written).
  afterEach(() => {
    for (const call of rds.calls()) {
      const cmd = call.args[0] as any;
      const name: string = cmd.constructor.name;
      if (name.startsWith("Describe")) continue;
      const input = cmd.input;
      const targets = [input.DBInstanceIdentifier, input.NewDBInstanceIdentifier, input.DBSnapshotIdentifier, input.ResourceName].filter(Boolean);
      const readOnlySource = name === "CreateDBSnapshotCommand" ? [input.DBInstanceIdentifier] : [];
      for (const t of targets.filter((t: string) => !readOnlySource.includes(t))) {
        expect(`${name} ${t}`).not.toMatch(/friday-prod/);
        expect(`${name} ${t}`).toMatch(/friday-staging-/);
      }
      if (name === "CreateDBSnapshotCommand" && input.DBInstanceIdentifier === PROD) expect(input.DBSnapshotIdentifier).toMatch(/^friday-staging-refresh-/);
    }
    for (const call of secrets.calls()) expect((call.args[0] as any).input.SecretId).toBe(KEY_SECRET);
  });
}

/** The mutating RDS calls of a run that goes through, in order, as mutations() lists them. */
export const HAPPY_MUTATIONS = [
  `CreateDBSnapshot ${PROD} → ${NAMES.sourceSnapshot}`,
  `RestoreDBInstanceFromDBSnapshot ${NAMES.sourceSnapshot} → ${NAMES.isolated}`,
  `ModifyDBInstance ${NAMES.isolated} password`,
  `AddTagsToResource ${NAMES.isolated} ${TAG.scrub}=started`,
  `AddTagsToResource ${NAMES.isolated} ${TAG.scrub}=verified`,
  `DeleteDBSnapshot ${NAMES.sourceSnapshot}`,
  `CreateDBSnapshot ${NAMES.isolated} → ${NAMES.scrubbedSnapshot}`,
  `RestoreDBInstanceFromDBSnapshot ${NAMES.scrubbedSnapshot} → ${NAMES.replacement}`,
  `ModifyDBInstance ${NAMES.replacement} password`,
  `ModifyDBInstance ${NAMES.replacement} managed password`,
  `AddTagsToResource ${STAGING} ${TAG.replacedBy}=${RUN},${TAG.keepUntil}=…`,
  `ModifyDBInstance ${STAGING} → ${PREVIOUS}`,
  `ModifyDBInstance ${NAMES.replacement} → ${STAGING}`,
  `AddTagsToResource ${STAGING} ${TAG.healthy}=…`,
  `DeleteDBSnapshot ${NAMES.scrubbedSnapshot}`,
  `DeleteDBInstance ${NAMES.isolated}`,
];
