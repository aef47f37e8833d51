// CPU time from /proc (utime + stime, clock ticks of 10 ms): what the DHCP benchmark reports per
// exchange for the servers (run.ts, loadgen.ts inside the measured window) and for the packet
// thread in process (cpu.ts).
import fs from 'node:fs';

/** CPU time (µs) used so far from a /proc stat file; NaN when it is gone. */
export function statCpuUs(file: string): number {
  try {
    const stat = fs.readFileSync(file, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * (1e6 / 100);
  } catch { return NaN; }
}

/** CPU time (µs) of each thread of `pid`, with its name (comm): where a server's helpers spend. */
export function threadCpu(pid: number | undefined): Map<number, { name: string; us: number }> {
  const out = new Map<number, { name: string; us: number }>();
  if (pid === undefined) return out;
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const name = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      out.set(Number(tid), { name, us: statCpuUs(`/proc/${pid}/task/${tid}/stat`) });
    }
  } catch { /* exited */ }
  return out;
}
