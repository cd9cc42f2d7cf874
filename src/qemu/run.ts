import { spawn } from 'node:child_process';

export interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

/** Run a command (argv array, never a shell) and collect its output. */
export function run(argv: readonly string[], opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], ...(opts.env ? { env: opts.env } : {}) });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    if (child.stdin) {
      child.stdin.on('error', () => undefined); // the command may exit without reading its input
      child.stdin.end(opts.input);
    }
    const done = (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (timer) clearTimeout(timer);
      resolve({ exitCode, signal, stdout, stderr, timedOut, durationMs: Date.now() - started });
    };
    child.on('error', (err) => {
      stderr += String(err.message);
      done(127, null);
    });
    child.on('close', done);
  });
}

/** Last `n` non-empty lines of a text. */
export const tailLines = (text: string, n: number) => text.split('\n').filter((l) => l.trim()).slice(-n).join('\n');
