import { spawnSync } from 'node:child_process';
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
export const vmlabIn = (ns: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 300_000): Promise<CliResult> => runCli(['ip', 'netns', 'exec', ns, vmlabBin, ...args], env, timeoutMs);

/** A command's output inside a namespace. */
export const inNs = (ns: string, argv: string[]) => spawnSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8' }).stdout;
