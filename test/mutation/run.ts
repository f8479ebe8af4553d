import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Command } from "commander";
import { MUTANTS, type Mutant } from "./mutants";

/**
 * The mutation check (`npm run mutation`): each scripted breakage in mutants.ts is applied to a
 * throw-away copy of the working tree, the tests that should catch it run there, and the breakage
 * counts as killed only if at least one of those tests fails (a copy that does not even load is an
 * error, not a kill). The working tree is never written: every edit happens in the copy, which is
 * deleted at the end whatever happens.
 */

const REPO_ROOT = join(__dirname, "..", "..");
const NO_OP = join("test", "mutation", "no-op.js");

interface Outcome {
  readonly id: string;
  readonly point: string;
  readonly description: string;
  /** killed: a test failed; survived: all passed; error: the tests did not run (bad mutant or copy). */
  readonly status: "killed" | "survived" | "error";
  readonly failedTests: string[];
  readonly seconds: number;
  readonly detail?: string;
}

/** The working tree's files (tracked and untracked, not ignored), copied to a fresh directory with node_modules linked. */
function copyWorkingTree(): string {
  const listed = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: REPO_ROOT, encoding: "utf8" });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  const dir = mkdtempSync(join(tmpdir(), "friday-mutation-"));
  for (const file of listed.stdout.split("\0").filter(Boolean)) {
    const from = join(REPO_ROOT, file);
    if (!existsSync(from)) continue; // deleted in the working tree
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(from, join(dir, file));
  }
  symlinkSync(join(REPO_ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

/** Runs jest in the copy on the mutant's tests; no PostgreSQL (none of these tests use it). */
function runTests(copy: string, mutant: Mutant): { ran: boolean; failed: string[]; detail: string } {
  const report = join(copy, ".mutation-report.json");
  rmSync(report, { force: true });
  const args = [join(copy, "node_modules", "jest", "bin", "jest.js"), ...mutant.tests, "--silent", "--ci", "--maxWorkers=2",
    // A loaded machine slows the offline program runs; a generous limit keeps a slow run from passing for a kill.
    "--testTimeout=600000",
    "--globalSetup", join(copy, NO_OP), "--globalTeardown", join(copy, NO_OP), "--json", "--outputFile", report];
  if (mutant.testNamePattern) args.push("--testNamePattern", mutant.testNamePattern);
  const result = spawnSync(process.execPath, args, { cwd: copy, encoding: "utf8", env: { ...process.env, CI: "true" } });
  if (!existsSync(report)) return { ran: false, failed: [], detail: (result.stderr || result.stdout).slice(-2000) };
  const json = JSON.parse(readFileSync(report, "utf8")) as {
    numTotalTests: number; numRuntimeErrorTestSuites: number;
    testResults: Array<{ testFilePath: string; message: string; assertionResults: Array<{ status: string; fullName: string; failureMessages: string[] }> }>;
  };
  // A test that ran out of time proves nothing about the breakage (a loaded machine): not a kill.
  const timedOut = (a: { failureMessages: string[] }) => a.failureMessages.some((m) => m.includes("Exceeded timeout"));
  const results = json.testResults.flatMap((file) => file.assertionResults.filter((a) => a.status === "failed"));
  const failed = results.filter((a) => !timedOut(a)).map((a) => a.fullName);
  const broken = json.testResults.filter((file) => file.assertionResults.length === 0 && file.message).map((file) => file.message.slice(0, 1000));
  if (results.some(timedOut)) broken.push(`timed out: ${results.filter(timedOut).map((a) => a.fullName).join("; ").slice(0, 500)}`);
  return { ran: json.numTotalTests > 0 && json.numRuntimeErrorTestSuites === 0 && broken.length === 0, failed, detail: broken.join("\n") };
}

/** Writes the mutant into the copy (refusing one whose text is not found exactly once); returns the undo. */
function apply(copy: string, mutant: Mutant): () => void {
  const path = join(copy, mutant.file);
  const original = readFileSync(path, "utf8");
  const count = original.split(mutant.find).length - 1;
  if (count !== 1) throw new Error(`mutant ${mutant.id}: the text to replace occurs ${count} times in ${mutant.file} (expected once); update mutants.ts`);
  writeFileSync(path, original.replace(mutant.find, mutant.replace));
  return () => writeFileSync(path, original);
}

function main(): void {
  const program = new Command("mutation")
    .description("apply each scripted breakage to a copy of the working tree and check that the tests catch it")
    .option("--only <ids>", "comma-separated mutant ids")
    .option("--json", "machine-readable output")
    .parse();
  const options = program.opts<{ only?: string; json?: boolean }>();
  const wanted = options.only?.split(",").map((s) => s.trim());
  const unknown = (wanted ?? []).filter((id) => !MUTANTS.some((m) => m.id === id));
  if (unknown.length) {
    console.error(`Unknown mutant ${unknown.join(", ")}: known are ${MUTANTS.map((m) => m.id).join(", ")}.`);
    process.exit(2);
  }
  const mutants = MUTANTS.filter((m) => !wanted || wanted.includes(m.id));
  const log = (line: string) => { if (!options.json) console.log(line); };
  const started = Date.now();
  const copy = copyWorkingTree();
  const outcomes: Outcome[] = [];
  try {
    log(`friday mutation: ${mutants.length} breakages, each on a copy of the working tree (${copy})`);
    // A kill means nothing if the tests fail anyway: they must pass on the unbroken copy first.
    const baseline = runTests(copy, { id: "baseline", point: "-", description: "no breakage", file: "", find: "", replace: "", tests: [...new Set(mutants.flatMap((m) => m.tests))] });
    if (!baseline.ran || baseline.failed.length) {
      throw new Error(`The tests fail without any breakage; fix them first:\n${[...baseline.failed.slice(0, 10), baseline.detail].filter(Boolean).join("\n")}`);
    }
    log(`baseline: ${[...new Set(mutants.flatMap((m) => m.tests))].join(", ")} pass unbroken (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    for (const [i, mutant] of mutants.entries()) {
      const t0 = Date.now();
      let outcome: Outcome;
      const undo = apply(copy, mutant);
      try {
        const { ran, failed, detail } = runTests(copy, mutant);
        const status = failed.length > 0 ? "killed" : ran ? "survived" : "error";
        outcome = { id: mutant.id, point: mutant.point, description: mutant.description, status, failedTests: failed, seconds: (Date.now() - t0) / 1000, ...(status === "error" ? { detail } : {}) };
      } finally {
        undo();
      }
      outcomes.push(outcome);
      log(`[${i + 1}/${mutants.length}] ${outcome.status.toUpperCase().padEnd(8)} ${mutant.id} (point ${mutant.point}): ${mutant.description} — ${outcome.failedTests.length} failing test(s), ${outcome.seconds.toFixed(1)} s`);
      if (outcome.status === "killed") log(`           e.g. ${outcome.failedTests[0]}`);
      if (outcome.detail) log(`           ${outcome.detail.split("\n").slice(0, 5).join("\n           ")}`);
    }
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
  const killed = outcomes.filter((o) => o.status === "killed").length;
  const seconds = (Date.now() - started) / 1000;
  if (options.json) console.log(JSON.stringify({ killed, total: outcomes.length, seconds, outcomes }, null, 2));
  else log(`\nMutation score: ${killed}/${outcomes.length} killed (${outcomes.filter((o) => o.status === "survived").length} survived, ${outcomes.filter((o) => o.status === "error").length} errors) in ${seconds.toFixed(0)} s.`);
  process.exitCode = killed === outcomes.length ? 0 : 1;
}

main();
