import type { RefreshDatabaseSteps } from "./refresh";
import { prewarmDatabase } from "./refresh-prewarm";
import { scrubDatabase } from "./scrub";
import { loadScrubRules, ScrubRules } from "./scrub-rules";
import { takeVerifySample, verifyScrub, VerifySample } from "./verify";

/**
 * The refresh's PostgreSQL steps, wired to the real scrub (scrub-rules.ts, scrub.ts, verify.ts)
 * and prewarm. The orchestrator only sees the RefreshDatabaseSteps interface, so its tests stub it.
 */
export function databaseStepsForRefresh(): RefreshDatabaseSteps {
  return {
    loadRules: async (path) => loadScrubRules(path),
    takeSample: ({ databaseUrl, rules }) => takeVerifySample({ databaseUrl, rules: rules as ScrubRules }),
    scrub: ({ databaseUrl, rules, key, concurrency, onProgress }) => scrubDatabase({ databaseUrl, rules: rules as ScrubRules, key, concurrency, onProgress }),
    verify: async ({ databaseUrl, rules, before }) => {
      const report = await verifyScrub({ databaseUrl, rules: rules as ScrubRules, before: before as VerifySample });
      return { ok: report.ok, problems: report.problems };
    },
    prewarm: ({ databaseUrl }) => prewarmDatabase({ databaseUrl }),
  };
}
