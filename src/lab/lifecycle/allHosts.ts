import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
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
export const remoteArgv = (entry: HostEntry, args: string[], opts: RemoteOptions): string[] => sshArgv(entry, [opts.bin, ...args], opts);

/** The ssh argv that runs `command` (program first) on a host, each word quoted for its shell. */
export function sshArgv(entry: HostEntry, command: string[], opts: RemoteOptions): string[] {
  const target = entry.user ? `${entry.user}@${entry.address}` : entry.address;
  return [opts.ssh, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', ...(opts.sshConfig ? ['-F', opts.sshConfig] : []), '--', target, command.map(shellQuote).join(' ')];
}

/** Run `command` on a host and collect its output (stdin from `input` when given). */
export function captureOnHost(entry: HostEntry, command: string[], opts: RemoteOptions, input?: NodeJS.ReadableStream): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, ...rest] = sshArgv(entry, command, opts);
  return new Promise((resolve) => {
    const child = spawn(cmd!, rest, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    if (input) {
      child.stdin!.on('error', () => undefined); // ssh gone: its exit code says why
      input.pipe(child.stdin!);
    }
    child.once('error', (err) => resolve({ code: 255, stdout, stderr: `cannot run ${cmd}: ${err.message}` }));
    child.once('close', (code) => resolve({ code: code ?? 255, stdout, stderr }));
  });
}

/** Where a host's output lines go (already prefixed with its name). */
export interface LineSinks {
  stdout(line: string): void;
  stderr(line: string): void;
}

/** Run `vmlab …args` on one host, each line of its output prefixed `[host] `; resolves to its exit code (255: ssh failed). */
export function runOnHost(name: string, entry: HostEntry, args: string[], opts: RemoteOptions, sinks: LineSinks, signal?: AbortSignal): Promise<number> {
  const [cmd, ...rest] = remoteArgv(entry, args, opts);
  return new Promise((resolve) => {
    const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    // Interrupted: end the connection; the caller then rolls the hosts back (a remote deploy still running holds its lab lock until done).
    const onAbort = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', onAbort, { once: true });
    createInterface({ input: child.stdout! }).on('line', (l) => sinks.stdout(`[${name}] ${l}`));
    createInterface({ input: child.stderr! }).on('line', (l) => sinks.stderr(`[${name}] ${l}`));
    child.once('error', (err) => {
      sinks.stderr(`[${name}] cannot run ${cmd}: ${err.message}`);
      resolve(255);
    });
    child.once('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      resolve(code ?? 255);
    });
  });
}

/** Run a vmlab command on every host at once; exit code by host. */
export async function runOnAllHosts(hosts: Record<string, HostEntry>, argsFor: (host: string) => string[], opts: RemoteOptions, sinks: LineSinks, signal?: AbortSignal): Promise<Record<string, number>> {
  const names = Object.keys(hosts);
  const codes = await Promise.all(names.map((h) => runOnHost(h, hosts[h]!, argsFor(h), opts, sinks, signal)));
  return Object.fromEntries(names.map((h, i) => [h, codes[i]!]));
}
