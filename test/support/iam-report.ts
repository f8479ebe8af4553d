import { asList, buildIamGraph, iamCounts } from "./iam-graph";

/**
 * `npm run report:iam [-- --json]`: the IAM figures of both stacks (roles, policies, statements,
 * `Resource: "*"` statements, trust policies without confused-deputy conditions), and each `*`
 * statement with its role and actions, read off the offline runs with the ARNs AWS would assign.
 */
async function main(): Promise<void> {
  const json = process.argv.includes("--json");
  const log = (line: string) => !json && process.stderr.write(`${line}\n`);
  log("running the staging and prod programs offline…");
  const graph = await buildIamGraph();
  const counts = iamCounts(graph.roles);
  const wildcards = graph.roles.flatMap((role) =>
    role.policies.flatMap((p) =>
      p.document.Statement.filter((s) => s.Effect === "Allow" && asList(s.Resource).includes("*")).map((s) => ({
        stack: role.stack,
        role: role.resourceName,
        sid: s.Sid ?? "",
        actions: asList(s.Action),
        conditions: Object.values(s.Condition ?? {}).flatMap((c) => Object.keys(c)),
      })),
    ),
  );
  if (json) {
    process.stdout.write(`${JSON.stringify({ counts, wildcards }, null, 2)}\n`);
    return;
  }
  console.log(Object.entries(counts).map(([k, v]) => `${k}: ${v}`).join("\n"));
  console.log(`\nResource "*" statements:`);
  for (const w of wildcards) console.log(`  ${w.stack} ${w.role} ${w.sid}: ${w.actions.join(", ")}${w.conditions.length ? ` [conditions: ${w.conditions.join(", ")}]` : ""}`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
