import { readFileSync } from "node:fs";
import { join } from "node:path";
import { mermaidDiagram, withDiagram } from "./mermaid";
import { REPO_ROOT, runOffline } from "./offline-program";

describe("the README's environment diagram", () => {
  it("is the one the program's resource graph gives (run `npm run docs:diagram` when this fails)", async () => {
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
    const diagram = mermaidDiagram(await runOffline("prod"));
    expect(diagram).toContain("BlueGreenService");
    expect(diagram).toMatch(/friday_service_LoadBalancer --> friday_service_BlueGreenService/);
    expect(readme).toBe(withDiagram(readme, diagram));
  });

  it("refuses a README without the markers", () => {
    expect(() => withDiagram("# no markers", "flowchart LR")).toThrow("README.md has no <!-- diagram:start -->");
  });
});
