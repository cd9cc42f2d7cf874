import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, vmlabBin, type CliResult } from './cli.js';

/** Two network namespaces joined by a veth pair: two "hosts" on one machine, their addresses existing only inside them. */
export interface HostPair {
  names: [string, string];
  addresses: [string, string];
  remove(): void;
}

const ip = (...args: string[]) => {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
};

/** Needs root (CI and this machine run as root). Names carry our pid, so parallel runs do not meet. */
export function makeHostPair(subnet = '10.231.0'): HostPair {
  const tag = `vmlabmh-${process.pid}`;
  const names: [string, string] = [`${tag}-a`, `${tag}-b`];
  const veth = [`vmh${process.pid}a`, `vmh${process.pid}b`]; // interface names: 15 bytes at most
  const addresses: [string, string] = [`${subnet}.1`, `${subnet}.2`];
  const pair: HostPair = {
    names,
    addresses,
    remove: () => {
      for (const n of names) spawnSync('ip', ['netns', 'delete', n]); // takes its end of the veth with it
    },
  };
  try {
    for (const n of names) ip('netns', 'add', n);
    ip('link', 'add', veth[0]!, 'type', 'veth', 'peer', 'name', veth[1]!);
    names.forEach((n, i) => {
      ip('link', 'set', veth[i]!, 'netns', n);
      ip('-n', n, 'addr', 'add', `${addresses[i]}/24`, 'dev', veth[i]!);
      ip('-n', n, 'link', 'set', veth[i]!, 'up');
      ip('-n', n, 'link', 'set', 'lo', 'up'); // the lab's 127.0.0.1 consoles and SSH forwards need it
    });
  } catch (err) {
    pair.remove();
    throw err;
  }
  return pair;
}

/** Run the built CLI inside a namespace, as a user on that host would. */
export const vmlabIn = (ns: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 300_000): Promise<CliResult> =>
  runCli(['ip', 'netns', 'exec', ns, vmlabBin, ...args], env, timeoutMs);

/** A command's output inside a namespace. */
export const inNs = (ns: string, argv: string[]) =>
  spawnSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8' }).stdout;

/** An SSH server in each namespace of a pair, and the ssh_config that reaches them with a key of our own. */
export interface SshServers {
  /** For VMLAB_SSH_CONFIG. */
  config: string;
  stop(): void;
}

/**
 * Start Debian's dropbear (dropbear-bin: the server binary, no service) in
 * each namespace, on port 22 of that host's address only. Each runs with its
 * host's environment (`-e`: VMLAB_HOME, PATH), so a remote `vmlab` acts on
 * that host's library and labs. dropbear reads ~/.ssh/authorized_keys only:
 * inside its own mount namespace (`ip netns exec` makes one), a private
 * directory with our key is bound over root's home.
 */
export async function startSshServers(
  pair: HostPair,
  envs: [NodeJS.ProcessEnv, NodeJS.ProcessEnv],
  work: string,
): Promise<SshServers> {
  const dropbear = ['/usr/sbin/dropbear', '/usr/bin/dropbear'].find((p) => existsSync(p));
  if (!dropbear) throw new Error('no dropbear binary: install dropbear-bin (./install.sh does)');
  const home = join(work, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  chmodSync(home, 0o700);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'vmlab-test', '-f', join(work, 'id')]);
  writeFileSync(join(home, '.ssh', 'authorized_keys'), readFileSync(join(work, 'id.pub')), { mode: 0o600 });
  execFileSync('dropbearkey', ['-t', 'ed25519', '-f', join(work, 'host_key')], { stdio: 'ignore' });
  const servers = pair.names.map((ns, i) =>
    spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        'sh',
        '-c',
        'mount --bind "$1" /root && shift && exec "$@"',
        'sh',
        home,
        dropbear,
        '-F',
        '-E',
        '-e',
        '-s',
        '-p',
        `${pair.addresses[i]}:22`,
        '-r',
        join(work, 'host_key'),
      ],
      {
        env: { ...process.env, ...envs[i] },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    ),
  );
  const logs = servers.map(() => '');
  for (const [i, s] of servers.entries()) s.stderr!.on('data', (d: Buffer) => (logs[i] += d.toString()));
  const config = join(work, 'ssh_config');
  writeFileSync(
    config,
    [
      'Host *',
      '  User root',
      `  IdentityFile ${join(work, 'id')}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${join(work, 'known_hosts')}`,
      '  StrictHostKeyChecking accept-new',
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const stop = () => {
    for (const s of servers) s.kill();
  };
  // Listening once a port probe from the other namespace connects.
  for (let i = 0; i < 2; i++) {
    const deadline = Date.now() + 10_000;
    while (
      spawnSync('ip', ['netns', 'exec', pair.names[1 - i]!, 'bash', '-c', `exec 3<>/dev/tcp/${pair.addresses[i]}/22`])
        .status !== 0
    ) {
      if (Date.now() > deadline || servers[i]!.exitCode !== null) {
        stop();
        throw new Error(`dropbear in ${pair.names[i]} did not listen on ${pair.addresses[i]}:22: ${logs[i]}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { config, stop };
}
