import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/**
 * An in-process QMP socket for tests of the one-shot QMP/HMP helpers and
 * of pausing: it greets, accepts qmp_capabilities, and answers each
 * command with what `answer` returns ({ return } or { error }); `seen`
 * collects the commands in order.
 */
export interface QmpSocket {
  path: string;
  seen: string[];
  close(): Promise<void>;
}

export type QmpAnswer = { return: unknown } | { error: { class: string; desc: string } } | 'silent';

export async function qmpSocket(
  path: string,
  answer: (command: string, args: Record<string, unknown> | undefined) => QmpAnswer,
): Promise<QmpSocket> {
  rmSync(path, { force: true });
  const seen: string[] = [];
  const server: Server = createServer((sock) => {
    sock.setEncoding('utf8');
    const greeting = { QMP: { version: { qemu: { major: 7, minor: 2, micro: 22 } }, capabilities: [] } };
    sock.write(JSON.stringify(greeting) + '\n');
    let buf = '';
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl)) as { execute: string; arguments?: Record<string, unknown> };
        buf = buf.slice(nl + 1);
        if (msg.execute === 'qmp_capabilities') {
          sock.write('{"return": {}}\n');
          continue;
        }
        const hmp = msg.execute === 'human-monitor-command';
        seen.push(hmp ? `hmp ${String(msg.arguments?.['command-line'])}` : msg.execute);
        const a = answer(msg.execute, msg.arguments);
        if (a !== 'silent') sock.write(JSON.stringify(a) + '\n');
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
