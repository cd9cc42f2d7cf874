import { createConnection } from 'node:net';
import { LabError } from './labError.js';

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
