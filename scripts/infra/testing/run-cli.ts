import { main } from "../../cli";

/** Runs the real `friday` entry; returns the exit code, or the message the command failed with. */
export async function friday(...args: string[]): Promise<{ code: number; error?: string }> {
  process.exitCode = 0;
  try {
    await main(["node", "friday", ...args]);
    return { code: Number(process.exitCode ?? 0) };
  } catch (error) {
    return { code: 1, error: (error as Error).message };
  } finally {
    process.exitCode = 0;
  }
}
