import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { isAlive } from '../../host/processes.js';
import type { NodePlan } from '../../plan/labPlan.js';
import { LabError } from '../labError.js';

/** Where a node's serial console listens: its private unix socket, or loopback TCP (console_tcp). */
export type ConsoleAddress = { path: string } | { host: '127.0.0.1'; port: number };

/**
 * The console of a node as planned: TCP only where the plan has a port (a
 * lab with console_tcp, or one recorded before consoles were sockets).
 */
export function consoleAddress(node: Pick<NodePlan, 'consolePort' | 'files'>): ConsoleAddress {
  return node.consolePort !== null && node.consolePort !== undefined
    ? { host: '127.0.0.1', port: node.consolePort }
    : { path: node.files.console };
}

/** The address in words, for messages. */
export const consoleAddressText = (a: ConsoleAddress) => ('path' in a ? a.path : `${a.host}:${a.port}`);

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
      'console_busy',
      `the serial console of ${node} is held by vmlab serve (pid ${pid}), which shares it with its web viewers`,
      { hint: 'open it through the server (web UI or its console WebSocket), or stop the server' },
    );
  }
}

/** Ctrl-] ends a console session, as in telnet. */
export const CONSOLE_ESCAPE = 0x1d;

/**
 * Attach the terminal to a node's serial console (raw bytes both ways).
 * Resolves when the user presses Ctrl-], stdin ends, or the VM closes it.
 */
export function attachConsole(
  address: ConsoleAddress,
  input: NodeJS.ReadStream,
  output: NodeJS.WriteStream,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(address);
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
      reject(
        new LabError(
          'console_unreachable',
          `cannot open the console at ${consoleAddressText(address)} (${err.message})`,
          { hint: 'is the node running? (vmlab status); only one console client can attach at a time' },
        ),
      );
    });
    socket.once('connect', () => {
      if (raw) input.setRawMode(true);
      input.on('data', onInput);
      input.once('end', () =>
        setTimeout(() => {
          cleanup();
          resolve();
        }, 500),
      );
      input.resume();
    });
    socket.on('data', (d) => output.write(d));
    socket.once('close', () => {
      cleanup();
      resolve();
    });
  });
}
