import { existsSync, readFileSync, rmSync } from 'node:fs';

/** Is the process there and not a zombie? (Detached VMs are reaped by init, which may take its time.) */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** A process's argv from /proc, or undefined when it is gone. */
export function cmdline(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
}

/**
 * Is `pid` still our QEMU? Guards against PID reuse: the process must be a
 * qemu-system binary whose command line names this node's QMP socket.
 */
export function isOurQemu(pid: number, qmpPath: string): boolean {
  const argv = cmdline(pid);
  if (!argv) return false;
  return /qemu-system/.test(argv[0] ?? '') && argv.some((a) => a.includes(qmpPath));
}

/**
 * Stop the process a pid file names if it is still the one we started
 * (`owns` checks its command line: pids are reused), then drop the file.
 */
export async function stopByPidFile(pidFile: string, owns: (argv: string[]) => boolean): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const argv = pid > 0 && isAlive(pid) ? cmdline(pid) : undefined;
  if (argv && owns(argv)) await terminate(pid);
  rmSync(pidFile, { force: true });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until `pid` has exited, up to `timeoutMs`; true if it did. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(50);
  }
  return !isAlive(pid);
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function terminate(pid: number, graceMs = 3000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitForExit(pid, graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitForExit(pid, 2000);
}

export { sleep };
