import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Dockerd {
  dir: string;
  host: string;
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/**
 * A dockerd of the test's own (FIELD-NOTES): own socket, data and exec
 * roots under a temp dir, no bridge, no iptables, no forwarding — the
 * host's firewall and any other dockerd are left alone. Resolves undefined
 * (with the reason) when dockerd is missing or does not come up.
 */
export async function startDockerd(): Promise<{ dockerd?: Dockerd; why?: string }> {
  if (!existsSync('/usr/sbin/dockerd') && !existsSync('/usr/bin/dockerd'))
    return { why: 'dockerd is not installed (apt-get install docker.io)' };
  const dir = mkdtempSync('/tmp/vmlab-dk-');
  const sock = join(dir, 'docker.sock');
  const logFd = openSync(join(dir, 'dockerd.log'), 'w');
  const child: ChildProcess = spawn(
    'dockerd',
    [
      '--bridge=none',
      '--iptables=false',
      '--ip6tables=false',
      '--ip-forward=false',
      '--ip-masq=false',
      '--data-root',
      join(dir, 'data'),
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'docker.pid'),
      '-H',
      `unix://${sock}`,
    ],
    { stdio: ['ignore', logFd, logFd], detached: true, env: { ...process.env, DOCKER_HOST: '' } },
  );
  closeSync(logFd);
  const host = `unix://${sock}`;
  const env = { ...process.env, DOCKER_HOST: host };
  const stop = async () => {
    if (child.exitCode === null && child.pid) {
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      await new Promise<void>((r) => {
        const t = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            /* gone */
          }
          r();
        }, 15_000);
        child.once('exit', () => {
          clearTimeout(t);
          r();
        });
      });
    }
    // Overlay mounts under the data root go with dockerd; anything left is removed best effort.
    await run('umount', ['-R', join(dir, 'data')]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  let last = '';
  for (let i = 0; i < 60; i++) {
    if (child.exitCode !== null) break;
    try {
      await run('docker', ['version', '--format', '{{.Server.Version}}'], { env });
      return { dockerd: { dir, host, env, stop } };
    } catch (err) {
      last =
        String((err as { stderr?: string }).stderr ?? err)
          .trim()
          .split('\n')
          .pop() ?? '';
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  let tail = '';
  try {
    tail = readFileSync(join(dir, 'dockerd.log'), 'utf8').trim().split('\n').slice(-2).join(' | ');
  } catch {
    /* no log */
  }
  await stop();
  return {
    why: `dockerd did not start: ${last || `exited with ${child.exitCode}`}${tail ? ` (dockerd: ${tail})` : ''}`,
  };
}

/**
 * A base image from a local rootfs: busybox-static (apt-get download, else
 * the host's /bin/busybox), `docker import`ed under `tag`. No registry needed.
 */
export async function importBaseImage(d: Dockerd, tag: string): Promise<void> {
  const work = mkdtempSync(join(d.dir, 'rootfs-'));
  const rootfs = join(work, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  let busybox: string | undefined;
  try {
    await run('apt-get', ['download', '-q', 'busybox-static'], { cwd: work });
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'))!;
    await run('dpkg-deb', ['-x', join(work, deb), join(work, 'deb')]);
    busybox = join(work, 'deb', 'bin', 'busybox');
  } catch {
    busybox = existsSync('/bin/busybox') ? '/bin/busybox' : undefined;
  }
  if (!busybox) throw new Error('no busybox: apt-get download busybox-static failed and /bin/busybox is missing');
  writeFileSync(join(rootfs, 'bin', 'busybox'), readFileSync(busybox));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  symlinkSync('busybox', join(rootfs, 'bin', 'sh'));
  const tar = join(work, 'rootfs.tar');
  await run('tar', ['-C', rootfs, '-cf', tar, '.']);
  await run('docker', ['import', tar, tag], { env: d.env });
  rmSync(work, { recursive: true, force: true });
}
