import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildSync } from "esbuild";

/**
 * The Lambda runtime the function deploys with and the bundle targets: the one place it is named
 * (components/deploy-hook.ts sets it, esbuild's target is derived from it). Node.js 24 is Lambda's
 * newest Node.js runtime (standard support into 2028).
 */
export const DEPLOY_HOOK_RUNTIME = "nodejs24.x";
/** esbuild's target for the runtime, e.g. `node24`. */
export const DEPLOY_HOOK_TARGET = `node${/^nodejs(\d+)\.x$/.exec(DEPLOY_HOOK_RUNTIME)![1]}`;
/** The function's `handler` setting: `index.js`, export `handler`. */
export const DEPLOY_HOOK_HANDLER = "index.handler";

/** What `bundleDeployHook` wrote. */
export interface DeployHookBundle {
  /** The directory holding `index.js` (ship it whole: `new pulumi.asset.FileArchive(outDir)`). */
  readonly outDir: string;
  /** The bundled file, `<outDir>/index.js`. */
  readonly entryFile: string;
  /** The Lambda `handler` setting. */
  readonly handler: string;
  /** The Lambda `runtime` setting. */
  readonly runtime: string;
  /** Size of index.js in bytes. */
  readonly bytes: number;
  /** sha256 of index.js (hex): changes exactly when the code does. */
  readonly sha256: string;
}

/**
 * Bundles the deploy-hook Lambda (handler.ts and everything it imports, the AWS SDK v3 CloudWatch
 * client included) into one CommonJS file, `<outDir>/index.js`, for DEPLOY_HOOK_RUNTIME.
 *
 * The SDK is bundled rather than left to the runtime's copy: the hook then runs exactly the
 * SDK version its tests ran (retry behaviour and the CloudWatch wire protocol included), not whatever
 * version the runtime ships that week; the cost is ~0.5 MB of code. Synchronous (esbuild's buildSync,
 * well under a second) so a component constructor can call it while building the program.
 */
export function bundleDeployHook(outDir: string): DeployHookBundle {
  const dir = resolve(outDir);
  mkdirSync(dir, { recursive: true });
  const entryFile = join(dir, "index.js");
  buildSync({
    entryPoints: [join(__dirname, "handler.ts")],
    outfile: entryFile,
    bundle: true,
    platform: "node",
    target: DEPLOY_HOOK_TARGET,
    format: "cjs",
    minify: true,
    // Keep names readable in stack traces and error.name checks.
    keepNames: true,
    sourcemap: false,
    legalComments: "none",
    logLevel: "silent",
    // No timestamps or absolute paths in the output: the same source gives the same bytes (and hash),
    // so `pulumi up` does not redeploy an unchanged function.
    absWorkingDir: resolve(__dirname, "..", ".."),
  });
  const code = readFileSync(entryFile);
  return {
    outDir: dir,
    entryFile,
    handler: DEPLOY_HOOK_HANDLER,
    runtime: DEPLOY_HOOK_RUNTIME,
    bytes: code.length,
    sha256: createHash("sha256").update(code).digest("hex"),
  };
}
