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

/**
 * The per-stack knobs: `type` + input path prefixes allowed to differ, and resource types whose
 * count may differ. A difference outside this list fails the parity test.
 */
export const PER_STACK_KNOBS: { readonly inputs: Record<string, string[]>; readonly countMayDiffer: string[] } = {
  inputs: {
    "aws:rds/instance:Instance": ["instanceClass", "multiAz", "allocatedStorage", "maxAllocatedStorage", "backupRetentionPeriod", "deletionProtection", "skipFinalSnapshot", "finalSnapshotIdentifier", "performanceInsightsRetentionPeriod"],
    "aws:ecs/taskDefinition:TaskDefinition": ["cpu", "memory"],
    "aws:ecs/service:Service": ["desiredCount", "deploymentConfiguration.bakeTimeInMinutes"],
    "aws:appautoscaling/target:Target": ["minCapacity", "maxCapacity"],
    "aws:appautoscaling/policy:Policy": ["targetTrackingScalingPolicyConfiguration.targetValue"],
    "aws:cloudwatch/logGroup:LogGroup": ["retentionInDays"],
    "aws:cloudwatch/metricAlarm:MetricAlarm": ["threshold", "evaluationPeriods", "datapointsToAlarm", "alarmDescription"],
    "aws:lambda/function:Function": ["environment.variables.ALARM_WATCH_MINUTES", "environment.variables.SMOKE_TIMEOUT_SECONDS", "timeout"],
    // The ALB's test listener admits the NAT gateways' IPs, one per NAT.
    "aws:ec2/securityGroup:SecurityGroup": ["ingress"],
    // With one NAT, both private route tables point at it; with two, each at its own.
    "aws:ec2/routeTable:RouteTable": ["routes"],
  },
  countMayDiffer: ["aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip"],
};

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

function flatten(value: unknown, prefix: string, into: Map<string, unknown>): void {
  if (value && typeof value === "object" && !Array.isArray(value)) {
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
    flatten(normalise(stagingResource.inputs), "", a);
    flatten(normalise(prodResource.inputs), "", b);
    for (const path of new Set([...a.keys(), ...b.keys()])) {
      if (JSON.stringify(a.get(path)) !== JSON.stringify(b.get(path))) {
        differences.push({ resource: key, type: stagingResource.type, path, staging: a.get(path), prod: b.get(path) });
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
  const allowedPath = (d: ResourceDifference) => (PER_STACK_KNOBS.inputs[d.type] ?? []).some((p) => d.path === p || d.path.startsWith(`${p}.`));
  const allowedOneSided = (key: string) => PER_STACK_KNOBS.countMayDiffer.some((t) => key.startsWith(`${t} `));
  return [
    ...diff.differences.filter((d) => !allowedPath(d)).map((d) => `${d.resource}: ${d.path} differs (staging ${JSON.stringify(d.staging)}, prod ${JSON.stringify(d.prod)})`),
    ...diff.onlyInStaging.filter((k) => !allowedOneSided(k)).map((k) => `${k}: only in staging`),
    ...diff.onlyInProd.filter((k) => !allowedOneSided(k)).map((k) => `${k}: only in prod`),
  ];
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
