import type { OfflineRun, RecordedResource } from "./offline-program";

/**
 * A Mermaid flowchart of an offline run: one node per component (with how many AWS resources it
 * holds) and an edge wherever a resource in one component takes an input from another.
 */

/** The component a resource belongs to: the last `friday:` type in its parent URN, or its own type. */
function componentOf(urnOrParent: string | undefined): string | undefined {
  if (!urnOrParent) return undefined;
  const typeChain = urnOrParent.split("::")[2] ?? "";
  const friday = typeChain.split("$").filter((t) => t.startsWith("friday:"));
  return friday.length ? friday[friday.length - 1] : undefined;
}

function label(type: string): string {
  return type.split(":").pop()!;
}

export function mermaidDiagram(run: OfflineRun): string {
  const components = new Map<string, number>();
  const edges = new Set<string>();
  const custom = run.resources.filter((r: RecordedResource) => r.custom);
  for (const resource of custom) {
    const owner = componentOf(resource.parent) ?? resource.type;
    components.set(owner, (components.get(owner) ?? 0) + 1);
    for (const dependency of resource.dependencies) {
      const from = componentOf(dependency) ?? (dependency.includes("pulumi:pulumi:StackReference") ? "pulumi:pulumi:StackReference" : undefined);
      if (from && from !== owner) edges.add(`${from}|${owner}`);
    }
  }
  const id = (type: string) => type.replace(/[^A-Za-z0-9]/g, "_");
  const lines = [`flowchart LR`];
  for (const [type, count] of [...components].sort()) {
    lines.push(type.startsWith("friday:") ? `  ${id(type)}["${label(type)}<br/>${count} resources"]` : `  ${id(type)}(["${label(type)}"])`);
  }
  for (const edge of [...edges].sort()) {
    const [from, to] = edge.split("|");
    lines.push(`  ${id(from)} --> ${id(to)}`);
  }
  return lines.join("\n");
}

const START = "<!-- diagram:start -->";
const END = "<!-- diagram:end -->";

/** The README with the diagram between its markers replaced by `diagram` (as a mermaid block). */
export function withDiagram(readme: string, diagram: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${START} … ${END} markers: add them where the diagram goes.`);
  return `${readme.slice(0, start + START.length)}\n\`\`\`mermaid\n${diagram}\n\`\`\`\n${readme.slice(end)}`;
}
