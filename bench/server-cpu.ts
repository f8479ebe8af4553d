import { readdirSync, readFileSync } from "node:fs";

/** The pid of the postmaster listening on `port`, and every pid on the machine. */
function findPostmaster(port: number): { postmaster: string | undefined; pids: string[] } {
  const pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  const postmaster = pids.find((pid) => {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      return args[0].endsWith("/postgres") && args[args.indexOf("-p") + 1] === String(port);
    } catch {
      return false;
    }
  });
  return { postmaster, pids };
}

/** A process's /proc/<pid>/stat fields this file reads (throws if it has exited). */
function stat(pid: string) {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is state (field 3); utime is field 14, stime 15, cutime 16, cstime 17, ppid field 4.
  return { state: fields[0], ppid: fields[1], utime: Number(fields[11]), stime: Number(fields[12]), cutime: Number(fields[13]), cstime: Number(fields[14]) };
}

/**
 * CPU seconds the whole PostgreSQL server has used so far: the postmaster and every live child
 * (backends, parallel workers, checkpointer, …) plus what exited children used (the postmaster's
 * cutime/cstime). Other processes on the machine do not count, so the CPU ratio holds steady when
 * the wall-clock ratio does not (this machine is shared).
 */
export function serverCpuSeconds(port: number): number {
  const TICKS = 100;
  const { postmaster, pids } = findPostmaster(port);
  if (!postmaster) throw new Error(`no postgres listening on port ${port} found in /proc`);
  const root = stat(postmaster);
  let ticks = root.utime + root.stime + root.cutime + root.cstime;
  for (const pid of pids) {
    try {
      const s = stat(pid);
      if (s.ppid === postmaster) ticks += s.utime + s.stime;
    } catch {
      // exited meanwhile: its time is in the postmaster's cutime/cstime now
    }
  }
  return ticks / TICKS;
}

/** The postmaster's children right now, "pid:state" each (state Z = exited, not yet reaped). */
function childStates(port: number): string {
  const { postmaster, pids } = findPostmaster(port);
  const children: string[] = [];
  for (const pid of pids) {
    try {
      const s = stat(pid);
      if (s.ppid === postmaster) children.push(`${pid}:${s.state}`);
    } catch {
      // exited meanwhile
    }
  }
  return children.sort().join(",");
}

/**
 * serverCpuSeconds once the backends of closed connections are gone. A backend that has exited but
 * is not yet reaped counts nowhere (neither live nor in the postmaster's cutime), so reading right
 * after a run's connections close can miss most of its CPU: wait until no child is a zombie and the
 * set of children holds still for 100 ms (at most 3 s).
 */
export async function settledServerCpuSeconds(port: number): Promise<number> {
  const deadline = Date.now() + 3000;
  let last = childStates(port);
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = childStates(port);
    if (now === last && !/:Z/.test(now)) break;
    last = now;
  }
  return serverCpuSeconds(port);
}
