/**
 * Scripted breakages the suite must catch (issue 15), one or more per point. Each replaces `find`
 * (which must occur exactly once in `file`) with `replace` and names the tests expected to fail.
 */
export interface Mutant {
  readonly id: string;
  /** The point it guards. */
  readonly point: string;
  readonly description: string;
  readonly file: string;
  readonly find: string;
  readonly replace: string;
  /** Test files (paths relative to the repository root) that must catch it. */
  readonly tests: string[];
  /** Only the tests whose name matches (a regular expression), to keep the run short. */
  readonly testNamePattern?: string;
}

const PROD_ONLY_SSH = '...(args.tags?.["friday:stack"] === "prod" ? [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"], description: "SSH" }] : [])';
const KNOBS = ["stacks/knobs.test.ts"];
const PARITY = { tests: ["stacks/environment.test.ts"], testNamePattern: "parity between staging and prod" };

export const MUTANTS: readonly Mutant[] = [
  {
    id: "alarm-thresholds-hard-coded",
    point: "(a)",
    description: "the 5xx-rate alarm threshold hard-coded (5 %) in components/alarms.ts, ignoring the stack files",
    file: "components/alarms.ts",
    find: "threshold: t.http5xxRatePercent,\n",
    replace: "threshold: 5,\n",
    tests: KNOBS,
  },
  {
    id: "latency-threshold-hard-coded",
    point: "(a)",
    description: "the p99 latency threshold hard-coded (2 s)",
    file: "components/alarms.ts",
    find: "threshold: t.p99LatencyMs / 1000,",
    replace: "threshold: 2,",
    tests: KNOBS,
  },
  {
    id: "prod-ssh-on-service-sg",
    point: "(b) / 2",
    description: "SSH from 0.0.0.0/0 on prod's service security group only",
    file: "components/blue-green-service.ts",
    find: 'description: "From the ALB" }],',
    replace: `description: "From the ALB" }, ${PROD_ONLY_SSH}],`,
    ...PARITY,
  },
  {
    id: "prod-ssh-on-alb-sg",
    point: "2",
    description: "SSH from 0.0.0.0/0 on prod's ALB security group, beside the test-listener rule the allow-list names",
    file: "components/load-balancer.ts",
    find: '(the lifecycle hook) only",\n        },\n',
    replace: `(the lifecycle hook) only",\n        },\n        ${PROD_ONLY_SSH},\n`,
    ...PARITY,
  },
  {
    id: "free-storage-in-gib",
    point: "1",
    description: "the free-storage alarm threshold left in GiB (CloudWatch reports bytes)",
    file: "components/alarms.ts",
    find: "threshold: t.dbFreeStorageGb * 1024 ** 3,",
    replace: "threshold: t.dbFreeStorageGb,",
    tests: KNOBS,
  },
  {
    id: "min-capacity-from-desired",
    point: "1",
    description: "auto scaling's minimum read from the neighbouring knob (desiredCount)",
    file: "components/blue-green-service.ts",
    find: "minCapacity: args.minCount,",
    replace: "minCapacity: args.desiredCount,",
    tests: KNOBS,
  },
  {
    id: "refresh-timezone-hard-coded",
    point: "1",
    description: "the staging refresh schedule's time zone hard-coded to UTC",
    file: "components/staging-refresh.ts",
    find: "scheduleExpressionTimezone: args.settings.timezone,",
    replace: 'scheduleExpressionTimezone: "UTC",',
    tests: KNOBS,
  },
  {
    id: "database-class-refusal-dropped",
    point: "3",
    description: "validateDatabaseArgs no longer refuses an instance class without db.",
    file: "components/database.ts",
    find: 'if (!args.instanceClass.startsWith("db.")) {',
    replace: "if (false) {",
    tests: ["components/database.test.ts"],
  },
  {
    id: "secret-env-refusal-narrowed",
    point: "3",
    description: "validateBlueGreenServiceArgs lets SECRET and TOKEN variables through as plain environment",
    file: "components/blue-green-service.ts",
    find: "if (/PASSWORD|SECRET|TOKEN/i.test(key)) {",
    replace: "if (/PASSWORD/i.test(key)) {",
    tests: ["components/blue-green-service.test.ts"],
  },
  {
    id: "nat-upper-bound-dropped",
    point: "3",
    description: "validateNetworkArgs accepts more NAT gateways than AZs",
    file: "components/network.ts",
    find: "nat < 1 || nat > args.azCount)",
    replace: "nat < 1)",
    tests: ["components/network.test.ts"],
  },
  {
    id: "hook-runtime-literal",
    point: "4",
    description: "the deploy hook's runtime written as a literal other than the bundle's target",
    file: "components/deploy-hook.ts",
    find: "runtime: DEPLOY_HOOK_RUNTIME,",
    replace: 'runtime: "nodejs22.x",',
    tests: ["stacks/environment.test.ts"],
    testNamePattern: "runs ECS native blue/green",
  },
  {
    id: "pipeline-default-drifts",
    point: "4",
    description: "the pipeline's alarm-watch default written again in the component (10) instead of taken from the schema (5)",
    file: "components/pipeline.ts",
    find: "alarmWatchMinutes: Math.max(1, SETTING_DEFAULTS.deploy.alarmWatchMinutes),",
    replace: "alarmWatchMinutes: 10,",
    tests: ["components/pipeline.test.ts"],
  },
  {
    id: "component-imports-scripts",
    point: "5",
    description: "a component imports from scripts/",
    file: "components/alarms.ts",
    find: 'import * as pulumi from "@pulumi/pulumi";\n',
    replace: 'import * as pulumi from "@pulumi/pulumi";\nimport type { StackDiff } from "../scripts/lib/stack-diff";\nexport type Unused = StackDiff;\n',
    tests: ["components/boundaries.test.ts"],
  },
  {
    id: "refresh-log-group-named-by-hand",
    point: "5",
    description: "the refresh job's log group named by hand instead of by infra/naming.ts",
    file: "components/staging-refresh.ts",
    find: "name: refreshPath(args.stack),",
    replace: "name: `/friday/${args.stack}/refresh`,",
    tests: KNOBS,
  },
];
