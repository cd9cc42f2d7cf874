import { createConnection, type Socket } from 'node:net';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

/**
 * A QMP client over the node's unix socket: greeting, capabilities, then
 * one command at a time. Events go to `onEvent` listeners; `onClose` tells
 * when QEMU went away.
 */
export class QmpClient {
  private buffer = '';
  private waiting: Array<{ resolve: (v: unknown) => void; reject: (e: Error) => void }> = [];
  private closed = false;
  private readonly eventListeners: Array<(e: QmpEvent) => void> = [];
  private readonly closeListeners: Array<() => void> = [];

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (line) this.onMessage(JSON.parse(line) as Record<string, unknown>);
      }
    });
    const fail = (err: Error) => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w.reject(err);
    };
    socket.on('error', fail);
    socket.on('close', () => {
      fail(new Error('QMP connection closed'));
      for (const l of this.closeListeners.splice(0)) l();
    });
  }

  private greeted!: Promise<unknown>;

  private onMessage(msg: Record<string, unknown>): void {
    if ('event' in msg) {
      for (const l of this.eventListeners) l(msg as unknown as QmpEvent);
      return;
    }
    const w = this.waiting.shift();
    if (!w) return;
    if ('error' in msg) {
      const e = msg.error as { class?: string; desc?: string };
      w.reject(new Error(`QMP ${e.class ?? 'error'}: ${e.desc ?? ''}`));
    } else {
      w.resolve('return' in msg ? msg.return : msg);
    }
  }

  static connect(path: string, timeoutMs = 5000): Promise<QmpClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`QMP: no greeting from ${path} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('connect', () => {
        const client = new QmpClient(socket);
        // The greeting is the first message; answer it with capabilities.
        client.greeted = new Promise((res, rej) => client.waiting.push({ resolve: res, reject: rej }));
        client.greeted
          .then(() => client.execute('qmp_capabilities'))
          .then(() => {
            clearTimeout(timer);
            resolve(client);
          })
          .catch((err: Error) => {
            clearTimeout(timer);
            reject(err);
          });
      });
    });
  }

  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('QMP connection closed'));
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n');
    });
  }

  onEvent(listener: (e: QmpEvent) => void): void {
    this.eventListeners.push(listener);
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

/** One QMP command on a node's socket, then disconnect. */
export async function qmpCommand(path: string, command: string, args?: Record<string, unknown>): Promise<unknown> {
  const qmp = await QmpClient.connect(path);
  try {
    return await qmp.execute(command, args);
  } finally {
    qmp.close();
  }
}

const HMP_TIMEOUT_MS = 300_000;

/**
 * One HMP command through QMP, then disconnect. HMP reports failure as text
 * ("Error: ..."), which becomes the error's message; savevm of a big guest
 * can take minutes, hence the long default.
 */
export async function hmpCommand(path: string, command: string, timeoutMs = HMP_TIMEOUT_MS): Promise<string> {
  const qmp = await QmpClient.connect(path);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to "${command}" within ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    const out = await Promise.race([qmp.execute('human-monitor-command', { 'command-line': command }), late]);
    const text = String(out ?? '').trim();
    if (/^error|\berror:/im.test(text)) throw new Error(text.replace(/\s+/g, ' '));
    return text;
  } finally {
    if (timer) clearTimeout(timer);
    qmp.close();
  }
}
