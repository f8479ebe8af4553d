import type { DBInstance } from "@aws-sdk/client-rds";
import { AddTagsToResourceCommand } from "@aws-sdk/client-rds";
import { TAG } from "./shared";
import type { RefreshContext } from "./context";
import { dropSourceSnapshot } from "./snapshot";

/** What the scrub hands the verify: where the isolated copy answers, the rules, and the sample taken before. */
export interface VerifyInput {
  readonly databaseUrl: string;
  readonly rules: unknown;
  readonly before: unknown;
}

/**
 * Step 3, second half: verify the scrubbed copy against the sample taken before the scrub, tag the
 * isolated instance verified (a resumed run starts from it from then on), and delete prod's
 * unscrubbed snapshot, which nothing needs any more. A failed verify throws: the copy is never used.
 */
export async function verifyScrubbed(run: RefreshContext, isolated: DBInstance, { databaseUrl, rules, before }: VerifyInput): Promise<string> {
  const verdict = await run.db.verify({ databaseUrl, rules, before });
  if (!verdict.ok) {
    throw new Error(`verify found ${verdict.problems.length} problem(s): ${verdict.problems.slice(0, 10).join("; ")}${verdict.problems.length > 10 ? "; …" : ""}`);
  }
  await run.send(new AddTagsToResourceCommand({ ResourceName: isolated.DBInstanceArn, Tags: [{ Key: TAG.scrub, Value: "verified" }] }));
  return `verified${await dropSourceSnapshot(run)}`;
}
