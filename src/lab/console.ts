import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { isAlive } from '../host/processes.js';
import { LabError } from './labError.js';

/**
 * Claim a node's console for this process (a server fanning it out to
 * viewers); the returned function lets it go. QEMU serves one console
 * client: a second one would wait, silent, behind the first.
 */
export function holdConsole(holderFile: string): () => void {
  writeFileSync(holderFile, `${process.pid}\n`, { mode: 0o600 });
  return () => rmSync(holderFile, { force: true });
}

/** Refuse to attach while another live vmlab process holds the console. */
export function assertConsoleFree(holderFile: string, node: string): void {
  let pid = NaN;
  try {
    pid = Number(readFileSync(holderFile, 'utf8').trim());
  } catch {
    return;
  }
  if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
    throw new LabError(
      `the serial console of ${node} is held by vmlab serve (pid ${pid}), which shares it with its web viewers`,
      'open it through the server (web UI or its console WebSocket), or stop the server',
      'conflict',
      'console_busy',
    );
  }
}

/** Ctrl-] ends a console session, as in telnet. */
export const CONSOLE_ESCAPE = 0x1d;

/**
 * Attach the terminal to a node's serial console (raw bytes both ways).
 * Resolves when the user presses Ctrl-], stdin ends, or the VM closes it.
 */
export function attachConsole(port: number, input: NodeJS.ReadStream, output: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const raw = input.isTTY;
    const cleanup = () => {
      if (raw) input.setRawMode(false);
      input.pause();
      input.removeListener('data', onInput);
      socket.destroy();
    };
    const onInput = (chunk: Buffer) => {
      const esc = chunk.indexOf(CONSOLE_ESCAPE);
      if (esc >= 0) {
        if (esc > 0) socket.write(chunk.subarray(0, esc));
        cleanup();
        output.write('\r\n[vmlab: console detached]\r\n');
        resolve();
        return;
      }
      socket.write(chunk);
    };
    socket.once('error', (err) => {
      cleanup();
      reject(new LabError(`cannot open the console on 127.0.0.1:${port} (${err.message})`, 'is the node running? (vmlab status); only one console client can attach at a time'));
    });
    socket.once('connect', () => {
      if (raw) input.setRawMode(true);
      input.on('data', onInput);
      input.once('end', () => setTimeout(() => (cleanup(), resolve()), 500));
      input.resume();
    });
    socket.on('data', (d) => output.write(d));
    socket.once('close', () => {
      cleanup();
      resolve();
    });
  });
}
