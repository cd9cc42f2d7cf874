import { createConnection } from 'node:net';
import { sleep } from './processes.js';

/**
 * One attempt: connect and read until a line starting with "SSH-".
 * QEMU's user-mode forward accepts at once and drops the connection while
 * the guest's sshd is not up yet, so an accepted socket proves nothing.
 */
export function readSshBanner(port: number, host = '127.0.0.1', timeoutMs = 3000): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let data = '';
    const finish = (v: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
      const line = data.split(/\r?\n/).find((l) => l.startsWith('SSH-'));
      if (line) finish(line);
      else if (data.length > 8192) finish(null);
    });
    socket.on('error', () => finish(null));
    socket.on('close', () => finish(null));
  });
}

export interface WaitResult {
  banner: string | null;
  /** Why waiting stopped without a banner. */
  reason?: 'timeout' | 'exited';
  elapsedMs: number;
}

/** Poll until the SSH banner answers, the process dies, or the timeout passes. */
export async function waitForSsh(port: number, timeoutMs: number, stillRunning: () => boolean): Promise<WaitResult> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  while (Date.now() < deadline) {
    if (!stillRunning()) return { banner: null, reason: 'exited', elapsedMs: Date.now() - started };
    const banner = await readSshBanner(port, '127.0.0.1', Math.min(3000, Math.max(200, deadline - Date.now())));
    if (banner) return { banner, elapsedMs: Date.now() - started };
    await sleep(200);
  }
  return { banner: null, reason: 'timeout', elapsedMs: Date.now() - started };
}
