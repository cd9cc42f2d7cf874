import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { LabState } from './labState.js';
import { labFiles, labsDir } from '../../plan/labFiles.js';
import { cmdline, isAlive, isOurQemu } from '../../host/processes.js';

/** Every live process whose program matches `program`, with its command line (one pass over /proc). */
export function processesOf(program: RegExp): Array<{ pid: number; argv: string[] }> {
  const out: Array<{ pid: number; argv: string[] }> = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = cmdline(Number(entry));
    if (argv && program.test(argv[0] ?? '') && isAlive(Number(entry))) out.push({ pid: Number(entry), argv });
  }
  return out;
}

/** Every live qemu-system process with its command line. */
export const qemuProcesses = () => processesOf(/qemu-system/);

/** Live helpers of a lab (passt, SSH relays): `program` matches, `is` agrees, and an argument lies in its qemu/ dir. */
export function scanLabHelpers(
  labDir: string,
  program: RegExp,
  is: (argv: string[]) => boolean = () => true,
): number[] {
  const prefix = join(labDir, 'qemu') + '/';
  return processesOf(program)
    .filter(({ argv }) => is(argv) && argv.some((a) => a.startsWith(prefix)))
    .map(({ pid }) => pid);
}

/**
 * The QEMUs really running for a lab, found from /proc by the lab path in
 * their command line: what status, start and destroy trust when state.json
 * is stale (a killed deploy), missing or unreadable. Keyed by node name
 * (from `-qmp unix:<lab>/qemu/<node>.qmp`), or `pid-N` for a QEMU that
 * names the lab dir otherwise.
 */
export function scanLabQemus(labDir: string, procs = qemuProcesses()): Map<string, number> {
  const found = new Map<string, number>();
  const qmpPrefix = join(labDir, 'qemu') + '/';
  for (const { pid, argv } of procs) {
    let named = false;
    for (const a of argv) {
      const at = a.indexOf(qmpPrefix);
      if (at < 0) continue;
      const m = /^([^/,]+)\.qmp(,|$)/.exec(a.slice(at + qmpPrefix.length));
      if (m) {
        found.set(m[1]!, pid);
        named = true;
      }
    }
    if (!named && argv.some((a) => a.includes(`${labDir}/`))) found.set(`pid-${pid}`, pid);
  }
  return found;
}

/** Every QEMU running from `labDir`: what a rollback or destroy must stop. */
export const findQemusUnder = (labDir: string): number[] => [...new Set(scanLabQemus(labDir).values())];

/** The pid of a node's QEMU: the recorded one if it is still ours, else one found by scan. */
export function livePid(state: LabState, node: string, scan?: Map<string, number>): number | null {
  const plan = state.plan.nodes.find((n) => n.name === node);
  if (!plan) return null;
  const recorded = state.nodes[node]?.pid;
  if (recorded && isAlive(recorded) && isOurQemu(recorded, plan.files.qmp)) return recorded;
  const found = (scan ?? scanLabQemus(state.plan.files.dir)).get(node);
  return found && isOurQemu(found, plan.files.qmp) ? found : null;
}

/** A deploy whose process died before it finished (kill -9, power loss). */
export function deployInterrupted(state: LabState): boolean {
  return state.status === 'deploying' && !(state.owner_pid && isAlive(state.owner_pid));
}

/**
 * Every lab vmlab knows of: a directory under labs/ with a state file, or
 * with QEMUs running from it (a lab whose state.json was deleted).
 */
export function discoverLabs(root: string): string[] {
  const dir = labsDir(root);
  if (!existsSync(dir)) return [];
  const procs = qemuProcesses();
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .filter((e) => existsSync(labFiles(join(dir, e.name)).state) || scanLabQemus(join(dir, e.name), procs).size > 0)
    .map((e) => e.name)
    .sort();
}
