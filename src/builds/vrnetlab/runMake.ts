import { run } from '../../host/subprocess.js';

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
 * the group, SIGKILL after a grace period, and SIGKILL to what is left once
 * make has exited. Resolves with the facts; the caller decides what a
 * failure means (make that cannot start rejects).
 */
export async function runMake(o: MakeOptions): Promise<MakeRun> {
  let output = '';
  const r = await run(['make', ...o.args], {
    cwd: o.cwd,
    env: o.env,
    timeoutMs: o.timeoutMs,
    ...(o.signal ? { signal: o.signal } : {}),
    kill: { signal: 'SIGTERM', graceMs: o.graceMs ?? 5000, group: true, sweep: true },
    keepChars: 0, // collected here, in order of arrival
    onLine: (line) => {
      output += line + '\n';
      o.onLine?.(line);
    },
  });
  if (r.spawnError) throw r.spawnError;
  return {
    exitCode: r.exitCode,
    signal: r.signal,
    timedOut: r.timedOut,
    cancelled: r.aborted,
    durationMs: r.durationMs,
    output,
  };
}
