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
import { parameterName } from "../../infra/stack-parameters";
import { refreshLockParameterName, refreshParameterName } from "../../infra/refresh-parameters";
import { assertNotSource, mergeTags, refreshStaging, RefreshDatabaseSteps, RefreshOptions, RefreshReport, runResourceNames, TAG } from "./refresh";

// ------------------------------------------------------------------------------------------------
// A small, stateful fake of the RDS API: instances and snapshots move through their states one
// describe at a time, renames move identifiers, deletes take a poll to finish. Every mutating call
// is checked against prod here too.

const REGION = "us-east-1";
const ACCOUNT = "123456789012";
const PROD = "friday-prod-db";
const STAGING = "friday-staging-db";
const PREVIOUS = `${STAGING}-previous`;
const ISOLATED_SG = "sg-isolated";
const STAGING_DB_SG = "sg-staging-db";
const KEY_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:friday/staging/staging-refresh/scrub-key-AbCdEf`;
const STAGING_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:rds!db-staging-AbCdEf`;
/** The managed secrets the fake RDS makes when asked to manage an instance's password: 1, 2, … */
const managedSecret = (n: number) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:rds!db-managed-${n}-XyZ123`;
const NEW_SECRET = managedSecret(1);
const API_KEY_SECRET = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:friday/staging/api-key-MnOpQr`;
const TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:friday-staging-notifications`;
const START = Date.parse("2026-11-26T03:00:00Z");
const RUN = "r20261126030000";
const NAMES = runResourceNames("staging", RUN);

const arnOf = (kind: "db" | "snapshot", id: string) => `arn:aws:rds:${REGION}:${ACCOUNT}:${kind}:${id}`;
const majorOf = (version: string | undefined) => (version ?? "").split(".")[0];
/** The tags Pulumi puts on staging's instance (stacks/environment.ts, components/database.ts). */
const PULUMI_TAGS: Tag[] = [
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

const APP_FAMILY = "friday-staging-app";
const tdArn = (revision: number) => `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${APP_FAMILY}:${revision}`;

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
        return { serviceDeploymentArn: arn, status: d.status, lifecycleStage: "CLEAN_UP", startedAt: new Date(clock), finishedAt: new Date(clock), rollback: d.status === "SUCCESSFUL" ? undefined : { reason: "alarm friday-staging-5xx" } };
      }),
    }));
  }
}

// ------------------------------------------------------------------------------------------------
// The harness

const rdsStub = mockClient(RDSClient);
const rds = rdsStub;
const ssm = mockClient(SSMClient);
const secrets = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const ecs = mockClient(ECSClient);
const elb = mockClient(ElasticLoadBalancingV2Client);
const clients = { rds: new RDSClient({}), ssm: new SSMClient({}), secretsManager: new SecretsManagerClient({}), sns: new SNSClient({}), ecs: new ECSClient({}), elb: new ElasticLoadBalancingV2Client({}) };

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

const PARAMETERS: Record<string, string> = { ...INITIAL_PARAMETERS };
const DB_SECRET_PARAMETER = parameterName("staging", "dbSecretArn");
const LOCK_PARAMETER = refreshLockParameterName("staging");
/** PutParameter calls on the app's db-secret-arn (the run lock is written too). */
const secretPuts = () => ssm.commandCalls(PutParameterCommand).filter((c) => c.args[0].input.Name === DB_SECRET_PARAMETER);

const TEMP_PASSWORD = "temp-pass-Xk7Lw";

let world: FakeRds;
let service: FakeService;
let clock: number;
let keyValue: string | undefined;
let healthy: boolean;
let lines: string[];
let calls: string[];

type MockedSteps = { [K in keyof RefreshDatabaseSteps]: jest.Mock };

function dbSteps(overrides: Partial<MockedSteps> = {}): MockedSteps {
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

function options(overrides: Partial<RefreshOptions> = {}): RefreshOptions {
  return {
    stack: "staging",
    rulesPath: "scrub-rules.yaml",
    sleep: async (ms) => {
      clock += ms;
    },
    now: () => new Date(clock),
    log: (line) => lines.push(line),
    generatePassword: () => TEMP_PASSWORD,
    healthTimeoutSeconds: 600,
    ...overrides,
  };
}

/** The mutating RDS commands sent, as `Name target[→ detail]`, in order. */
function mutations(): string[] {
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

function leftovers(): string[] {
  return [...world.instances.keys(), ...world.snapshots.keys()].filter((id) => id.includes("-refresh-"));
}

function expectStagingIntact(): void {
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
function appCanConnect(): boolean {
  const secret = world.instances.get(STAGING)?.MasterUserSecret?.SecretArn;
  return Boolean(secret) && service.databaseSecrets().length === 1 && service.databaseSecrets()[0] === secret;
}

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
  clock = START;
  keyValue = "k".repeat(64);
  healthy = true;
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
      if (keyValue === undefined) throw new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT", $metadata: {} });
      return { SecretString: keyValue };
    }
    throw new Error(`TEST: unexpected secret ${input.SecretId}`);
  });
  secrets.on(PutSecretValueCommand).callsFake((input: any) => {
    keyValue = input.SecretString;
    return {};
  });
  sns.on(PublishCommand).resolves({ MessageId: "m-1" });
  ecs.on(ListTasksCommand).resolves({ taskArns: [] });
  // Targets are healthy when the app can log in to the database under staging's name.
  elb.on(DescribeTargetHealthCommand).callsFake((input: any) =>
    input.TargetGroupArn!.includes("blue") ? { TargetHealthDescriptions: [{ TargetHealth: { State: healthy && appCanConnect() ? "healthy" : "unhealthy" } }] } : { TargetHealthDescriptions: [] },
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

const HAPPY_MUTATIONS = [
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

// ------------------------------------------------------------------------------------------------

describe("refreshStaging: the happy path", () => {
  it("snapshots prod, restores in isolation, scrubs, verifies, swaps and cleans up, in that order", async () => {
    const steps = dbSteps();
    const report = await refreshStaging(clients, steps, options());

    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ ok: true, runId: RUN, resumed: false, recovery: [] });
    expect(report.steps.map((s) => s.status)).toEqual(["done", "done", "done", "done", "done", "done"]);
    expect(mutations()).toEqual(HAPPY_MUTATIONS);
    expect(calls).toEqual(["loadRules", "takeSample", "scrub", "verify", "prewarm"]);
    // The run held the lock (created only if absent) and let go of it at the end.
    expect(ssm).toHaveReceivedCommandWith(PutParameterCommand, { Name: LOCK_PARAMETER, Overwrite: false, Type: "String" });
    expect(ssm).toHaveReceivedCommandWith(DeleteParameterCommand, { Name: LOCK_PARAMETER });
    expect(PARAMETERS[LOCK_PARAMETER]).toBeUndefined();

    // The isolated instance: staging's engine, parameter and subnet groups; the isolated SG only; private.
    expect(rds).toHaveReceivedCommandWith(RestoreDBInstanceFromDBSnapshotCommand, {
      DBInstanceIdentifier: NAMES.isolated,
      DBParameterGroupName: "friday-staging-db-postgres17",
      DBSubnetGroupName: "friday-staging-db-subnets",
      VpcSecurityGroupIds: [ISOLATED_SG],
      PubliclyAccessible: false,
      BackupRetentionPeriod: 0,
    });
    // The replacement: staging's security groups; prewarmed over a temporary password, then RDS
    // manages its password in a secret of its own (nothing copied from staging's secret).
    expect(rds).toHaveReceivedCommandWith(RestoreDBInstanceFromDBSnapshotCommand, { DBInstanceIdentifier: NAMES.replacement, VpcSecurityGroupIds: [STAGING_DB_SG], PubliclyAccessible: false });
    expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, { DBInstanceIdentifier: NAMES.isolated, MasterUserPassword: TEMP_PASSWORD, ApplyImmediately: true });
    expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, { DBInstanceIdentifier: NAMES.replacement, MasterUserPassword: TEMP_PASSWORD, ApplyImmediately: true });
    expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, { DBInstanceIdentifier: NAMES.replacement, ManageMasterUserPassword: true, ApplyImmediately: true });

    // Scrub and verify ran on the isolated instance, with the key and the configured concurrency.
    const scrubInput = steps.scrub.mock.calls[0][0];
    expect(scrubInput.databaseUrl).toBe(`postgres://friday:${TEMP_PASSWORD}@${NAMES.isolated}.abc123.${REGION}.rds.amazonaws.com:5432/app?sslmode=no-verify`);
    expect(scrubInput).toMatchObject({ key: Buffer.from("k".repeat(64)), concurrency: 3, rules: { tables: {} } });
    expect(steps.verify.mock.calls[0][0]).toMatchObject({ databaseUrl: scrubInput.databaseUrl, before: { sample: ["alice@example.com"] } });
    expect(steps.prewarm.mock.calls[0][0].databaseUrl).toBe(`postgres://friday:${TEMP_PASSWORD}@${NAMES.replacement}.abc123.${REGION}.rds.amazonaws.com:5432/app?sslmode=no-verify`);

    // The result: scrubbed data under staging's name, the old one kept as -previous for 72 h, nothing else.
    expect(world.instances.get(STAGING)?.data).toBe("prod+scrubbed");
    const previous = world.instances.get(PREVIOUS)!;
    expect(previous.data).toBe("staging-old");
    const keepUntil = Date.parse(previous.TagList!.find((t) => t.Key === TAG.keepUntil)!.Value!);
    expect(keepUntil - START).toBeGreaterThanOrEqual(72 * 3600_000);
    expect(keepUntil - START).toBeLessThan(73 * 3600_000);
    expect(previous.TagList).toContainEqual({ Key: TAG.replacedBy, Value: RUN });
    expect(leftovers()).toEqual([]);
    expect(sns).not.toHaveReceivedCommand(PublishCommand);

    // Credentials follow the swap: staging's instance has its own managed secret, SSM names it, and
    // the service runs a revision of its task definition reading it; the old secret stays with -previous.
    expect(world.instances.get(STAGING)?.MasterUserSecret).toEqual({ SecretArn: NEW_SECRET, SecretStatus: "active" });
    expect(previous.MasterUserSecret?.SecretArn).toBe(STAGING_SECRET);
    expect(secretPuts()).toHaveLength(1);
    expect(ssm).toHaveReceivedCommandWith(PutParameterCommand, { Name: "/friday/staging/db-secret-arn", Value: NEW_SECRET, Type: "String", Overwrite: true });
    expect(ecs).toHaveReceivedCommandTimes(RegisterTaskDefinitionCommand, 1);
    const registered = ecs.commandCalls(RegisterTaskDefinitionCommand)[0].args[0].input;
    const before = service.taskDefinitions.get(tdArn(7))!;
    expect(registered).toMatchObject({ family: APP_FAMILY, executionRoleArn: before.executionRoleArn, taskRoleArn: before.taskRoleArn, cpu: "512", memory: "1024" });
    expect(registered.containerDefinitions![0]).toEqual({
      ...before.containerDefinitions![0],
      secrets: [
        { name: "PGUSER", valueFrom: `${NEW_SECRET}:username::` },
        { name: "PGPASSWORD", valueFrom: `${NEW_SECRET}:password::` },
        { name: "API_KEY", valueFrom: API_KEY_SECRET },
      ],
    });
    expect(registered.containerDefinitions![1]).toEqual(before.containerDefinitions![1]);
    expect(ecs).toHaveReceivedCommandWith(UpdateServiceCommand, { cluster: "friday-staging", service: APP_FAMILY, taskDefinition: tdArn(8) });
    expect(service.current).toBe(tdArn(8));
    expect(service.databaseSecrets()).toEqual([NEW_SECRET]);
    expect(appCanConnect()).toBe(true);
    // Order: the roll comes after the swap and SSM, and the health check after the roll.
    expect(report.steps[4].detail).toMatch(new RegExp(`db-secret-arn → ${NEW_SECRET.replace(/[$!]/g, "\\$&")}; service rolled onto ${tdArn(8)} \\(2 secret\\(s\\) → .*\\); service healthy`));
  });

  it("sends no password to or from Secrets Manager for the new instance (only the scrub key is touched)", async () => {
    await refreshStaging(clients, dbSteps(), options());
    expect(secrets.calls().map((c) => [(c.args[0] as any).constructor.name, (c.args[0] as any).input.SecretId])).toEqual([["GetSecretValueCommand", KEY_SECRET]]);
    // The only password the job sends anywhere is its own temporary one, to RDS, before RDS takes over.
    const passwords = rds.commandCalls(ModifyDBInstanceCommand).map((c) => c.args[0].input.MasterUserPassword).filter(Boolean);
    expect(passwords).toEqual([TEMP_PASSWORD, TEMP_PASSWORD]);
    expect(secretPuts().map((c) => c.args[0].input.Value)).toEqual([NEW_SECRET]);
  });

  it("without the roll the app would break: the old secret goes with -previous", async () => {
    // A sanity check of the fake: the new instance's password is not the old secret's.
    await refreshStaging(clients, dbSteps(), options({ retentionHours: 0 }));
    expect(world.deletedSecrets).toEqual([STAGING_SECRET]);
    expect(service.databaseSecrets()).toEqual([NEW_SECRET]);
    expect(appCanConnect()).toBe(true);
  });

  it("reports every step with its duration, progress lines and a summary, and never logs a password or the key", async () => {
    const slowScrub = jest.fn(async ({ onProgress }) => {
      onProgress({ table: "users", rows: 120 });
      onProgress({ table: "orders", rows: 300 });
      clock += 2000;
    });
    const report = await refreshStaging(clients, dbSteps({ scrub: slowScrub }), options());
    for (const step of report.steps) expect(step.durationMs).toBeGreaterThanOrEqual(0);
    for (const step of [0, 1, 3, 4]) expect(report.steps[step].durationMs).toBeGreaterThan(0); // waits on the fake clock
    expect(report.totalMs).toBe(report.steps.reduce((sum, s) => sum + s.durationMs, 0));
    expect(lines.filter((l) => /^\[\d\/6\] .*: done in /.test(l))).toHaveLength(6);
    expect(lines).toContain("  scrub: users 120 rows");
    expect(lines[lines.length - 1]).toMatch(/^staging refresh r20261126030000 succeeded in \S+ — 1:done\(\S+\) 2:done/);
    expect(report.steps[2].detail).toBe(`scrubbed 2 tables, 420 rows, 210 rows/s with 3 in parallel; verified; deleted ${NAMES.sourceSnapshot}`);
    const all = lines.join("\n") + JSON.stringify(report);
    for (const secret of [TEMP_PASSWORD, "k".repeat(64)]) expect(all).not.toContain(secret);
  });

  it("verifies the servers' certificates when given the RDS CA bundle", async () => {
    const steps = dbSteps();
    await refreshStaging(clients, steps, options({ caBundlePath: "/etc/ssl/certs/rds-global-bundle.pem" }));
    expect(steps.scrub.mock.calls[0][0].databaseUrl).toMatch(/\?sslmode=verify-full&sslrootcert=%2Fetc%2Fssl%2Fcerts%2Frds-global-bundle\.pem$/);
    expect(steps.prewarm.mock.calls[0][0].databaseUrl).toMatch(/\?sslmode=verify-full&sslrootcert=/);
  });

  it("creates the scrub key on the first run (the component makes the secret without a value)", async () => {
    keyValue = undefined;
    const steps = dbSteps();
    await refreshStaging(clients, steps, options());
    expect(secrets).toHaveReceivedCommandTimes(PutSecretValueCommand, 1);
    expect(keyValue).toMatch(/^[0-9a-f]{64}$/);
    expect(steps.scrub.mock.calls[0][0].key).toEqual(Buffer.from(keyValue!));
  });

  it("reads the key as `friday staging scrub` does (a {\"key\": …} JSON secret gives the same pseudonyms)", async () => {
    keyValue = JSON.stringify({ key: "j".repeat(64) });
    const steps = dbSteps();
    await refreshStaging(clients, steps, options());
    expect(steps.scrub.mock.calls[0][0].key).toEqual(Buffer.from("j".repeat(64)));
    expect(secrets).toHaveReceivedCommandTimes(PutSecretValueCommand, 0);
  });

  it("gives the replacement staging's Pulumi tags once each, the run's own tags winning (RDS refuses a repeated key)", async () => {
    // Staging carries friday:stack from Pulumi, and the run sets it too; a stale run tag is not copied.
    world.instances.get(STAGING)!.TagList!.push({ Key: TAG.run, Value: "r20261119030000" });
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.error).toBeUndefined();
    const restore = rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand).find((c) => c.args[0].input.DBInstanceIdentifier === NAMES.replacement)!;
    expect(restore.args[0].input.Tags).toEqual([...PULUMI_TAGS, { Key: TAG.run, Value: RUN }, { Key: TAG.role, Value: "replacement" }]);
  });

  it("mergeTags keeps one tag per key, the later list's value winning", () => {
    expect(mergeTags([{ Key: "a", Value: "1" }, { Key: "b", Value: "2" }], undefined, [{ Key: "a", Value: "3" }, { Key: "c", Value: "4" }])).toEqual([
      { Key: "a", Value: "3" },
      { Key: "b", Value: "2" },
      { Key: "c", Value: "4" },
    ]);
  });

  it("restores prod's older major without staging's parameter group (another family), then upgrades it onto staging's", async () => {
    world.instances.get(PROD)!.EngineVersion = "16.8";
    let atScrub: { version?: string; groups?: unknown } = {};
    const steps = dbSteps({
      scrub: jest.fn(async () => {
        const isolated = world.instances.get(NAMES.isolated)!;
        atScrub = { version: isolated.EngineVersion, groups: isolated.DBParameterGroups?.map((g) => g.DBParameterGroupName) };
        return { tables: 0 };
      }),
    });
    const report = await refreshStaging(clients, steps, options());
    expect(report.error).toBeUndefined();
    expect(report.ok).toBe(true);
    const restore = rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand).find((c) => c.args[0].input.DBInstanceIdentifier === NAMES.isolated)!;
    expect(restore.args[0].input).not.toHaveProperty("DBParameterGroupName");
    expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, { DBInstanceIdentifier: NAMES.isolated, EngineVersion: "17.6", AllowMajorVersionUpgrade: true, DBParameterGroupName: "friday-staging-db-postgres17" });
    expect(report.steps[1].detail).toMatch(/upgraded 16\.8 → 17\.6$/);
    // The scrub ran on staging's engine and parameter group; the replacement got staging's group at restore.
    expect(atScrub).toEqual({ version: "17.6", groups: ["friday-staging-db-postgres17"] });
    expect(rds).toHaveReceivedCommandWith(RestoreDBInstanceFromDBSnapshotCommand, { DBInstanceIdentifier: NAMES.replacement, DBParameterGroupName: "friday-staging-db-postgres17" });
  });

  it("upgrades the isolated instance to staging's engine version when prod is behind", async () => {
    world.instances.get(PROD)!.EngineVersion = "17.5";
    await refreshStaging(clients, dbSteps(), options());
    expect(mutations()).toContain(`ModifyDBInstance ${NAMES.isolated} engine 17.6`);
    expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, { DBInstanceIdentifier: NAMES.isolated, EngineVersion: "17.6", AllowMajorVersionUpgrade: false });
    expect(mutations().indexOf(`ModifyDBInstance ${NAMES.isolated} engine 17.6`)).toBeLessThan(mutations().indexOf(`ModifyDBInstance ${NAMES.isolated} password`));
  });

  it("deletes an older -previous before swapping, and keeps the new one for the retention", async () => {
    world.addInstance(PREVIOUS, "staging-older", { TagList: [{ Key: TAG.replacedBy, Value: "r20261119030000" }, { Key: TAG.keepUntil, Value: "2026-11-22T03:00:00.000Z" }] });
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.ok).toBe(true);
    const m = mutations();
    expect(m.indexOf(`DeleteDBInstance ${PREVIOUS}`)).toBeLessThan(m.indexOf(`ModifyDBInstance ${STAGING} → ${PREVIOUS}`));
    expect(world.instances.get(PREVIOUS)?.data).toBe("staging-old");
  });

  it("--prune deletes only an expired -previous (and copies nothing)", async () => {
    world.addInstance(PREVIOUS, "staging-older", { DeletionProtection: true, TagList: [{ Key: TAG.keepUntil, Value: "2026-11-26T02:00:00.000Z" }] });
    const report = await refreshStaging(clients, dbSteps(), options({ pruneOnly: true }));
    expect(report.ok).toBe(true);
    expect(mutations()).toEqual([`ModifyDBInstance ${PREVIOUS} {"DBInstanceIdentifier":"${PREVIOUS}","DeletionProtection":false,"ApplyImmediately":true}`, `DeleteDBInstance ${PREVIOUS}`]);
    expect(world.instances.has(PREVIOUS)).toBe(false);

    rds.resetHistory();
    world.addInstance(PREVIOUS, "staging-older", { TagList: [{ Key: TAG.keepUntil, Value: "2026-11-27T02:00:00.000Z" }] });
    await refreshStaging(clients, dbSteps(), options({ pruneOnly: true }));
    expect(mutations()).toEqual([]);
  });

  it("--prune keeps an expired -previous while a swap is half-way (nothing under staging's name)", async () => {
    world.addInstance(PREVIOUS, "staging-older", { TagList: [{ Key: TAG.replacedBy, Value: "r20261119030000" }, { Key: TAG.keepUntil, Value: "2026-11-26T02:00:00.000Z" }] });
    world.instances.delete(STAGING);
    const report = await refreshStaging(clients, dbSteps(), options({ pruneOnly: true }));
    expect(report.ok).toBe(true);
    expect(report.steps[5].detail).toBe(`${PREVIOUS} kept: nothing is named "${STAGING}" (a swap is half-way; finish it with a run without --prune)`);
    expect(mutations()).toEqual([]);
  });

  it("a retention of 0 deletes the previous instance at the end of the run", async () => {
    const report = await refreshStaging(clients, dbSteps(), options({ retentionHours: 0 }));
    expect(report.ok).toBe(true);
    expect(mutations().slice(-1)).toEqual([`DeleteDBInstance ${PREVIOUS}`]);
    expect(world.instances.has(PREVIOUS)).toBe(false);
  });
});

// ------------------------------------------------------------------------------------------------

describe("refreshStaging: bad input fails before anything changes", () => {
  const cases: Array<[string, () => void, Partial<RefreshOptions>, RegExp]> = [
    ["--stack prod", () => {}, { stack: "prod" }, /--stack prod: the refresh replaces staging's database.*never writes to prod/],
    ["an unknown stack", () => {}, { stack: "qa" }, /--stack qa: friday's stacks are "staging" and "prod"/],
    ["missing SSM parameters", () => delete PARAMETERS[refreshParameterName("staging", "isolatedSecurityGroupId")], {}, /SSM parameters missing: \/friday\/staging\/staging-refresh\/isolated-security-group-id/],
    ["an unencrypted prod", () => (world.instances.get(PROD)!.StorageEncrypted = false), {}, /"friday-prod-db" is not encrypted at rest/],
    ["prod ahead of staging", () => (world.instances.get(PROD)!.EngineVersion = "17.7"), {}, /prod runs PostgreSQL 17.7, newer than staging's 17.6: upgrade staging first/],
    ["a bad retention", () => {}, { retentionHours: -1 }, /retention hours is -1: use 0..840/],
    ["a bad concurrency", () => {}, { concurrency: 0 }, /scrub concurrency is 0: use an integer 1..32/],
  ];
  const saved = { ...PARAMETERS };
  afterEach(() => Object.assign(PARAMETERS, saved));

  it("another run in progress (a running task of the job)", async () => {
    const task = `arn:aws:ecs:${REGION}:${ACCOUNT}:task/friday-staging/abc`;
    ecs.on(ListTasksCommand).resolves({ taskArns: [task] });
    await expect(refreshStaging(clients, dbSteps(), options())).rejects.toThrow(`another staging refresh is running (${task}): wait for it to finish`);
    expect(ecs).toHaveReceivedCommandWith(ListTasksCommand, { cluster: "friday-staging", family: "friday-staging-staging-refresh", desiredStatus: "RUNNING" });
    expect(mutations()).toEqual([]);
    // Inside the job's own task, that one running task is this run.
    const report = await refreshStaging(clients, dbSteps(), options({ insideTask: true }));
    expect(report.ok).toBe(true);
  });

  it("another run in progress from a laptop (its lock), which the job's task list cannot see; an expired lock is taken over", async () => {
    const lock = { holder: "laptop:4242:abcd", kind: "cli", since: "2026-11-26T02:00:00.000Z", until: new Date(clock + 3600_000).toISOString() };
    PARAMETERS[LOCK_PARAMETER] = JSON.stringify(lock);
    await expect(refreshStaging(clients, dbSteps(), options())).rejects.toThrow(
      `another staging refresh is running (laptop:4242:abcd, since 2026-11-26T02:00:00.000Z): wait for it to finish, then run again — it resumes where that one stops. If none is running (it was killed), delete the lock: aws ssm delete-parameter --name ${LOCK_PARAMETER}`,
    );
    expect(mutations()).toEqual([]);
    expect(JSON.parse(PARAMETERS[LOCK_PARAMETER]!)).toEqual(lock);
    PARAMETERS[LOCK_PARAMETER] = JSON.stringify({ ...lock, until: new Date(clock - 1).toISOString() });
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.ok).toBe(true);
    expect(lines.join("\n")).toContain("taking over the lock of laptop:4242:abcd (since 2026-11-26T02:00:00.000Z): expired");
    expect(PARAMETERS[LOCK_PARAMETER]).toBeUndefined();
  });

  it.each(cases)("%s", async (_label, arrange, overrides, message) => {
    arrange();
    await expect(refreshStaging(clients, dbSteps(), options(overrides))).rejects.toThrow(message);
    expect(mutations()).toEqual([]);
    expect(calls).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------------------

describe("refreshStaging: a failure at each step leaves staging serving and deletes the temporaries", () => {
  const boom = (message: string) => Object.assign(new Error(message), { name: "InternalFailure" });
  const cases: Array<[number, string, (steps: Record<string, jest.Mock>) => void, RegExp]> = [
    [1, "prod's snapshot cannot be taken", () => (world.failWhen = (n, i) => (n === "CreateDBSnapshot" && i.DBInstanceIdentifier === PROD ? boom("SnapshotQuotaExceeded") : undefined)), /step 1 \(snapshot prod\) failed: SnapshotQuotaExceeded/],
    [2, "the isolated restore fails", () => (world.failWhen = (n, i) => (n === "RestoreDBInstanceFromDBSnapshot" && i.DBInstanceIdentifier === NAMES.isolated ? boom("InsufficientDBInstanceCapacity") : undefined)), /step 2 .* InsufficientDBInstanceCapacity/],
    [2, "the isolated instance ends incompatible", () => (world.restoreEndsIn = (id) => (id === NAMES.isolated ? "incompatible-parameters" : undefined)), /step 2 .* is in state "incompatible-parameters"/],
    [3, "the scrub fails closed on an unclassified column", (s) => s.scrub.mockRejectedValueOnce(new Error(`unclassified column users.nickname (connecting with postgres://friday:${TEMP_PASSWORD}@host/app)`)), /step 3 \(scrub and verify\) failed: unclassified column users.nickname/],
    [3, "verify finds a leak", (s) => s.verify.mockResolvedValueOnce({ ok: false, problems: ["users.email: 3 values outside the masking domain"] }), /step 3 .* verify found 1 problem\(s\): users.email: 3 values outside the masking domain/],
    [4, "the scrubbed snapshot cannot be taken", () => (world.failWhen = (n, i) => (n === "CreateDBSnapshot" && i.DBInstanceIdentifier === NAMES.isolated ? boom("SnapshotQuotaExceeded") : undefined)), /step 4 .* SnapshotQuotaExceeded/],
    [4, "the replacement restore fails", () => (world.failWhen = (n, i) => (n === "RestoreDBInstanceFromDBSnapshot" && i.DBInstanceIdentifier === NAMES.replacement ? boom("StorageQuotaExceeded") : undefined)), /step 4 .* StorageQuotaExceeded/],
    [5, "renaming the old staging database fails", () => (world.failWhen = (n, i) => (n === "ModifyDBInstance" && i.NewDBInstanceIdentifier === PREVIOUS ? boom("InvalidDBInstanceState") : undefined)), /step 5 .* InvalidDBInstanceState/],
    [5, "renaming the replacement to staging's name fails", () => (world.failWhen = (n, i) => (n === "ModifyDBInstance" && i.NewDBInstanceIdentifier === STAGING ? boom("Throttling") : undefined)), /step 5 .* Throttling/],
    [4, "prewarm fails", (s) => s.prewarm.mockRejectedValueOnce(new Error("connection refused")), /step 4 .* connection refused/],
    [4, "the replacement's managed secret is never active", () => (world.failWhen = (n, i) => (n === "ModifyDBInstance" && i.ManageMasterUserPassword ? boom("KMSKeyNotAccessibleFault") : undefined)), /step 4 .* KMSKeyNotAccessibleFault/],
    [5, "the service is unhealthy on the new database", () => (healthy = false), /step 5 .* the staging service did not become healthy on the new database \(1\/1 tasks running, 0 healthy and 1 unhealthy targets\)/],
    [5, "the roll onto the new secret fails (ECS rolls it back)", () => (service.rollOutcome = "ROLLBACK_SUCCESSFUL"), /step 5 .* rolling friday-staging-app onto .*rds!db-managed-1-XyZ123 failed: Deployment FAILED: ECS rolled it back/],
    [5, "SSM cannot be updated", () => ssm.on(PutParameterCommand, { Name: DB_SECRET_PARAMETER }).rejectsOnce(Object.assign(new Error("AccessDeniedException: not authorized to perform ssm:PutParameter"), { name: "AccessDeniedException" })), /step 5 .* not authorized to perform ssm:PutParameter/],
  ];

  it.each(cases)("step %i: %s", async (step, _label, arrange, message) => {
    const steps = dbSteps();
    arrange(steps);
    const report = await refreshStaging(clients, steps, options());

    expect(report.ok).toBe(false);
    expect(report.error).toMatch(message);
    expect(report.steps[step - 1].status).toBe("failed");
    expect(report.steps.slice(step).every((s) => s.status === "not run")).toBe(true);
    expectStagingIntact();
    expect(report.notified).toBe(true);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    const published = sns.commandCalls(PublishCommand)[0].args[0].input;
    expect(published).toMatchObject({ TopicArn: TOPIC, Subject: "friday: staging refresh failed (staging)" });
    expect(published.Message).toContain(`step ${step}`);
    expect(published.Message).toContain("Staging keeps serving its previous data. Runbook");
    expect(published.Message + JSON.stringify(report) + lines.join("\n")).not.toContain(TEMP_PASSWORD);
    expect(lines).toContainEqual(expect.stringMatching(/^STAGING REFRESH FAILED: step \d/));
  });

  it("step 5: after the swap, an unhealthy service gets the old database back under staging's name", async () => {
    healthy = false;
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(mutations().slice(13)).toEqual([
      `ModifyDBInstance ${STAGING} → ${NAMES.replacement}`,
      `ModifyDBInstance ${PREVIOUS} → ${STAGING}`,
      `RemoveTagsFromResource ${STAGING} ${TAG.replacedBy},${TAG.keepUntil}`,
      `DeleteDBSnapshot ${NAMES.scrubbedSnapshot}`,
      `DeleteDBInstance ${NAMES.isolated}`,
      `DeleteDBInstance ${NAMES.replacement}`,
    ]);
    expect(report.recovery.slice(0, 4)).toEqual([
      `moved the replacement back to ${NAMES.replacement}`,
      `put the previous staging database back as ${STAGING}`,
      `put /friday/staging/db-secret-arn back to ${STAGING_SECRET}`,
      `rolled the service back onto ${tdArn(9)} (2 secret(s) → ${STAGING_SECRET})`,
    ]);
    // The service had been rolled onto the new secret (revision 8) and is back on one reading the old (9).
    expect(secretPuts().map((c) => c.args[0].input.Value)).toEqual([NEW_SECRET, STAGING_SECRET]);
    expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input.taskDefinition)).toEqual([tdArn(8), tdArn(9)]);
    expect(service.current).toBe(tdArn(9));
    // …before the replacement (and with it its secret) was deleted.
    expect(world.deletedSecrets).toEqual([NEW_SECRET]);
  });

  it("step 5: a failed roll swaps back and puts SSM back; the service never left the old secret", async () => {
    service.rollOutcome = "ROLLBACK_SUCCESSFUL";
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.ok).toBe(false);
    expect(report.steps[4].detail).toMatch(/rolling friday-staging-app onto .* failed: Deployment FAILED: ECS rolled it back .*alarm friday-staging-5xx/);
    expect(report.recovery).toContain(`put /friday/staging/db-secret-arn back to ${STAGING_SECRET}`);
    expect(report.recovery.some((line) => line.startsWith("rolled the service back"))).toBe(false);
    expect(ecs).toHaveReceivedCommandTimes(UpdateServiceCommand, 1);
    expect(service.current).toBe(tdArn(7));
    expectStagingIntact();
  });

  it("step 5: a roll that cannot start because a deploy is in flight swaps back too", async () => {
    ecs.on(ListServiceDeploymentsCommand).resolves({ serviceDeployments: [{ serviceDeploymentArn: "arn:aws:ecs:us-east-1:123456789012:service-deployment/friday-staging/friday-staging-app/pipeline", status: "IN_PROGRESS" }] });
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.error).toMatch(/step 5 .* A deployment is already in flight on staging/);
    expect(ecs).not.toHaveReceivedCommand(RegisterTaskDefinitionCommand);
    expectStagingIntact();
  });

  it("step 6: a cleanup failure keeps the new (healthy) staging database and leaves the rest to the next run", async () => {
    world.failWhen = (n, i) => (n === "DeleteDBInstance" && i.DBInstanceIdentifier === NAMES.isolated ? boom("Throttling") : undefined);
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.ok).toBe(false);
    expect(report.steps[5].status).toBe("failed");
    expect(report.steps[5].detail).toBe(`deleted ${NAMES.scrubbedSnapshot}; could not delete ${NAMES.isolated} (Throttling)`);
    expect(world.instances.get(STAGING)?.data).toBe("prod+scrubbed");
    expect(leftovers()).toEqual([NAMES.isolated]);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);

    // The next run finds the leftover and finishes the job.
    rds.resetHistory();
    const next = await refreshStaging(clients, dbSteps(), options());
    expect(next).toMatchObject({ ok: true, resumed: true, runId: RUN });
    expect(next.steps[4].detail).toMatch(/^skipped: swapped, credentials moved and healthy since /);
    expect(mutations()).toEqual([`DeleteDBInstance ${NAMES.isolated}`]);
    expect(leftovers()).toEqual([]);
  });

  it("step 6: a snapshot that cannot be deleted in the cleanup is tried again by the recovery", async () => {
    world.failWhen = (n, i) => (n === "DeleteDBSnapshot" && i.DBSnapshotIdentifier === NAMES.scrubbedSnapshot ? boom("Throttling") : undefined);
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.steps[5].detail).toBe(`deleted ${NAMES.isolated}; could not delete ${NAMES.scrubbedSnapshot} (Throttling)`);
    expect(report.recovery.slice(1)).toEqual([`deleted ${NAMES.scrubbedSnapshot}`]);
    expect(world.instances.get(STAGING)?.data).toBe("prod+scrubbed");
    expect(leftovers()).toEqual([]);
  });

  it.each([
    [4, () => (world.failWhen = (n, i) => (n === "RestoreDBInstanceFromDBSnapshot" && i.DBInstanceIdentifier === NAMES.replacement ? boom("StorageQuotaExceeded") : undefined))],
    [5, () => (healthy = false)],
    [6, () => {}],
  ])("step %i: a failure leaves no copy of prod's unscrubbed data, even when the isolated instance cannot be deleted", async (step, arrange) => {
    rds.on(DeleteDBInstanceCommand, { DBInstanceIdentifier: NAMES.isolated }).rejects(boom("InvalidDBInstanceState"));
    arrange();
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.steps[step - 1].status).toBe("failed");
    expect(world.snapshots.has(NAMES.sourceSnapshot)).toBe(false);
    // The snapshots go first, and the other deletions are not skipped: only the stuck instance is left.
    expect(leftovers()).toEqual([NAMES.isolated]);
    expect(world.instances.get(STAGING)?.data).toBe(step === 6 ? "prod+scrubbed" : "staging-old");
  });

  it("a failing instance deletion still deletes the snapshots, prod's unscrubbed one before anything else", async () => {
    rds.on(DeleteDBInstanceCommand, { DBInstanceIdentifier: NAMES.isolated }).rejects(boom("InvalidDBInstanceState"));
    const steps = dbSteps();
    steps.verify.mockResolvedValueOnce({ ok: false, problems: ["users.email: 3 values outside the masking domain"] });
    const report = await refreshStaging(clients, steps, options());
    expect(report.steps[2].status).toBe("failed");
    expect(mutations().slice(4)).toEqual([`DeleteDBSnapshot ${NAMES.sourceSnapshot}`, `DeleteDBInstance ${NAMES.isolated}`]);
    expect(leftovers()).toEqual([NAMES.isolated]);
    expect(report.recovery[0]).toMatch(new RegExp(`^recovery stopped: deleted ${NAMES.sourceSnapshot}; could not delete ${NAMES.isolated} \\(InvalidDBInstanceState\\)`));
  });

  it("step 6: the notification says staging serves the new data (and where the previous one is)", async () => {
    world.failWhen = (n, i) => (n === "DeleteDBInstance" && i.DBInstanceIdentifier === NAMES.isolated ? boom("Throttling") : undefined);
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.steps[5].status).toBe("failed");
    const message = sns.commandCalls(PublishCommand)[0].args[0].input.Message!;
    expect(message).toContain(`Staging serves the NEW (scrubbed) data of run ${RUN}; the previous database is kept as "${PREVIOUS}"`);
    expect(message).toContain("Run `friday staging refresh --stack staging` again to delete what is left of the run.");
    expect(message).not.toContain("keeps serving its previous data");
  });

  it("a recovery that stops with nothing under staging's name says staging may be down and what to run", async () => {
    healthy = false;
    // Undoing the swap: the replacement moves back to -new, then putting -previous back fails.
    world.failWhen = (n, i) => (n === "ModifyDBInstance" && i.DBInstanceIdentifier === PREVIOUS && i.NewDBInstanceIdentifier === STAGING ? boom("Throttling") : undefined);
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.recovery[report.recovery.length - 1]).toMatch(/^recovery stopped: Throttling/);
    expect(world.instances.has(STAGING)).toBe(false);
    const message = sns.commandCalls(PublishCommand)[0].args[0].input.Message!;
    expect(message).toContain(`Nothing is named "${STAGING}" after the recovery stopped part-way: STAGING MAY BE DOWN. The previous database is "${PREVIOUS}".`);
    expect(message).toContain(`Run \`friday staging refresh --stack staging\` to resume run ${RUN}`);
    expect(message).not.toContain("keeps serving");

    // Doing what it says: the rerun resumes the run and finishes its swap.
    healthy = true;
    const next = await refreshStaging(clients, dbSteps(), options());
    expect(next).toMatchObject({ ok: true, resumed: true, runId: RUN });
    expect(world.instances.get(STAGING)?.data).toBe("prod+scrubbed");
    expect(appCanConnect()).toBe(true);
    expect(leftovers()).toEqual([]);
  });

  it("a failure of the notification itself is reported, not thrown", async () => {
    sns.on(PublishCommand).rejects(new Error("AuthorizationError"));
    const steps = dbSteps();
    steps.verify.mockResolvedValueOnce({ ok: false, problems: ["leak"] });
    const report = await refreshStaging(clients, steps, options());
    expect(report).toMatchObject({ ok: false, notified: false });
    expectStagingIntact();
  });
});

// ------------------------------------------------------------------------------------------------

describe("refreshStaging: resume after a crash", () => {
  /**
   * Starts a run of the scheduled job task whose process "dies" (stops forever) the first time
   * `when()` holds during a wait; its run lock stays behind, as a killed task's would.
   */
  async function crashedRun(when: () => boolean, steps = dbSteps()): Promise<void> {
    let dead = false;
    void refreshStaging(
      clients,
      steps,
      options({
        insideTask: true,
        sleep: async (ms) => {
          if (dead || when()) {
            dead = true;
            return new Promise<void>(() => {});
          }
          clock += ms;
        },
      }),
    );
    for (let i = 0; i < 1000 && !dead; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(dead).toBe(true);
    clock += 3600_000; // the next scheduled (or manual) run comes an hour later
  }

  it("picks up after the replacement restore started: nothing is snapshotted, restored or scrubbed twice", async () => {
    await crashedRun(() => world.instances.get(NAMES.replacement)?.DBInstanceStatus === "creating");
    rds.resetHistory();
    calls = [];
    const steps = dbSteps();
    const report = await refreshStaging(clients, steps, options());

    expect(report).toMatchObject({ ok: true, resumed: true, runId: RUN });
    expect(report.steps.map((s) => s.status)).toEqual(["skipped", "skipped", "skipped", "done", "done", "done"]);
    expect(mutations()).toEqual(HAPPY_MUTATIONS.slice(8));
    expect(calls).toEqual(["prewarm"]);
    expect(lines).toContain(`staging refresh ${RUN} (resuming an unfinished run): ${PROD} → ${STAGING}`);
    expect(world.instances.get(STAGING)?.data).toBe("prod+scrubbed");
    expect(leftovers()).toEqual([]);
  });

  it("restores the isolated instance again when the crash came half-way through the scrub", async () => {
    const first = dbSteps({ scrub: jest.fn(() => new Promise(() => {})) as any });
    let dead = false;
    void refreshStaging(clients, first, options({ insideTask: true }));
    for (let i = 0; i < 1000 && !dead; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      dead = first.scrub.mock.calls.length > 0;
    }
    expect(world.instances.get(NAMES.isolated)?.TagList).toContainEqual({ Key: TAG.scrub, Value: "started" });
    rds.resetHistory();
    calls = [];
    const report = await refreshStaging(clients, dbSteps(), options());

    expect(report).toMatchObject({ ok: true, resumed: true });
    expect(mutations().slice(0, 5)).toEqual([
      `DeleteDBInstance ${NAMES.isolated}`,
      `RestoreDBInstanceFromDBSnapshot ${NAMES.sourceSnapshot} → ${NAMES.isolated}`,
      `ModifyDBInstance ${NAMES.isolated} password`,
      `AddTagsToResource ${NAMES.isolated} ${TAG.scrub}=started`,
      `AddTagsToResource ${NAMES.isolated} ${TAG.scrub}=verified`,
    ]);
    expect(mutations()).not.toContain(`CreateDBSnapshot ${PROD} → ${NAMES.sourceSnapshot}`);
    expect(calls).toEqual(["loadRules", "takeSample", "scrub", "verify", "prewarm"]);
    expect(world.instances.get(STAGING)?.data).toBe("prod+scrubbed");
    expect(leftovers()).toEqual([]);
  });

  it("finishes a half-done swap (staging's name free, the old instance already -previous)", async () => {
    await crashedRun(() => world.instances.has(PREVIOUS) && !world.instances.has(STAGING) && world.instances.get(NAMES.replacement)?.DBInstanceStatus === "renaming");
    expect(world.instances.has(STAGING)).toBe(false);
    rds.resetHistory();
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report).toMatchObject({ ok: true, resumed: true, runId: RUN });
    // The rename was already sent: the resumed run waits for it instead of sending it again.
    expect(mutations()).toEqual(HAPPY_MUTATIONS.slice(13));
    expect(world.instances.get(STAGING)?.data).toBe("prod+scrubbed");
    expect(world.instances.get(PREVIOUS)?.data).toBe("staging-old");
  });

  it("renames the replacement when the crash came between the two renames", async () => {
    const old = world.instances.get(STAGING)!;
    world.instances.delete(STAGING);
    world.addInstance(PREVIOUS, "staging-old", { MasterUserSecret: old.MasterUserSecret, TagList: [...old.TagList!, { Key: TAG.replacedBy, Value: RUN }, { Key: TAG.keepUntil, Value: "2026-11-29T03:00:00.000Z" }] });
    world.addInstance(NAMES.replacement, "prod+scrubbed", { MasterUserSecret: { SecretArn: NEW_SECRET, SecretStatus: "active" }, TagList: [{ Key: "Name", Value: STAGING }, { Key: TAG.run, Value: RUN }, { Key: TAG.role, Value: "replacement" }] });
    world.addInstance(NAMES.isolated, "prod+scrubbed", { VpcSecurityGroups: [{ VpcSecurityGroupId: ISOLATED_SG }], TagList: [{ Key: TAG.run, Value: RUN }, { Key: TAG.scrub, Value: "verified" }] });
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ ok: true, resumed: true, runId: RUN });
    expect(mutations()).toEqual([`ModifyDBInstance ${NAMES.replacement} → ${STAGING}`, `AddTagsToResource ${STAGING} ${TAG.healthy}=…`, `DeleteDBInstance ${NAMES.isolated}`]);
    expect(world.instances.get(STAGING)?.data).toBe("prod+scrubbed");
    expect(PARAMETERS[DB_SECRET_PARAMETER]).toBe(NEW_SECRET);
    expect(service.databaseSecrets()).toEqual([NEW_SECRET]);
    expect(leftovers()).toEqual([]);
  });

  it("a run that crashed after moving SSM but before the roll rolls the service on resume (SSM not written again)", async () => {
    // The process dies in the roll's first call (DescribeServices never answers), right after PutParameter.
    let dead = false;
    ecs.on(DescribeServicesCommand).callsFake(() => ((dead = true), new Promise(() => {})));
    void refreshStaging(clients, dbSteps(), options({ insideTask: true }));
    for (let i = 0; i < 5000 && !dead; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(dead).toBe(true);
    expect(PARAMETERS[DB_SECRET_PARAMETER]).toBe(NEW_SECRET);
    expect(service.databaseSecrets()).toEqual([STAGING_SECRET]);
    service.install(ecs);
    clock += 3600_000;
    ssm.resetHistory();
    rds.resetHistory();
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report).toMatchObject({ ok: true, resumed: true, runId: RUN });
    expect(secretPuts()).toHaveLength(0);
    expect(service.databaseSecrets()).toEqual([NEW_SECRET]);
    expect(appCanConnect()).toBe(true);
    expect(leftovers()).toEqual([]);
  });

  it("puts staging back when the resumed half-done swap fails", async () => {
    await crashedRun(() => world.instances.has(PREVIOUS) && !world.instances.has(STAGING) && world.instances.get(NAMES.replacement)?.DBInstanceStatus === "renaming");
    healthy = false;
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report.ok).toBe(false);
    expectStagingIntact();
  });

  it("a run resumed after its verify needs no -source: prod's snapshot is gone and the scrubbed instance is used", async () => {
    await crashedRun(() => world.snapshots.get(NAMES.scrubbedSnapshot)?.Status === "creating");
    expect(world.snapshots.has(NAMES.sourceSnapshot)).toBe(false);
    rds.resetHistory();
    calls = [];
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report).toMatchObject({ ok: true, resumed: true, runId: RUN });
    expect(report.steps.map((s) => s.status)).toEqual(["skipped", "skipped", "skipped", "done", "done", "done"]);
    expect(mutations()).toEqual(HAPPY_MUTATIONS.slice(7));
    expect(calls).toEqual(["prewarm"]);
    expect(world.instances.get(STAGING)?.data).toBe("prod+scrubbed");
  });

  it("a run that stopped between its verify and deleting prod's snapshot deletes it first on resume", async () => {
    world.snapshots.set(NAMES.sourceSnapshot, { DBSnapshotIdentifier: NAMES.sourceSnapshot, DBSnapshotArn: arnOf("snapshot", NAMES.sourceSnapshot), Status: "available", EngineVersion: "17.6", Encrypted: true, SnapshotType: "manual", data: "prod" });
    world.addInstance(NAMES.isolated, "prod+scrubbed", { VpcSecurityGroups: [{ VpcSecurityGroupId: ISOLATED_SG }], TagList: [{ Key: TAG.run, Value: RUN }, { Key: TAG.scrub, Value: "verified" }] });
    const report = await refreshStaging(clients, dbSteps(), options());
    expect(report).toMatchObject({ ok: true, resumed: true, runId: RUN });
    expect(report.steps[2].detail).toBe(`skipped: already scrubbed and verified; deleted ${NAMES.sourceSnapshot}`);
    expect(mutations().slice(0, 2)).toEqual([`DeleteDBSnapshot ${NAMES.sourceSnapshot}`, `CreateDBSnapshot ${NAMES.isolated} → ${NAMES.scrubbedSnapshot}`]);
    expect(leftovers()).toEqual([]);
  });

  /** Options whose run fails at `step`: the first describe of staging's instance in that step throws. */
  function failingAt(step: number): RefreshOptions {
    return options({
      log: (line) => {
        lines.push(line);
        if (line.startsWith(`[${step}/6] `) && line.endsWith(" …")) {
          world.failWhen = (n, i) => (n === "DescribeDBInstances" && i.DBInstanceIdentifier === STAGING ? Object.assign(new Error("Rate exceeded"), { name: "Throttling" }) : undefined);
        }
      },
    });
  }

  it.each([1, 4, 5])("a resumed run failing at step %i keeps a swap that passed its health check (the app keeps its secret)", async (step) => {
    // Run A swaps, moves the credentials, passes the health check, then fails to clean up.
    world.failWhen = (n, i) => (n === "DeleteDBInstance" && i.DBInstanceIdentifier === NAMES.isolated ? Object.assign(new Error("Throttling"), { name: "Throttling" }) : undefined);
    const first = await refreshStaging(clients, dbSteps(), options());
    expect(first.steps[5].status).toBe("failed");
    expect(appCanConnect()).toBe(true);
    clock += 3600_000;
    sns.resetHistory();

    // The next run resumes A (its isolated instance is left) and fails before step 6.
    const report = await refreshStaging(clients, dbSteps(), failingAt(step));
    expect(report).toMatchObject({ ok: false, resumed: true, runId: RUN });
    expect(report.error).toMatch(new RegExp(`^step ${step} \\(.*\\) failed: Rate exceeded`));
    expect(report.recovery[0]).toBe(`kept the new staging database (it passed its health check before this attempt); run \`friday staging refresh --stack staging\` again to delete what is left of run ${RUN}`);
    expect(world.instances.get(STAGING)?.data).toBe("prod+scrubbed");
    expect(world.instances.get(PREVIOUS)?.data).toBe("staging-old");
    expect(PARAMETERS[DB_SECRET_PARAMETER]).toBe(NEW_SECRET);
    expect(world.deletedSecrets).not.toContain(NEW_SECRET);
    expect(appCanConnect()).toBe(true);
    expect(sns.commandCalls(PublishCommand)[0].args[0].input.Message).toContain(`Staging serves the NEW (scrubbed) data of run ${RUN}`);
  });

  it("a resumed run that undoes a swap whose credentials moved in an earlier attempt puts them back", async () => {
    // Run A dies in the health check, after SSM and the service moved onto the new secret.
    await crashedRun(() => service.current === tdArn(8));
    expect(PARAMETERS[DB_SECRET_PARAMETER]).toBe(NEW_SECRET);
    expect(world.instances.get(STAGING)?.TagList?.some((t) => t.Key === TAG.healthy)).toBe(false);

    const report = await refreshStaging(clients, dbSteps(), failingAt(1));
    expect(report).toMatchObject({ ok: false, resumed: true, runId: RUN });
    expect(report.recovery.slice(0, 4)).toEqual([
      `moved the replacement back to ${NAMES.replacement}`,
      `put the previous staging database back as ${STAGING}`,
      `put /friday/staging/db-secret-arn back to ${STAGING_SECRET}`,
      `rolled the service back onto ${tdArn(9)} (2 secret(s) → ${STAGING_SECRET})`,
    ]);
    expectStagingIntact();
    expect(world.deletedSecrets).toEqual([NEW_SECRET]);
  });

  it("--fresh deletes an unfinished run's leftovers and starts over", async () => {
    await crashedRun(() => world.instances.get(NAMES.replacement)?.DBInstanceStatus === "creating");
    rds.resetHistory();
    const report = await refreshStaging(clients, dbSteps(), options({ fresh: true }));
    expect(report).toMatchObject({ ok: true, resumed: false });
    expect(report.runId).not.toBe(RUN);
    const m = mutations();
    // (The crashed run had deleted prod's snapshot after its verify; its scrubbed snapshot goes first.)
    expect(m.slice(0, 3)).toEqual([`DeleteDBSnapshot ${NAMES.scrubbedSnapshot}`, `DeleteDBInstance ${NAMES.isolated}`, `DeleteDBInstance ${NAMES.replacement}`]);
    expect(m[3]).toMatch(new RegExp(`^CreateDBSnapshot ${PROD} → friday-staging-refresh-${report.runId}-source$`));
    expect(leftovers()).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------------------

describe("assertNotSource (the orchestrator's own guard on every mutating call)", () => {
  const check = (command: string, input: object) => () => assertNotSource(command, input, PROD, arnOf("db", PROD), "staging");

  it("lets CreateDBSnapshot read prod into a staging-named snapshot", () => {
    expect(check("CreateDBSnapshotCommand", { DBInstanceIdentifier: PROD, DBSnapshotIdentifier: NAMES.sourceSnapshot })).not.toThrow();
  });

  it.each([
    ["ModifyDBInstanceCommand", { DBInstanceIdentifier: PROD, MasterUserPassword: "x" }],
    ["DeleteDBInstanceCommand", { DBInstanceIdentifier: PROD }],
    ["AddTagsToResourceCommand", { ResourceName: arnOf("db", PROD), Tags: [] }],
    ["ModifyDBInstanceCommand", { DBInstanceIdentifier: STAGING, NewDBInstanceIdentifier: PROD }],
    ["CreateDBSnapshotCommand", { DBInstanceIdentifier: PROD, DBSnapshotIdentifier: "prod-manual" }],
    ["DeleteDBSnapshotCommand", { DBSnapshotIdentifier: "rds:friday-prod-db-2026-11-25" }],
  ])("refuses %s %j", (command, input) => {
    expect(check(command, input)).toThrow(/refusing .* the refresh only changes resources named "friday-staging-…", never friday-prod-db/);
  });
});

export type { RefreshReport };
