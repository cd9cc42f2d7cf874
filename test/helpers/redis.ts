import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * A redis-server of the test's own on 127.0.0.1 (a port in 29500-29900, no
 * persistence), or the reason there is none (not installed, no start).
 */
export async function startRedis(): Promise<{ redis?: RedisServer; why?: string }> {
  const bin = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((b) => existsSync(b));
  if (!bin) return { why: 'redis-server is not installed (apt-get install redis-server)' };
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = 29500 + Math.floor(Math.random() * 400);
    const child: ChildProcess = spawn(
      bin,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'],
      { stdio: 'ignore' },
    );
    const url = `redis://127.0.0.1:${port}`;
    const stop = async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    };
    for (let i = 0; i < 40 && child.exitCode === null; i++) {
      const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on('error', () => undefined);
      try {
        await c.connect();
        if ((await c.ping()) === 'PONG') {
          c.disconnect();
          return { redis: { url, stop } };
        }
      } catch {
        c.disconnect();
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await stop(); // the port was taken, or it did not come up: another port
  }
  return { why: 'redis-server did not start on 127.0.0.1' };
}
