import { mkdirSync, openSync, closeSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleepAbortable } from 'node:timers/promises';
import { VmlabError } from '../errors/vmlabError.js';
import { isAlive, sleep } from './processes.js';

/** How long and how a lock is waited for. */
export interface LockWait {
  /** Give up with a 'busy' error after this long (default 5000 ms; Infinity: until it is free). */
  waitMs?: number;
  /** How often the holder is looked at (default 100 ms). */
  pollMs?: number;
  /** Stop waiting: rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called once, when the lock is first found held by a live process. */
  onWait?: (holder: number) => void;
}

/**
 * An exclusive lock (a file created with O_EXCL holding our pid). A lock
 * whose holder died is taken over. Two vmlab processes never change one
 * lab at the same time. `what` names the locked thing in the busy error.
 */
export async function withLock<T>(
  lockPath: string,
  what: string,
  fn: () => Promise<T>,
  wait: number | LockWait = 5000,
): Promise<T> {
  const { waitMs = 5000, pollMs = 100, signal, onWait } = typeof wait === 'number' ? { waitMs: wait } : wait;
  mkdirSync(dirname(lockPath), { recursive: true });
  const deadline = Date.now() + waitMs;
  let waited = false;
  for (;;) {
    signal?.throwIfAborted();
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        // The directory went away meanwhile (a concurrent destroy removed the lab): make it again and retry.
        mkdirSync(dirname(lockPath), { recursive: true });
        continue;
      }
      if (code !== 'EEXIST') throw err;
      let text: string | undefined;
      try {
        text = readFileSync(lockPath, 'utf8');
      } catch {
        continue; // removed meanwhile
      }
      const holder = Number(text);
      // An empty lock is one being written (created, pid not yet in it) unless it is old: a writer that died.
      const young = text === '' && Date.now() - (statSync(lockPath, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 2000;
      if (!young && (!Number.isSafeInteger(holder) || holder <= 0 || !isAlive(holder))) {
        rmSync(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new VmlabError('busy', `${what} is busy: another vmlab (pid ${holder}) is working on it`, {
          kind: 'conflict',
          hint: 'wait for it to finish, or stop that process',
        });
      }
      if (!waited) onWait?.(holder);
      waited = true;
      await (signal ? sleepUnlessAborted(pollMs, signal) : sleep(pollMs));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockPath, { force: true });
  }
}

async function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  await sleepAbortable(ms, undefined, { signal }).catch(() => undefined);
}

/** The lock on one lab. */
export const withLabLock = <T>(lockPath: string, lab: string, fn: () => Promise<T>, waitMs?: number) =>
  withLock(lockPath, `lab "${lab}"`, fn, waitMs);
