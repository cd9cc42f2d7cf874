import { spawn } from 'node:child_process';

export interface MakeRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  cancelled: boolean;
  durationMs: number;
  /** Every line make and its children printed (stdout and stderr, in order of arrival). */
  output: string;
}

export interface MakeOptions {
  cwd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
  /** Between SIGTERM and SIGKILL to the process group. */
  graceMs?: number;
}

/**
 * Run make in a process group of its own, so that a timeout or a cancel
 * stops make *and* what it started (docker build, docker run): SIGTERM to
 * the group, SIGKILL after a grace period. Resolves with the facts; the
 * caller decides what a failure means.
 */
export function runMake(o: MakeOptions): Promise<MakeRun> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('make', o.args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    let timedOut = false;
    let cancelled = false;
    const partial = { out: '', err: '' };
    const feed = (key: 'out' | 'err') => (chunk: Buffer) => {
      const text = partial[key] + chunk.toString();
      const lines = text.split(/\r?\n|\r/);
      partial[key] = lines.pop() ?? '';
      for (const line of lines) {
        output += line + '\n';
        o.onLine?.(line);
      }
    };
    child.stdout.on('data', feed('out'));
    child.stderr.on('data', feed('err'));

    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      const pid = child.pid;
      if (pid === undefined || child.exitCode !== null) return;
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        return;
      }
      killTimer = setTimeout(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, o.graceMs ?? 5000);
      killTimer.unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, o.timeoutMs);
    const onAbort = () => {
      cancelled = true;
      stop();
    };
    if (o.signal?.aborted) onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });

    child.on('error', (err) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      o.signal?.removeEventListener('abort', onAbort);
      for (const rest of [partial.out, partial.err]) {
        if (!rest) continue;
        output += rest + '\n';
        o.onLine?.(rest);
      }
      // make exits when its group is signalled; anything it started that ignored SIGTERM gets the KILL now.
      if (timedOut || cancelled) {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* all gone */
        }
      }
      resolve({ exitCode, signal, timedOut, cancelled, durationMs: Date.now() - t0, output });
    });
  });
}
