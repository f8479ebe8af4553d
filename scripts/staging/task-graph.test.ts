import { runTasks, Task } from "./task-graph";

/** A task that records when it starts and ends, and takes `ms` (resolved by the test's clock). */
function recorder() {
  const log: string[] = [];
  let active = 0;
  let peak = 0;
  const task = (id: string, options: { after?: string[]; cost?: number; fail?: boolean } = {}): Task => ({
    id,
    after: options.after,
    cost: options.cost,
    run: async () => {
      active++;
      peak = Math.max(peak, active);
      log.push(`start ${id}`);
      await new Promise((resolve) => setImmediate(resolve));
      active--;
      log.push(`end ${id}`);
      if (options.fail) throw new Error(`${id} failed`);
    },
  });
  return { log, task, peak: () => peak };
}

describe("runTasks", () => {
  it("starts a task only after the tasks it waits for, costliest ready task first, never more than the limit", async () => {
    const { log, task, peak } = recorder();
    await runTasks([task("index a", { after: ["rewrite a"], cost: 5 }), task("rewrite b", { cost: 10 }), task("rewrite a", { cost: 20 }), task("fk", { after: ["rewrite a", "rewrite b", "index a"] })], 2);
    expect(peak()).toBeLessThanOrEqual(2);
    expect(log.slice(0, 2)).toEqual(["start rewrite a", "start rewrite b"]);
    const at = (entry: string) => log.indexOf(entry);
    expect(at("start index a")).toBeGreaterThan(at("end rewrite a"));
    expect(at("start fk")).toBeGreaterThan(Math.max(at("end rewrite a"), at("end rewrite b"), at("end index a")));
    expect(log.filter((l) => l.startsWith("end"))).toHaveLength(4);
  });

  it("stops starting tasks after a failure, lets running ones finish, and throws the failure", async () => {
    const { log, task } = recorder();
    await expect(runTasks([task("a", { cost: 3, fail: true }), task("b", { cost: 2 }), task("c", { cost: 1 }), task("d", { after: ["a"] })], 2)).rejects.toThrow("a failed");
    expect(log).toContain("end b");
    expect(log).not.toContain("start c");
    expect(log).not.toContain("start d");
  });

  it("rejects unknown dependencies, duplicate ids and cycles", async () => {
    const { task } = recorder();
    await expect(runTasks([task("a", { after: ["nope"] })], 1)).rejects.toThrow("task a waits for nope, which is not a task");
    await expect(runTasks([task("a"), task("a")], 1)).rejects.toThrow("task ids must be unique");
    await expect(runTasks([task("a", { after: ["b"] }), task("b", { after: ["a"] })], 1)).rejects.toThrow("tasks wait for each other in a cycle: a, b");
  });
});
