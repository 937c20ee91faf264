import { readdirSync, readFileSync } from 'node:fs';

/** The name the load generator's own CPU goes by among the mesh's processes: the one left out of their total. */
export const LOAD_GENERATOR = 'load generator';

// USER_HZ: the unit of the CPU times in /proc/<pid>/stat, 100 on every common Linux build.
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) process `pid` has used so far, from /proc (Linux); undefined once it is gone. */
export function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) this process has used so far. */
export function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** CPU seconds used so far by the PostgreSQL backends connected to `database` (their process title names it). */
export function postgresCpuSecondsOf(database: string): number {
  let seconds = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let title: string;
    try {
      title = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (title.startsWith('postgres: ') && title.includes(` ${database} `)) seconds += cpuSecondsOf(Number(entry)) ?? 0;
  }
  return seconds;
}
