import { mkdirSync, openSync, closeSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { VmlabError } from '../errors/vmlabError.js';
import { isAlive, sleep } from './processes.js';

/**
 * An exclusive lock (a file created with O_EXCL holding our pid). A lock
 * whose holder died is taken over. Two vmlab processes never change one
 * lab at the same time. `what` names the locked thing in the busy error.
 */
export async function withLock<T>(lockPath: string, what: string, fn: () => Promise<T>, waitMs = 5000): Promise<T> {
  mkdirSync(dirname(lockPath), { recursive: true });
  const deadline = Date.now() + waitMs;
  for (;;) {
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
        throw new VmlabError('busy', `${what} is busy: another vmlab (pid ${holder}) is working on it`, { kind: 'conflict', hint: 'wait for it to finish, or stop that process' });
      }
      await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockPath, { force: true });
  }
}

/** The lock on one lab. */
export const withLabLock = <T>(lockPath: string, lab: string, fn: () => Promise<T>, waitMs?: number) => withLock(lockPath, `lab "${lab}"`, fn, waitMs);
