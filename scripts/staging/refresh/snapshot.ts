import { CreateDBSnapshotCommand } from "@aws-sdk/client-rds";
import { TAG, tagValue } from "./shared";
import type { RefreshContext } from "./context";

/**
 * Step 1: snapshot prod — the only thing the refresh ever does to prod, a read — and, once the
 * copy is scrubbed, delete that unscrubbed snapshot.
 */
export async function snapshotSource(run: RefreshContext): Promise<string> {
  if (await run.replacementReady()) return "skipped: the replacement already exists";
  if (await run.describeSnapshot(run.names.scrubbedSnapshot)) return "skipped: the scrubbed snapshot already exists";
  const isolated = await run.describeInstance(run.names.isolated);
  if (isolated && tagValue(isolated.TagList, TAG.scrub) === "verified") return "skipped: the isolated instance is already scrubbed";
  const existing = await run.describeSnapshot(run.names.sourceSnapshot);
  if (!existing) {
    await run.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: run.targets.source.dbIdentifier, DBSnapshotIdentifier: run.names.sourceSnapshot, Tags: run.runTags("source-snapshot") }));
  }
  const snapshot = await run.waitForSnapshot(run.names.sourceSnapshot);
  return `${existing ? "resumed" : "created"} ${run.names.sourceSnapshot} (${snapshot.AllocatedStorage ?? "?"} GiB)`;
}

/**
 * Deletes the `-source` snapshot (a full unscrubbed copy of prod) once the isolated instance is
 * tagged verified: from then on a resumed run starts from that instance, never from the snapshot.
 */
export async function dropSourceSnapshot(run: RefreshContext): Promise<string> {
  return (await run.deleteSnapshot(run.names.sourceSnapshot)) ? `; deleted ${run.names.sourceSnapshot}` : "";
}
