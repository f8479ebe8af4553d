import { TAG, tagValue } from "./shared";
import type { RefreshContext } from "./context";

/**
 * Step 6: delete the run's temporaries and a `-previous` instance whose retention has run out.
 */
export async function cleanUp(run: RefreshContext): Promise<string> {
  const parts: string[] = [];
  if (!run.options.pruneOnly) {
    if (!(await run.swapDone())) throw new Error(`"${run.targets.target.dbIdentifier}" is not this run's replacement; not deleting anything`);
    const deleted = await run.deleteRunTemporaries(run.runId);
    parts.push(deleted.length ? `deleted ${deleted.join(", ")}` : "no temporaries left");
  }
  const previous = await run.describeInstance(run.previousId);
  if (previous && run.options.pruneOnly && !(await run.describeInstance(run.targets.target.dbIdentifier))) {
    // A swap is half-way (nothing under staging's name): -previous may be what staging goes back to.
    parts.push(`${run.previousId} kept: nothing is named "${run.targets.target.dbIdentifier}" (a swap is half-way; finish it with a run without --prune)`);
  } else if (previous) {
    const until = tagValue(previous.TagList, TAG.keepUntil);
    const expired = !until || Number.isNaN(Date.parse(until)) || Date.parse(until) <= run.now().getTime();
    if (expired) {
      await run.deleteInstance(run.previousId);
      parts.push(`deleted ${run.previousId} (retention ${until ? `ended ${until}` : "unknown"})`);
    } else {
      parts.push(`${run.previousId} kept until ${until}`);
    }
  }
  return parts.join("; ");
}
