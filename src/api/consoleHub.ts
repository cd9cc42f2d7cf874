import { createConnection, type Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';

/** Where a console listens (the service's ConsoleAddress): a unix socket, or loopback TCP with console_tcp. */
export type ConsoleTarget = { path: string } | { host: string; port: number };

const targetText = (t: ConsoleTarget) => ('path' in t ? t.path : `${t.host}:${t.port}`);

interface Line {
  /** targetText of where it connected. */
  target: string;
  socket: Socket;
  viewers: Set<WebSocket>;
  open: Promise<void>;
  /** Lets the console go for `vmlab console` (removes the holder marker). */
  release: () => void;
}

/**
 * Serial consoles shared by every viewer. QEMU's chardev socket serves one
 * client, so the server holds one connection per node and fans it out:
 * guest output goes to every WebSocket, what any viewer types goes to the
 * guest. The connection is opened for the first viewer and closed with the
 * last. While the server holds it, `vmlab console` from a shell cannot
 * attach (QEMU has its one client).
 */
export class ConsoleHub {
  private readonly lines = new Map<string, Line>();

  constructor(private readonly log: FastifyBaseLogger) {}

  /** Viewers of `key` now. */
  viewers(key: string): number {
    return this.lines.get(key)?.viewers.size ?? 0;
  }

  /**
   * Add a viewer. Rejects if the console cannot be reached (the node
   * stopped between the check and now); the WebSocket is then closed by
   * the caller.
   */
  async attach(
    key: string,
    target: ConsoleTarget,
    ws: WebSocket,
    hold: () => () => void = () => () => undefined,
  ): Promise<void> {
    let line = this.lines.get(key);
    if (line && line.target !== targetText(target)) {
      // The node was deployed again with its console elsewhere: the old line is dead.
      this.drop(key, line, 'the console moved');
      line = undefined;
    }
    if (!line) line = this.open(key, target, hold);
    line.viewers.add(ws);
    const l = line;
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      if (l.socket.writable)
        l.socket.write(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer));
    });
    ws.on('close', () => {
      l.viewers.delete(ws);
      if (l.viewers.size === 0 && this.lines.get(key) === l) this.drop(key, l);
    });
    try {
      await l.open;
    } catch (err) {
      l.viewers.delete(ws);
      throw err;
    }
  }

  private open(key: string, target: ConsoleTarget, hold: () => () => void): Line {
    const socket = createConnection(target);
    let held: (() => void) | undefined = hold();
    const release = () => {
      held?.();
      held = undefined;
    };
    const viewers = new Set<WebSocket>();
    const open = new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    open.catch(() => undefined);
    const line: Line = { target: targetText(target), socket, viewers, open, release };
    this.lines.set(key, line);
    socket.on('data', (d: Buffer) => {
      for (const v of viewers) if (v.readyState === v.OPEN) v.send(d, { binary: true });
    });
    socket.on('error', (err) => this.log.warn({ console: key, err: err.message }, 'console connection failed'));
    socket.on('close', () => {
      release();
      if (this.lines.get(key) === line) this.lines.delete(key);
      for (const v of viewers) v.close(1011, 'the console closed (the node stopped?)');
      viewers.clear();
    });
    this.log.info({ console: key, at: line.target }, 'console connection opened');
    return line;
  }

  private drop(key: string, line: Line, why?: string): void {
    this.lines.delete(key);
    for (const v of line.viewers) v.close(1001, why ?? 'closing');
    line.viewers.clear();
    line.socket.destroy();
    line.release();
    this.log.info({ console: key }, 'console connection closed');
  }

  /** The node stopped: tell its viewers and let the connection go. */
  closeNode(key: string): void {
    const line = this.lines.get(key);
    if (line) this.drop(key, line, 'the node stopped');
  }

  closeAll(): void {
    for (const [key, line] of this.lines) this.drop(key, line, 'the server is closing');
  }
}
