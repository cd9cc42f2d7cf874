import { loadText } from '../../host/hostCapacity.js';
import { run } from '../../host/subprocess.js';
import type { LabState } from '../state/labState.js';
import { nodeOf } from '../state/labSelect.js';
import { sshInvocation } from './sshCommand.js';

/**
 * OpenSSH's words for a session that never started: the guest accepted
 * the TCP connection (QEMU's forward always does) but sshd did not answer
 * in time. Nothing ran on the node, so trying again is safe; a failure
 * after the key exchange is not retried (the command may have run).
 */
const NOT_STARTED = /Connection timed out during banner exchange|kex_exchange_identification|Connection timed out$/;

export interface SessionIo {
  stderr: NodeJS.WritableStream;
  /** Why the session waits, said once per retry. */
  waiting(message: string): void;
}

/** One ssh run with the terminal's stdin/stdout; stderr lines saying the session never started are held back. */
async function attempt(
  argv: string[],
  env: NodeJS.ProcessEnv,
  io: SessionIo,
): Promise<{ code: number; held: string[] }> {
  const held: string[] = [];
  let partial = '';
  let flush: NodeJS.Timeout | undefined;
  const pass = (line: string) => {
    if (NOT_STARTED.test(line.replace(/\r?\n$/, ''))) held.push(line);
    else io.stderr.write(line);
  };
  const onChunk = (chunk: string) => {
    clearTimeout(flush);
    const lines = (partial + chunk).split(/(?<=\n)/);
    partial = lines.at(-1)!.endsWith('\n') ? '' : lines.pop()!;
    lines.forEach(pass);
    // A prompt or progress text with no newline yet: show it soon rather than never.
    if (partial) {
      flush = setTimeout(() => {
        io.stderr.write(partial);
        partial = '';
      }, 100);
    }
  };
  const r = await run(argv, { env, interactive: true, onChunk, keepChars: 0 });
  clearTimeout(flush);
  if (r.spawnError) return { code: 127, held };
  if (partial) pass(partial);
  return { code: r.exitCode ?? (r.signal ? 129 : 1), held };
}

/**
 * `vmlab ssh`/`exec`: run OpenSSH on a node; the exit code is the remote
 * command's. On a loaded host a live guest may not answer the banner in
 * time: that is retried within the node's boot timeout, saying why, instead
 * of failing with OpenSSH's raw message.
 */
export async function runSshSession(
  state: LabState,
  node: string,
  command: string[],
  io: SessionIo,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const deadline = Date.now() + nodeOf(state, node).bootTimeoutS * 1000;
  const { argv, env: childEnv } = sshInvocation(state, node, command, env);
  for (;;) {
    const r = await attempt(argv, childEnv, io);
    const left = Math.round((deadline - Date.now()) / 1000);
    if (r.code !== 255 || r.held.length === 0 || left <= 0) {
      for (const l of r.held) io.stderr.write(l);
      return r.code;
    }
    io.waiting(
      `${node} is running but its SSH server did not answer in time (${loadText()}); trying again for up to ${left} s`,
    );
  }
}
