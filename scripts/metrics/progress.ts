import { Clock, Log } from "../deploy/follow";

/**
 * Progress while `friday metrics` pages through history: one line per page read (which history,
 * pages and items so far, items per second), and a closing summary. Lines go to stderr, so stdout
 * stays clean for --json and for the figures.
 */
export class HistoryProgress {
  private readonly started: number;
  private readonly sources = new Map<string, { pages: number; items: number }>();

  constructor(
    private readonly clock: Pick<Clock, "now">,
    private readonly log: Log,
  ) {
    this.started = clock.now();
  }

  /** Records one page (one AWS call) that brought `items` items of `source`. */
  page(source: string, items: number): void {
    const entry = this.sources.get(source) ?? { pages: 0, items: 0 };
    entry.pages += 1;
    entry.items += items;
    this.sources.set(source, entry);
    // Every page while there are few; then every 50th, so 90 days of a busy pipeline (about 3,000
    // calls) prints about 100 lines, not 3,000. The summary has the exact totals.
    if (entry.pages <= 10 || entry.pages % 50 === 0) this.log(`metrics: ${source}: page ${entry.pages}, ${entry.items} item(s), ${this.rate(entry.items)}`);
  }

  /** Says something about a source that is not a page (e.g. a history that could not be read). */
  note(line: string): void {
    this.log(`metrics: ${line}`);
  }

  /** Pages and items per source so far. */
  totals(): { source: string; pages: number; items: number }[] {
    return [...this.sources].map(([source, t]) => ({ source, ...t }));
  }

  /** The closing line: every source's pages and items, and the time it all took. */
  summary(): string {
    const totals = this.totals();
    const pages = totals.reduce((n, t) => n + t.pages, 0);
    const items = totals.reduce((n, t) => n + t.items, 0);
    const parts = totals.map((t) => `${t.source} ${t.items} in ${t.pages} page(s)`);
    return `metrics: read ${items} item(s) in ${pages} page(s) in ${this.seconds().toFixed(1)}s (${this.rate(items)})${parts.length ? `: ${parts.join(", ")}` : ""}`;
  }

  private seconds(): number {
    return Math.max(0, (this.clock.now() - this.started) / 1000);
  }

  private rate(items: number): string {
    const seconds = this.seconds();
    return seconds > 0 ? `${(items / seconds).toFixed(1)} items/s` : "rate n/a";
  }
}

/**
 * Runs `work` over `items` with at most `limit` calls in flight, results in the items' order. The
 * per-item reads (one ListActionExecutions per run, one GetDeployment per flag deployment) are most
 * of a long window's calls; a few at a time cut the wait without hammering an API (the clients'
 * adaptive retries slow down if AWS throttles).
 */
export async function mapWithLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** How many per-item reads run at once. */
export const READ_CONCURRENCY = 4;
