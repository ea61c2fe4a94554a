// Readers for Linux /proc: a process's peak memory and CPU time, and its descendants. Linux only, like the sampler.
import { readFileSync, readdirSync } from 'node:fs';

const CLOCK_TICKS = 100; // USER_HZ: 100 on every Linux we run on (getconf CLK_TCK).

/** `VmHWM` (peak resident set) and `VmRSS` of pid, in bytes; null when the process is gone. */
export function readMemory(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (key) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
}

/** utime+stime of pid (all its threads) in seconds; null when the process is gone. */
export function readCpuSeconds(pid) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name is parenthesized and may contain spaces: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After ')': state is fields[0]; utime and stime are overall fields 14 and 15, i.e. fields[11] and fields[12].
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** { pid, ppid, cmdline } of every process. */
export function listProcesses() {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ');
      out.push({ pid: Number(name), ppid, cmdline });
    } catch {
      // Exited while we looked.
    }
  }
  return out;
}

/** All descendants of root (not root itself). */
export function findDescendants(root) {
  const all = listProcesses();
  const found = [];
  const frontier = [root];
  while (frontier.length) {
    const p = frontier.pop();
    for (const c of all) {
      if (c.ppid === p) {
        found.push(c);
        frontier.push(c.pid);
      }
    }
  }
  return found;
}
