import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

/*
 * Every subprocess vmlab starts goes through here: argv arrays (never a
 * shell), one timeout and cancel policy, output collected or fed line by
 * line. Without `env` a child inherits ours.
 */

export interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Stopped because the caller's AbortSignal fired. */
  aborted: boolean;
  /** The program could not be started (not found, not executable): exitCode is 127. */
  spawnError?: Error;
  durationMs: number;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Text written to the child's stdin, which is then closed. Without it the child reads nothing. */
  input?: string;
  /** A stream piped to the child's stdin (a snapshot archive to a remote host). */
  inputStream?: NodeJS.ReadableStream;
  /**
   * Answer on stdin once the child asks: called with all stdout so far after
   * each chunk; the first text it returns is written and stdin closed.
   */
  reply?: (stdoutSoFar: string) => string | undefined;
  /** The child uses our terminal for stdin and stdout (an interactive SSH session); stderr still comes to us. */
  interactive?: boolean;
  /** Each complete line (\n, \r\n or \r) as it arrives; output is still collected. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Raw chunks as they arrive (a progress meter that redraws, a prompt with no newline yet). */
  onChunk?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** How a timeout or abort stops the child (default SIGKILL at once). */
  kill?: KillPolicy;
  /** Keep at most this many characters of each stream (the tail); default everything. */
  keepChars?: number;
}

export interface KillPolicy {
  signal: 'SIGTERM' | 'SIGKILL';
  /** After `signal`, SIGKILL if the child is still there this long after. */
  graceMs?: number;
  /** Run the child in a process group of its own and signal the whole group (make and what it started). */
  group?: boolean;
  /** With `group`: once the leader has exited after a stop, SIGKILL what is left of the group (make's docker run). */
  sweep?: boolean;
}

const tailOf = (text: string, keep: number | undefined) =>
  keep === undefined || text.length <= keep ? text : keep === 0 ? '' : text.slice(-keep);

/** Split a stream into lines without losing a line cut across chunks. */
function lineSplitter(emit: (line: string) => void) {
  let partial = '';
  return {
    push(chunk: string) {
      const lines = (partial + chunk).split(/\r?\n|\r/);
      partial = lines.pop() ?? '';
      for (const l of lines) emit(l);
    },
    flush() {
      if (partial) emit(partial);
      partial = '';
    },
  };
}

function stopper(child: ChildProcess, policy: KillPolicy) {
  let graceTimer: NodeJS.Timeout | undefined;
  const send = (sig: NodeJS.Signals) => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      if (policy.group) process.kill(-child.pid, sig);
      else child.kill(sig);
    } catch {
      /* already gone */
    }
  };
  return {
    stop() {
      send(policy.signal);
      if (policy.signal !== 'SIGKILL' && policy.graceMs !== undefined && !graceTimer) {
        graceTimer = setTimeout(() => send('SIGKILL'), policy.graceMs);
        graceTimer.unref();
      }
    },
    clear: () => clearTimeout(graceTimer),
    /** The leader is gone: KILL its group, which may still hold children that ignored `signal`. */
    sweep() {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* all gone */
      }
    },
  };
}

/** Run a command to its end and collect what it printed. Never rejects: the result says what happened. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const policy = opts.kill ?? { signal: 'SIGKILL' };
  const wantsStdin = opts.input !== undefined || opts.reply !== undefined || opts.inputStream !== undefined;
  const stdin = opts.interactive ? 'inherit' : wantsStdin ? 'pipe' : 'ignore';
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: opts.cwd,
    env: opts.env,
    stdio: [stdin, opts.interactive ? 'inherit' : 'pipe', 'pipe'],
    detached: policy.group === true,
  });
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let aborted = false;
    let replied = false;
    let spawnError: Error | undefined;
    const kill = stopper(child, policy);
    const lines = {
      stdout: lineSplitter((l) => opts.onLine?.(l, 'stdout')),
      stderr: lineSplitter((l) => opts.onLine?.(l, 'stderr')),
    };
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          kill.stop();
        }, opts.timeoutMs)
      : undefined;
    const onAbort = () => {
      aborted = true;
      kill.stop();
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout?.on('data', (d: Buffer) => {
      const text = d.toString();
      stdout = tailOf(stdout + text, opts.keepChars);
      opts.onChunk?.(text, 'stdout');
      if (opts.onLine) lines.stdout.push(text);
      if (opts.reply && !replied) {
        const answer = opts.reply(stdout);
        if (answer !== undefined) {
          replied = true;
          child.stdin?.end(answer);
        }
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      const text = d.toString();
      stderr = tailOf(stderr + text, opts.keepChars);
      opts.onChunk?.(text, 'stderr');
      if (opts.onLine) lines.stderr.push(text);
    });
    if (child.stdin) {
      child.stdin.on('error', () => undefined); // the command may exit without reading its input
      if (opts.input !== undefined) child.stdin.end(opts.input);
      else opts.inputStream?.pipe(child.stdin);
    }
    let settled = false;
    const done = (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      kill.clear();
      if ((timedOut || aborted) && policy.group && policy.sweep) kill.sweep();
      opts.signal?.removeEventListener('abort', onAbort);
      lines.stdout.flush();
      lines.stderr.flush();
      const r: RunResult = { exitCode, signal, stdout, stderr, timedOut, aborted, durationMs: Date.now() - started };
      if (spawnError) r.spawnError = spawnError;
      resolve(r);
    };
    child.on('error', (err) => {
      spawnError = err;
      stderr += err.message;
      done(127, null);
    });
    child.on('close', done);
  });
}

/** A program that daemonizes itself (passt): run it to its exit, blocking, within `timeoutMs`. */
export function runSync(argv: readonly string[], opts: { timeoutMs: number; env?: NodeJS.ProcessEnv }): RunResult {
  const started = Date.now();
  const r = spawnSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: opts.timeoutMs,
    env: opts.env,
  });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  const out: RunResult = {
    exitCode: r.error && !timedOut ? 127 : r.status,
    signal: r.signal,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    timedOut,
    aborted: false,
    durationMs: Date.now() - started,
  };
  if (r.error && !timedOut) out.spawnError = r.error;
  return out;
}

/** A long-lived child (a QEMU, a relay) that outlives us: its own session, output appended to a log file. */
export interface Detached {
  pid: number | undefined;
  /** How it ended, once it has (exit code or signal); undefined while it runs. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Why it could not be started, if it could not. */
  spawnError(): Error | undefined;
}

export function startDetached(argv: readonly string[], opts: { log: string; env?: NodeJS.ProcessEnv }): Detached {
  const out = openSync(opts.log, 'a', 0o600);
  let child: ChildProcess;
  try {
    child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', out, out], env: opts.env });
  } finally {
    closeSync(out);
  }
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let error: Error | undefined;
  child.on('exit', (code, signal) => (exited = { code, signal }));
  child.on('error', (err) => (error = err));
  child.unref();
  return { pid: child.pid, exited: () => exited, spawnError: () => error };
}

/** Last `n` non-empty lines of a text (a child's stderr, a log): the why of a failure message. */
export const tailLines = (text: string, n: number) =>
  text
    .split('\n')
    .filter((l) => l.trim())
    .slice(-n)
    .join('\n');
