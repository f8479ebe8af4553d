// `npm run bench:bundle`: what bundling the friday CLI costs `pulumi up -s prod` (it happens at
// program time), and how fast the bundle starts compared with bin/friday (ts-node) — every pipeline
// step pays that start once.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleCli } from "../scripts/pipeline/bundle";

const ROUNDS = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function timeRun(command: string, args: string[], cwd: string): number {
  const started = process.hrtime.bigint();
  const run = spawnSync(command, args, { cwd, encoding: "utf8" });
  if (run.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${run.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "friday-bench-bundle-"));
  try {
    const bundleMs: number[] = [];
    let bytes = 0;
    let path = "";
    for (let i = 0; i < ROUNDS; i++) {
      const started = process.hrtime.bigint();
      const bundle = await bundleCli(join(dir, `friday-${i}.js`));
      bundleMs.push(Number(process.hrtime.bigint() - started) / 1e6);
      bytes = bundle.bytes;
      path = bundle.path;
      console.log(`bundle ${i + 1}/${ROUNDS}: ${bundleMs[i].toFixed(0)} ms, ${(bundle.bytes / 1024).toFixed(0)} KiB, stubbed ${bundle.stubbed.length} module(s)`);
    }
    const repo = join(__dirname, "..");
    const bundled = Array.from({ length: ROUNDS }, () => timeRun(process.execPath, [path, "--help"], dir));
    const tsNode = Array.from({ length: ROUNDS }, () => timeRun(process.execPath, [join(repo, "bin", "friday"), "--help"], repo));
    console.log("");
    console.log(`bundling (first, cold):     ${bundleMs[0].toFixed(0)} ms`);
    console.log(`bundling (median of ${ROUNDS}):    ${median(bundleMs).toFixed(0)} ms`);
    console.log(`bundle size:                ${(bytes / 1024 / 1024).toFixed(2)} MiB`);
    console.log(`\`friday --help\`, bundle:    median ${median(bundled).toFixed(0)} ms (node ${path.split("/").pop()})`);
    console.log(`\`friday --help\`, bin/friday: median ${median(tsNode).toFixed(0)} ms (ts-node + swc, from the checkout)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
