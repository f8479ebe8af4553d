import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A temporary migrations folder for tests: `write({ "0001_x.expand.sql": "..." })`. */
export function tempMigrations(files: Record<string, string> = {}): { dir: string; write(files: Record<string, string>): void; remove(name: string): void; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "friday-migrations-"));
  const write = (more: Record<string, string>) => {
    for (const [name, sql] of Object.entries(more)) writeFileSync(join(dir, name), sql);
  };
  write(files);
  return {
    dir,
    write,
    remove: (name) => rmSync(join(dir, name)),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export { withClient } from "./db";

/** Captures what the CLI writes to stdout/stderr while `fn` runs, and the exit code it set. */
export async function captureCli(fn: () => Promise<unknown>): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  let stdout = "";
  let stderr = "";
  const out = jest.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  const err = jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  const before = process.exitCode;
  process.exitCode = 0;
  try {
    await fn();
    return { stdout, stderr, exitCode: Number(process.exitCode ?? 0) };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = before;
  }
}
