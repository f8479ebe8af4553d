import { PARITY } from "../../infra/parity";
import { stackResourcePrefix } from "../../infra/naming";
import type { OfflineRun, RecordedResource } from "./offline-program";

/**
 * Compares two offline runs (staging and prod) resource by resource, after normalising the stack
 * name out of names and values. What differs must be a per-stack knob; everything else is parity.
 */

export interface ResourceDifference {
  /** `type name` with the stack normalised to `<stack>`. */
  readonly resource: string;
  readonly type: string;
  /** Dotted path of the differing input, e.g. `instanceClass` or `deploymentConfiguration.bakeTimeInMinutes`. */
  readonly path: string;
  readonly staging: unknown;
  readonly prod: unknown;
  /** Both resources' inputs, normalised (for checks on the list element a path is in). */
  readonly inputs: { readonly staging: unknown; readonly prod: unknown };
}

export interface StackDiff {
  /** Resources that by design exist in one stack only (ONE_SIDED), as `type name`. */
  readonly prodOnlyByDesign: string[];
  readonly stagingOnlyByDesign: string[];
  /** Resources only one stack has (e.g. prod's second NAT gateway), as `type name`. */
  readonly onlyInStaging: string[];
  readonly onlyInProd: string[];
  readonly differences: ResourceDifference[];
}

/** One input of one named resource that may differ between the stacks, and why. */
export interface AllowedDifference {
  /** `type name` with the stack normalised (as in ResourceDifference.resource). */
  readonly resource: string;
  /** Input paths that may differ (a nested value under one differs too); `[]` stands for an array index. */
  readonly paths: string[];
  /** For `[]` paths: which array elements may differ — the element must pass in both stacks. */
  readonly element?: (element: any) => boolean;
  /** The per-stack setting behind the difference. */
  readonly why: string;
}

/** A resource of the environment by type and by its logical name after `friday-<stack>-`. */
const named = (type: string, suffix: string) => `${type} ${stackResourcePrefix("<stack>")}${suffix}`;
const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const ALARM_THRESHOLD = ["threshold", "alarmDescription", "evaluationPeriods", "datapointsToAlarm"];

/**
 * The per-stack knobs, by named resource and input path: a difference anywhere else — another
 * resource of the same type, another input, another element of the same list — is a parity
 * violation. Resources that only one stack has are listed in ONE_SIDED_RESOURCES.
 */
export const PER_STACK_KNOBS: readonly AllowedDifference[] = [
  {
    resource: named("aws:rds/instance:Instance", "db-instance"),
    paths: ["instanceClass", "multiAz", "allocatedStorage", "maxAllocatedStorage", "backupRetentionPeriod", "deletionProtection", "skipFinalSnapshot", "finalSnapshotIdentifier", "performanceInsightsRetentionPeriod"],
    why: "friday:database",
  },
  { resource: named("aws:ecs/taskDefinition:TaskDefinition", "service-task"), paths: ["cpu", "memory"], why: "friday:service cpu, memory" },
  { resource: named("aws:ecs/service:Service", "service-service"), paths: ["desiredCount", "deploymentConfiguration.bakeTimeInMinutes"], why: "friday:service.desiredCount, friday:deploy.bakeTimeMinutes" },
  { resource: named("aws:appautoscaling/target:Target", "service-scaling-target"), paths: ["minCapacity", "maxCapacity"], why: "friday:service minCount, maxCount" },
  { resource: named("aws:appautoscaling/policy:Policy", "service-cpu-scaling"), paths: ["targetTrackingScalingPolicyConfiguration.targetValue"], why: "friday:service.cpuTargetPercent" },
  { resource: named("aws:cloudwatch/logGroup:LogGroup", "service-logs"), paths: ["retentionInDays"], why: "friday:service.logRetentionDays" },
  { resource: named("aws:cloudwatch/logGroup:LogGroup", "deploy-hook-logs"), paths: ["retentionInDays"], why: "friday:service.logRetentionDays" },
  ...PARITY.alarmSet.map((key) => ({ resource: named(ALARM, `alarms-${key}`), paths: ALARM_THRESHOLD, why: "friday:alarms" })),
  {
    resource: named("aws:lambda/function:Function", "deploy-hook-fn"),
    paths: ["environment.variables.ALARM_WATCH_MINUTES", "environment.variables.SMOKE_TIMEOUT_SECONDS", "timeout"],
    why: "friday:deploy alarmWatchMinutes, smokeTestTimeoutSeconds",
  },
  {
    // The ALB's test listener admits the NAT gateways' IPs, one per NAT: that rule's sources only.
    resource: named("aws:ec2/securityGroup:SecurityGroup", "lb-sg"),
    paths: ["ingress[].cidrBlocks"],
    element: (rule) => rule?.fromPort === PARITY.service.testListenerPort && rule?.toPort === PARITY.service.testListenerPort,
    why: "friday:network.natGateways (the test listener's sources)",
  },
  {
    // With one NAT, both private route tables point at it; with two, the second AZ's at its own.
    resource: named("aws:ec2/routeTable:RouteTable", "network-private-rt-1"),
    paths: ["routes[].natGatewayId"],
    element: (route) => route?.cidrBlock === "0.0.0.0/0",
    why: "friday:network.natGateways",
  },
];

/** Resources that only one stack has because of a per-stack count (prod's second NAT gateway and its address). */
export const ONE_SIDED_RESOURCES: readonly string[] = [
  named("aws:ec2/natGateway:NatGateway", "network-nat-1"),
  named("aws:ec2/eip:Eip", "network-nat-eip-1"),
];

/**
 * What only one stack composes: prod reads staging (a StackReference) and owns the pipeline;
 * staging owns the scheduled refresh from prod and the CLI image it runs. Resources of these
 * types, under these components, or under a component of this name suffix may exist on one side only.
 */
export const ONE_SIDED: { readonly prod: string[]; readonly staging: string[] } = {
  prod: ["pulumi:pulumi:StackReference", "friday:delivery:Pipeline"],
  staging: ["friday:data:StagingRefresh", "-ops-image"],
};

const STACK_NAME = /\b(staging|prod)\b/g;

function normalise(value: unknown): unknown {
  if (typeof value === "string") {
    // Pulumi-style JSON strings (policies, container definitions) are compared as structures.
    if (/^[[{]/.test(value)) {
      try {
        return normalise(JSON.parse(value));
      } catch {
        /* not JSON */
      }
    }
    return value.replace(STACK_NAME, "<stack>");
  }
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).filter(([k]) => k !== "__defaults").map(([k, v]) => [k, normalise(v)]));
  }
  return value;
}

/**
 * Leaf values by dotted path. Lists of objects (security-group rules, routes, containers) are
 * walked by index, so a difference names the one element that differs; lists of plain values
 * (CIDR blocks, ids) are leaves.
 */
function flatten(value: unknown, prefix: string, into: Map<string, unknown>): void {
  const walk = Array.isArray(value) ? value.some((v) => v && typeof v === "object") : Boolean(value && typeof value === "object");
  if (walk) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, into);
    return;
  }
  into.set(prefix, value);
}

export function isOneSided(resource: RecordedResource, side: keyof typeof ONE_SIDED): boolean {
  return ONE_SIDED[side].some((token) =>
    token.startsWith("-") ? resource.name.endsWith(token) || (resource.parent ?? "").endsWith(token) : resource.type === token || (resource.parent ?? "").includes(token));
}

export function resourceKey(resource: RecordedResource): string {
  return `${resource.type} ${resource.name.replace(STACK_NAME, "<stack>")}`;
}

export function diffStacks(staging: OfflineRun, prod: OfflineRun): StackDiff {
  const index = (run: OfflineRun, side: keyof typeof ONE_SIDED) =>
    new Map(run.resources.filter((r) => r.custom && !isOneSided(r, side)).map((r) => [resourceKey(r), r]));
  const s = index(staging, "staging");
  const p = index(prod, "prod");
  const differences: ResourceDifference[] = [];
  for (const [key, stagingResource] of s) {
    const prodResource = p.get(key);
    if (!prodResource) continue;
    const a = new Map<string, unknown>();
    const b = new Map<string, unknown>();
    const inputs = { staging: normalise(stagingResource.inputs), prod: normalise(prodResource.inputs) };
    flatten(inputs.staging, "", a);
    flatten(inputs.prod, "", b);
    for (const path of new Set([...a.keys(), ...b.keys()])) {
      if (JSON.stringify(a.get(path)) !== JSON.stringify(b.get(path))) {
        const difference = { resource: key, type: stagingResource.type, path, staging: a.get(path), prod: b.get(path) } as ResourceDifference;
        // Not enumerable: `friday plan --json` prints the differences, not every input twice over.
        differences.push(Object.defineProperty(difference, "inputs", { value: inputs, enumerable: false }));
      }
    }
  }
  const byDesign = (run: OfflineRun, side: keyof typeof ONE_SIDED) =>
    run.resources.filter((r) => r.custom && isOneSided(r, side)).map(resourceKey);
  return {
    prodOnlyByDesign: byDesign(prod, "prod"),
    stagingOnlyByDesign: byDesign(staging, "staging"),
    onlyInStaging: [...s.keys()].filter((k) => !p.has(k)),
    onlyInProd: [...p.keys()].filter((k) => !s.has(k)),
    differences,
  };
}

/** Differences (and one-sided resources) that are not per-stack knobs: parity violations. */
export function parityViolations(diff: StackDiff): string[] {
  const allowedPath = (d: ResourceDifference) => PER_STACK_KNOBS.some((knob) => knob.resource === d.resource && knob.paths.some((p) => allows(knob, p, d)));
  const allowedOneSided = (key: string) => ONE_SIDED_RESOURCES.includes(key);
  return [
    ...diff.differences.filter((d) => !allowedPath(d)).map((d) => `${d.resource}: ${d.path} differs (staging ${JSON.stringify(d.staging)}, prod ${JSON.stringify(d.prod)})`),
    ...diff.onlyInStaging.filter((k) => !allowedOneSided(k)).map((k) => `${k}: only in staging`),
    ...diff.onlyInProd.filter((k) => !allowedOneSided(k)).map((k) => `${k}: only in prod`),
  ];
}

/** Whether `pattern` (a dotted path, with at most one `[]` for an array index) covers the difference `d`. */
function allows(knob: AllowedDifference, pattern: string, d: ResourceDifference): boolean {
  const [head, tail] = pattern.split("[]");
  if (tail === undefined) return d.path === pattern || d.path.startsWith(`${pattern}.`);
  const escape = (text: string) => text.replace(/[.*+?^${}()|\\]/g, "\\$&");
  const match = new RegExp(`^${escape(head)}\\.(\\d+)${escape(tail)}(\\..+)?$`).exec(d.path);
  if (!match || !knob.element) return false;
  // The element the difference is in must be one the knob names, in both stacks.
  const element = `${head}.${match[1]}`;
  return knob.element(valueAt(d.inputs.staging, element)) && knob.element(valueAt(d.inputs.prod, element));
}

function valueAt(root: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), root);
}

/** The difference table, one row per differing setting. */
export function formatDiffTable(diff: StackDiff): string {
  const rows = [
    ["resource", "setting", "staging", "prod"],
    ...diff.differences.map((d) => [d.resource, d.path, JSON.stringify(d.staging) ?? "-", JSON.stringify(d.prod) ?? "-"]),
    ...diff.onlyInStaging.map((k) => [k, "(exists)", "yes", "no"]),
    ...diff.onlyInProd.map((k) => [k, "(exists)", "no", "yes"]),
  ];
  const widths = rows[0].map((_, i) => Math.min(60, Math.max(...rows.map((r) => r[i].length))));
  const cut = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  return rows.map((r, i) => r.map((c, j) => cut(c, widths[j])).join("  ") + (i === 0 ? `\n${widths.map((w) => "-".repeat(w)).join("  ")}` : "")).join("\n");
}
