import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleDeployHook, DEPLOY_HOOK_RUNTIME, DEPLOY_HOOK_TARGET } from "./bundle";

describe("bundleDeployHook", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "friday-deploy-hook-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("targets the Node.js version of the runtime the function deploys with", () => {
    expect([DEPLOY_HOOK_RUNTIME, DEPLOY_HOOK_TARGET]).toEqual(["nodejs24.x", "node24"]);
  });

  it("writes one self-contained CommonJS file that exports handler", () => {
    const bundle = bundleDeployHook(join(dir, "a"));
    expect(bundle).toMatchObject({ handler: "index.handler", runtime: "nodejs24.x", entryFile: join(dir, "a", "index.js") });
    expect(readdirSync(bundle.outDir)).toEqual(["index.js"]);
    expect(bundle.bytes).toBeGreaterThan(10_000); // the CloudWatch client is inside

    // Load it in a bare Node process, from a directory with no node_modules: nothing may be left to resolve.
    const probe = `
      const m = require(${JSON.stringify(bundle.entryFile)});
      process.stdout.write(JSON.stringify({ handler: typeof m.handler }));
    `;
    const out = execFileSync(process.execPath, ["-e", probe], { cwd: dir, env: { PATH: process.env.PATH ?? "" }, stdio: ["ignore", "pipe", "pipe"] }).toString();
    expect(JSON.parse(out)).toEqual({ handler: "function" });
  });

  it("fails safe when run with a misconfigured environment (the bundled handler answers FAILED)", () => {
    const bundle = bundleDeployHook(join(dir, "b"));
    const probe = `
      const m = require(${JSON.stringify(bundle.entryFile)});
      const log = console.log; console.log = () => {};
      m.handler({ executionId: "x", lifecycleStage: "POST_TEST_TRAFFIC_SHIFT", resourceArn: "arn", executionDetails: {} })
        .then((r) => process.stdout.write(JSON.stringify(r)));
    `;
    const out = execFileSync(process.execPath, ["-e", probe], { cwd: dir, env: { PATH: process.env.PATH ?? "" }, stdio: ["ignore", "pipe", "pipe"] }).toString();
    expect(JSON.parse(out)).toEqual({ hookStatus: "FAILED" });
  });

  it("is reproducible: the same source gives the same bytes", () => {
    expect(bundleDeployHook(join(dir, "c")).sha256).toBe(bundleDeployHook(join(dir, "d")).sha256);
  });
});
