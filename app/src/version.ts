import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The commit this build came from: APP_COMMIT (the image sets it from its build argument), else the
 * VERSION file written next to the bundle at build time, else "unknown".
 */
export function readCommit(env: NodeJS.ProcessEnv, versionFile = join(__dirname, "VERSION")): string {
  const fromEnv = env.APP_COMMIT?.trim();
  if (fromEnv && fromEnv !== "unknown") return fromEnv;
  try {
    const fromFile = readFileSync(versionFile, "utf8").trim();
    if (fromFile) return fromFile;
  } catch {
    // no file: not built by the Dockerfile
  }
  return "unknown";
}
