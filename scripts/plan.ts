import type { Command } from "commander";
import { runOffline, type OfflineRun, type RecordedResource } from "./lib/offline-program";
import { mermaidDiagram } from "./lib/mermaid";
import { validateStackName } from "./deploy/stack";
import { diffStacks, formatDiffTable, type StackDiff } from "./lib/stack-diff";

/** Settings worth a glance per resource type in the plan table. */
const KEY_SETTINGS: Record<string, string[]> = {
  "aws:ec2/vpc:Vpc": ["cidrBlock"],
  "aws:ec2/subnet:Subnet": ["cidrBlock", "availabilityZone"],
  "aws:rds/instance:Instance": ["identifier", "engineVersion", "instanceClass", "multiAz", "allocatedStorage", "storageEncrypted", "publiclyAccessible", "deletionProtection"],
  "aws:rds/parameterGroup:ParameterGroup": ["family"],
  "aws:ecs/service:Service": ["name", "desiredCount", "deploymentConfiguration.strategy", "deploymentConfiguration.bakeTimeInMinutes"],
  "aws:ecs/taskDefinition:TaskDefinition": ["family", "cpu", "memory"],
  "aws:lb/listener:Listener": ["port", "protocol"],
  "aws:lb/targetGroup:TargetGroup": ["port", "healthCheck.path"],
  "aws:appautoscaling/target:Target": ["minCapacity", "maxCapacity"],
  "aws:cloudwatch/metricAlarm:MetricAlarm": ["name", "threshold"],
  "aws:lambda/function:Function": ["name", "runtime"],
  "aws:ecr/repository:Repository": ["name", "imageTagMutability"],
  "aws:ssm/parameter:Parameter": ["name"],
  "aws:codepipeline/pipeline:Pipeline": ["pipelineType", "executionMode"],
};

function pick(inputs: Record<string, any>, path: string): unknown {
  return path.split(".").reduce<any>((v, k) => (v == null ? undefined : Array.isArray(v) ? v[0]?.[k] : v[k]), inputs);
}

function keySettings(resource: RecordedResource): string {
  return (KEY_SETTINGS[resource.type] ?? [])
    .map((path) => [path.split(".").pop(), pick(resource.inputs, path)] as const)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
}

export interface PlanReport {
  readonly stack: string;
  readonly resources: { type: string; name: string; settings: string }[];
  readonly resourceCount: number;
  readonly componentCount: number;
  readonly diff: StackDiff;
  /** Mermaid flowchart of the stack's components and how they feed each other. */
  readonly mermaid: string;
  /** The program's warnings for this stack, as `pulumi up` would show them. */
  readonly warnings: string[];
}

/** Runs both stacks offline and reports what `stack` would create and how staging differs from prod. */
export async function planStack(stack: string): Promise<PlanReport> {
  validateStackName(stack);
  const staging = await runOffline("staging");
  const prod = await runOffline("prod", { stagingOutputs: staging.outputs });
  const run: OfflineRun = stack === "prod" ? prod : staging;
  const custom = run.resources.filter((r) => r.custom);
  return {
    stack,
    resources: custom.map((r) => ({ type: r.type, name: r.name, settings: keySettings(r) })),
    resourceCount: custom.length,
    componentCount: run.resources.length - custom.length,
    diff: diffStacks(staging, prod),
    mermaid: mermaidDiagram(run),
    warnings: run.warnings,
  };
}

export function formatPlan(report: PlanReport): string {
  const typeWidth = Math.max(...report.resources.map((r) => r.type.length));
  const nameWidth = Math.max(...report.resources.map((r) => r.name.length));
  const lines = [
    `friday plan --stack ${report.stack}: offline under mocks, nothing is created.`,
    "",
    `${"TYPE".padEnd(typeWidth)}  ${"NAME".padEnd(nameWidth)}  KEY SETTINGS`,
    ...report.resources.map((r) => `${r.type.padEnd(typeWidth)}  ${r.name.padEnd(nameWidth)}  ${r.settings}`),
    "",
    `${report.resourceCount} resources in ${report.componentCount} components.`,
    "",
    "How staging differs from prod (everything else is identical):",
    formatDiffTable(report.diff),
    "",
    `By design, prod alone has ${report.diff.prodOnlyByDesign.length} resources (the pipeline, the staging stack reference) ` +
      `and staging alone ${report.diff.stagingOnlyByDesign.length} (the scheduled refresh from prod).`,
    ...(report.warnings.length > 0 ? ["", "Warnings (pulumi up shows these too):", ...report.warnings.map((w) => `  ${w}`)] : []),
  ];
  return lines.join("\n");
}

export function registerPlan(program: Command): void {
  program
    .command("plan")
    .description("Run the Pulumi program offline (no AWS, no Pulumi CLI) and show what a stack would create and how staging differs from prod")
    .requiredOption("--stack <stack>", "staging or prod")
    .option("--json", "machine-readable output")
    .option("--mermaid", "print only a Mermaid diagram of the stack's components")
    .action(async (options: { stack: string; json?: boolean; mermaid?: boolean }) => {
      const report = await planStack(options.stack);
      if (options.mermaid) console.log(report.mermaid);
      else console.log(options.json ? JSON.stringify(report, null, 2) : formatPlan(report));
    });
}
