import { spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';

/** A second local user can be made only by root (the tests run as root on CI). */
export const canSwitchUser = () => process.getuid?.() === 0;

/**
 * Connect to a unix socket or a TCP port as `nobody` (setpriv, util-linux)
 * and say what happened: "connected", or the error code (EACCES, ECONNREFUSED, …).
 */
export function connectAsNobody(target: { path: string } | { port: number }): string {
  const script = [
    'const t = JSON.parse(process.argv[1]);',
    "const s = require('node:net').createConnection('path' in t ? t : { host: '127.0.0.1', port: t.port });",
    "s.on('connect', () => { console.log('connected'); process.exit(0); });",
    "s.on('error', (e) => { console.log(e.code); process.exit(0); });",
  ].join('\n');
  const r = spawnSync(
    'setpriv',
    ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '-e', script, JSON.stringify(target)],
    {
      cwd: '/',
      encoding: 'utf8',
      timeout: 10_000,
    },
  );
  if (r.status !== 0) throw new Error(`setpriv as nobody failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}

/** Connect to 127.0.0.1:port as this process: "connected" or the error code. */
export const connectTcp = (port: number) =>
  new Promise<string>((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
