import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';

/** What this host has to run VMs with, read now. */
export interface HostCapacity {
  cores: number;
  mem_total_mb: number;
  /** MemAvailable: what can be used without swapping (page cache counts as free). */
  mem_available_mb: number;
  /** 1, 5 and 15 minute load averages. */
  load: [number, number, number];
  /** Kernel same-page merging: null where the kernel has no KSM. `run` 1 = merging. */
  ksm: { run: number; pages_sharing: number } | null;
}

const readNumber = (path: string): number | null => {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
};

/** MemAvailable from /proc/meminfo in MiB (Linux ≥ 3.14); falls back to total on other systems. */
function memAvailableMb(): number {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Math.floor(Number(m[1]) / 1024);
  } catch {
    /* not Linux */
  }
  return Math.floor(totalmem() / 2 ** 20);
}

export function hostCapacity(): HostCapacity {
  const run = readNumber('/sys/kernel/mm/ksm/run');
  const [l1, l5, l15] = loadavg();
  return {
    cores: availableParallelism(),
    mem_total_mb: Math.floor(totalmem() / 2 ** 20),
    mem_available_mb: memAvailableMb(),
    load: [l1!, l5!, l15!].map((l) => Math.round(l * 100) / 100) as [number, number, number],
    ksm: run === null ? null : { run, pages_sharing: readNumber('/sys/kernel/mm/ksm/pages_sharing') ?? 0 },
  };
}

/** "load 23.1 on 2 cores": why a guest may be slow to answer. */
export function loadText(c: Pick<HostCapacity, 'cores' | 'load'> = hostCapacity()): string {
  return `host load ${c.load[0]} on ${c.cores} core${c.cores === 1 ? '' : 's'}`;
}

/** A process's resident memory and CPU time so far, from /proc; null when it is gone (or not Linux). */
export function processCost(pid: number): { rss_bytes: number; cpu_seconds: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
    // USER_HZ is 100 on every Linux ABI that matters (x86, arm): what /proc counts ticks in.
    const cpu = (Number(f[11]) + Number(f[12])) / 100;
    return { rss_bytes: rss ? Number(rss[1]) * 1024 : 0, cpu_seconds: Math.round(cpu * 100) / 100 };
  } catch {
    return null;
  }
}
