/**
 * Runs a small graph of tasks (the scrub's table rewrites, index builds and foreign-key checks) with
 * at most `limit` at a time. A task starts once every task it waits for has finished; among the
 * ready ones the costliest starts first (longest-processing-time first), so the workers finish close
 * together instead of one long task starting last. The first failure stops new starts; the tasks
 * already running finish, then it is thrown.
 */
export interface Task {
  readonly id: string;
  /** Ids of the tasks that must finish first. */
  readonly after?: readonly string[];
  /** Estimated cost (any unit, e.g. bytes to process): the costliest ready task starts first. */
  readonly cost?: number;
  readonly run: () => Promise<void>;
}

export async function runTasks(tasks: readonly Task[], limit: number): Promise<void> {
  const ids = new Set(tasks.map((t) => t.id));
  if (ids.size !== tasks.length) throw new Error(`task ids must be unique (${tasks.map((t) => t.id).join(", ")})`);
  for (const task of tasks) {
    for (const dependency of task.after ?? []) if (!ids.has(dependency)) throw new Error(`task ${task.id} waits for ${dependency}, which is not a task`);
  }
  const waiting = [...tasks].sort((a, b) => (b.cost ?? 0) - (a.cost ?? 0));
  const finished = new Set<string>();
  const running = new Map<string, Promise<string>>();
  let failure: { error: unknown } | undefined;
  for (;;) {
    if (!failure) {
      for (let i = 0; i < waiting.length && running.size < Math.max(1, limit); ) {
        const task = waiting[i];
        if (!(task.after ?? []).every((d) => finished.has(d))) {
          i++;
          continue;
        }
        waiting.splice(i, 1);
        const settled = task.run().then(
          () => task.id,
          (error: unknown) => {
            failure ??= { error };
            return task.id;
          },
        );
        running.set(task.id, settled);
      }
    }
    if (running.size === 0) break;
    const id = await Promise.race(running.values());
    running.delete(id);
    finished.add(id);
  }
  if (failure) throw failure.error;
  if (waiting.length) throw new Error(`tasks wait for each other in a cycle: ${waiting.map((t) => t.id).join(", ")}`);
}
