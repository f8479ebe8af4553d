import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mermaidDiagram, withDiagram } from "./lib/mermaid";
import { REPO_ROOT, runOffline } from "./lib/offline-program";

/** Rewrites the environment diagram in README.md from an offline run of the prod stack. */
async function main(): Promise<void> {
  const path = join(REPO_ROOT, "README.md");
  const diagram = mermaidDiagram(await runOffline("prod"));
  writeFileSync(path, withDiagram(readFileSync(path, "utf8"), diagram));
  console.log(`README.md: diagram updated (${diagram.split("\n").length} lines).`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
