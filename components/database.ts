import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { engineMajorVersion } from "../infra/parity";

export interface DatabaseArgs {
  /** DB instance identifier, e.g. "friday-prod-db" (scripts find it by this name). */
  readonly identifier: string;
  /** VPC the database lives in. */
  readonly vpcId: pulumi.Input<string>;
  /** Private subnets (at least two AZs); the instance is never public. */
  readonly privateSubnetIds: pulumi.Input<string>[];
  /** Security groups allowed to connect on the database port (the service's, the pipeline's migration job, …). */
  readonly clientSecurityGroupIds: pulumi.Input<string>[];
  /**
   * Engine version to ask RDS for, e.g. "17.6": PARITY's minimum or the newer version the instance
   * already runs (infra/engine-version.ts), so a minor upgrade RDS forced is never asked back down.
   */
  readonly engineVersion: string;
  /** Parameter-group family matching the engine's major, e.g. "postgres17" (parity-locked). */
  readonly parameterGroupFamily: string;
  /** Parameter-group settings (parity-locked). */
  readonly parameters: Readonly<Record<string, string>>;
  /** Port (parity-locked). @default 5432 */
  readonly port?: number;
  /** Initial database name. */
  readonly databaseName: string;
  /** Master user name; its password is generated and rotated by RDS in Secrets Manager. */
  readonly masterUsername: string;
  /** Instance class, e.g. "db.t4g.medium". */
  readonly instanceClass: string;
  /** Standby in a second AZ. @default false */
  readonly multiAz?: boolean;
  /** Initial storage (GiB, gp3). */
  readonly allocatedStorageGb: number;
  /** Storage autoscaling ceiling (GiB). @default no autoscaling */
  readonly maxAllocatedStorageGb?: number;
  /** Days of automated backups (1-35). */
  readonly backupRetentionDays: number;
  /** Refuse deletion until this is turned off. */
  readonly deletionProtection: boolean;
  /** Take a final snapshot on deletion. */
  readonly finalSnapshot: boolean;
  /** Performance Insights retention (days: 7 or a multiple of 31). @default 7 */
  readonly performanceInsightsRetentionDays?: number;
  /** Tags for every resource. */
  readonly tags?: Record<string, string>;
}

/** Parameters PostgreSQL reads only at start: RDS applies them at the next reboot. */
const STATIC_PARAMETERS = new Set(["shared_preload_libraries", "max_connections", "rds.logical_replication"]);

export function validateDatabaseArgs(name: string, args: DatabaseArgs): void {
  if (!args.instanceClass.startsWith("db.")) {
    throw new Error(`Database "${name}": instanceClass must start with "db." (got "${args.instanceClass}").`);
  }
  const major = engineMajorVersion(args.engineVersion);
  if (args.parameterGroupFamily !== `postgres${major}`) {
    throw new Error(`Database "${name}": parameterGroupFamily must be "postgres${major}" for engine ${args.engineVersion} (got "${args.parameterGroupFamily}").`);
  }
  if (args.privateSubnetIds.length < 2) {
    throw new Error(`Database "${name}": privateSubnetIds needs subnets in at least 2 AZs (got ${args.privateSubnetIds.length}); RDS requires it.`);
  }
  if (args.maxAllocatedStorageGb !== undefined && args.maxAllocatedStorageGb < args.allocatedStorageGb) {
    throw new Error(`Database "${name}": maxAllocatedStorageGb (${args.maxAllocatedStorageGb}) must be at least allocatedStorageGb (${args.allocatedStorageGb}).`);
  }
}

/**
 * RDS for PostgreSQL in private subnets: encrypted, never public, master password managed by RDS in
 * Secrets Manager, a parameter group that logs lock waits and slow statements, automated backups,
 * Performance Insights, and deletion protection / final snapshot where the stack says so.
 */
export class Database extends pulumi.ComponentResource {
  public readonly instance: aws.rds.Instance;
  public readonly securityGroup: aws.ec2.SecurityGroup;
  public readonly parameterGroup: aws.rds.ParameterGroup;
  public readonly subnetGroup: aws.rds.SubnetGroup;
  /** ARN of the RDS-managed master secret (JSON with `username` and `password`). */
  public readonly secretArn: pulumi.Output<string>;
  public readonly port: number;
  private readonly componentName: string;

  constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("friday:data:Database", name, {}, opts);
    validateDatabaseArgs(name, args);
    const tags = args.tags ?? {};
    const port = args.port ?? 5432;

    this.securityGroup = new aws.ec2.SecurityGroup(`${name}-sg`, {
      vpcId: args.vpcId,
      description: `PostgreSQL ${args.identifier}: reachable only from its client security groups`,
      tags: { ...tags, Name: `${args.identifier}-sg` },
    }, { parent: this });
    this.port = port;
    this.componentName = name;
    args.clientSecurityGroupIds.forEach((securityGroupId, i) => this.allowClient(`client-${i}`, securityGroupId));
    this.subnetGroup = new aws.rds.SubnetGroup(`${name}-subnets`, {
      name: `${args.identifier}-subnets`,
      subnetIds: args.privateSubnetIds,
      tags,
    }, { parent: this });
    this.parameterGroup = new aws.rds.ParameterGroup(`${name}-params`, {
      name: `${args.identifier}-${args.parameterGroupFamily}`,
      family: args.parameterGroupFamily,
      description: `friday ${args.identifier}: lock waits and slow statements logged`,
      parameters: Object.entries(args.parameters).map(([parameterName, value]) => ({
        name: parameterName,
        value,
        applyMethod: STATIC_PARAMETERS.has(parameterName) ? "pending-reboot" : "immediate",
      })),
      tags,
    }, { parent: this });

    this.instance = new aws.rds.Instance(`${name}-instance`, {
      identifier: args.identifier,
      engine: "postgres",
      engineVersion: args.engineVersion,
      // Upgrades are a reviewed change, staging first (raising PARITY's minimum). RDS still upgrades a
      // minor by itself at the end of its standard support; engineVersion then follows it (never down).
      autoMinorVersionUpgrade: false,
      instanceClass: args.instanceClass,
      dbName: args.databaseName,
      username: args.masterUsername,
      manageMasterUserPassword: true,
      port,
      multiAz: args.multiAz ?? false,
      storageType: "gp3",
      allocatedStorage: args.allocatedStorageGb,
      maxAllocatedStorage: args.maxAllocatedStorageGb,
      storageEncrypted: true,
      publiclyAccessible: false,
      dbSubnetGroupName: this.subnetGroup.name,
      vpcSecurityGroupIds: [this.securityGroup.id],
      parameterGroupName: this.parameterGroup.name,
      backupRetentionPeriod: args.backupRetentionDays,
      backupWindow: "03:00-04:00",
      maintenanceWindow: "sun:04:30-sun:05:30",
      copyTagsToSnapshot: true,
      deletionProtection: args.deletionProtection,
      skipFinalSnapshot: !args.finalSnapshot,
      finalSnapshotIdentifier: args.finalSnapshot ? `${args.identifier}-final` : undefined,
      performanceInsightsEnabled: true,
      performanceInsightsRetentionPeriod: args.performanceInsightsRetentionDays ?? 7,
      enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
      iamDatabaseAuthenticationEnabled: false,
      tags: { ...tags, Name: args.identifier },
    }, { parent: this });
    this.secretArn = this.instance.masterUserSecrets.apply((secrets) => {
      const arn = secrets?.[0]?.secretArn;
      if (!arn) throw new Error(`Database "${name}": RDS returned no managed master secret; manageMasterUserPassword must stay on.`);
      return arn;
    });
    this.registerOutputs({ instanceArn: this.instance.arn, address: this.instance.address, secretArn: this.secretArn });
  }

  /** Lets one more security group (a migration job, the staging refresh) connect on the database port. */
  public allowClient(clientName: string, securityGroupId: pulumi.Input<string>): aws.vpc.SecurityGroupIngressRule {
    return new aws.vpc.SecurityGroupIngressRule(`${this.componentName}-allow-${clientName}`, {
      securityGroupId: this.securityGroup.id,
      referencedSecurityGroupId: securityGroupId,
      ipProtocol: "tcp",
      fromPort: this.port,
      toPort: this.port,
      description: `PostgreSQL from ${clientName}`,
    }, { parent: this });
  }
}
