import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import * as ts from "typescript";

/**
 * Components are the Pulumi program's building blocks; scripts/ is the operator CLI (AWS SDK, pg,
 * commander). A component importing from scripts/ drags the CLI into the program and couples the
 * two: names both need live in infra/ (naming.ts, refresh-parameters.ts, cli-bundle.ts). Tests may
 * use the shared harness under scripts/lib, so only the components' own sources are checked.
 */
const COMPONENTS = __dirname;
const SCRIPTS = resolve(COMPONENTS, "..", "scripts");

/** Every relative module `text` (the source of `file`) imports, re-exports, `import()`s or `require`s, type-only too. */
function importedPaths(file: string, text = readFileSync(file, "utf8")): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName).filter((name) => name.startsWith("."))
    .map((name) => resolve(dirname(file), name));
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir + sep);
}

describe("components' imports", () => {
  const sources = readdirSync(COMPONENTS).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));

  it("finds the component sources (so the check below is not vacuous)", () => {
    expect(sources).toEqual(expect.arrayContaining(["pipeline.ts", "pipeline-artifacts.ts", "staging-refresh.ts"]));
  });

  it("never reach into scripts/", () => {
    const offending = sources.flatMap((f) =>
      importedPaths(join(COMPONENTS, f)).filter((p) => isUnder(p, SCRIPTS)).map((p) => `components/${f} imports ${relative(resolve(COMPONENTS, ".."), p)}`),
    );
    expect(offending).toEqual([]);
  });

  it("detects a type-only import, a re-export and a require from scripts/", () => {
    const probe = join(COMPONENTS, "probe.ts");
    const text = 'import type { X } from "../scripts/pipeline/bundle";\nexport * from "../scripts/lib/mermaid";\nconst y = require("../scripts/deploy/aws");\n';
    expect(importedPaths(probe, text).filter((p) => isUnder(p, SCRIPTS))).toHaveLength(3);
  });
});
