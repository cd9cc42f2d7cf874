import { run } from '../../host/subprocess.js';
import type { HostEntry } from '../../spec/hosts.js';
import { shellQuote } from '../node/sshCommand.js';

/** How to reach the hosts: the ssh client, an optional ssh_config, and vmlab's command there. */
export interface RemoteOptions {
  /** `ssh` unless VMLAB_SSH says otherwise. */
  ssh: string;
  /** VMLAB_SSH_CONFIG: `ssh -F` (ports, keys, jump hosts of the lab machines). */
  sshConfig?: string;
  /** VMLAB_REMOTE_BIN: vmlab on the hosts (default `vmlab` on their PATH). */
  bin: string;
}

export const remoteOptions = (env: NodeJS.ProcessEnv): RemoteOptions => ({
  ssh: env.VMLAB_SSH || 'ssh',
  ...(env.VMLAB_SSH_CONFIG ? { sshConfig: env.VMLAB_SSH_CONFIG } : {}),
  bin: env.VMLAB_REMOTE_BIN || 'vmlab',
});

/**
 * The ssh argv that runs `vmlab …args` on a host. ssh hands the remote
 * shell one string, so each word is quoted for it on its own: what a spec
 * says (a path, a host name) can never become shell syntax there.
 */
export const remoteArgv = (entry: HostEntry, args: string[], opts: RemoteOptions): string[] =>
  sshArgv(entry, [opts.bin, ...args], opts);

/** The ssh argv that runs `command` (program first) on a host, each word quoted for its shell. */
export function sshArgv(entry: HostEntry, command: string[], opts: RemoteOptions): string[] {
  const target = entry.user ? `${entry.user}@${entry.address}` : entry.address;
  return [
    opts.ssh,
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=10',
    ...(opts.sshConfig ? ['-F', opts.sshConfig] : []),
    '--',
    target,
    command.map(shellQuote).join(' '),
  ];
}

/** Run `command` on a host and collect its output (stdin from `input` when given). */
export async function captureOnHost(
  entry: HostEntry,
  command: string[],
  opts: RemoteOptions,
  input?: NodeJS.ReadableStream,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = sshArgv(entry, command, opts);
  // ssh gone before reading all of `input`: its exit code says why (the runner ignores the broken pipe).
  const r = await run(argv, input ? { inputStream: input } : {});
  if (r.spawnError) return { code: 255, stdout: r.stdout, stderr: `cannot run ${argv[0]}: ${r.spawnError.message}` };
  return { code: r.exitCode ?? 255, stdout: r.stdout, stderr: r.stderr };
}

/** Where a host's output lines go (already prefixed with its name). */
export interface LineSinks {
  stdout(line: string): void;
  stderr(line: string): void;
}

/**
 * Run `vmlab …args` on one host, each line of its output prefixed `[host] `; resolves to its exit code (255: ssh
 * failed).
 */
export async function runOnHost(
  name: string,
  entry: HostEntry,
  args: string[],
  opts: RemoteOptions,
  sinks: LineSinks,
  signal?: AbortSignal,
): Promise<number> {
  const argv = remoteArgv(entry, args, opts);
  // Interrupted: end the connection; the caller then rolls the hosts back (a remote deploy still running holds its lab
  // lock until done).
  const r = await run(argv, {
    ...(signal ? { signal } : {}),
    kill: { signal: 'SIGTERM' },
    keepChars: 0,
    onLine: (l, stream) => (stream === 'stdout' ? sinks.stdout(`[${name}] ${l}`) : sinks.stderr(`[${name}] ${l}`)),
  });
  if (r.spawnError) {
    sinks.stderr(`[${name}] cannot run ${argv[0]}: ${r.spawnError.message}`);
    return 255;
  }
  return r.exitCode ?? 255;
}

/** Run a vmlab command on every host at once; exit code by host. */
export async function runOnAllHosts(
  hosts: Record<string, HostEntry>,
  argsFor: (host: string) => string[],
  opts: RemoteOptions,
  sinks: LineSinks,
  signal?: AbortSignal,
): Promise<Record<string, number>> {
  const names = Object.keys(hosts);
  const codes = await Promise.all(names.map((h) => runOnHost(h, hosts[h]!, argsFor(h), opts, sinks, signal)));
  return Object.fromEntries(names.map((h, i) => [h, codes[i]!]));
}
