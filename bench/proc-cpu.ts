/** CPU time of other processes, from /proc (Linux), for the benchmarks that charge a server's work. */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds (user + system) of a process; 0 once it has exited. */
export function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch { return 0; }
}

/** CPU seconds of every postgres process (the database's share of the work). */
export function postgresCpuSeconds(): number {
  let sum = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try { if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'postgres') sum += cpuSeconds(Number(d)); } catch { /* exited */ }
  }
  return sum;
}
