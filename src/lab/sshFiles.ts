import { existsSync, readFileSync } from 'node:fs';
import type { LabPlan } from '../plan/labPlan.js';
import { QemuError } from '../qemu/qemuError.js';
import { run, tailLines } from '../qemu/run.js';
import { writeFileAtomic } from '../host/atomicWrite.js';

/** An ed25519 key pair without passphrase (ssh-keygen from openssh-client). */
export async function generateKey(path: string, comment: string): Promise<void> {
  if (existsSync(path)) return;
  const argv = ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path];
  const r = await run(argv, { timeoutMs: 30_000 });
  if (r.exitCode !== 0) throw new QemuError('ssh-keygen failed', argv, tailLines(r.stderr, 3), 'install openssh-client');
}

/**
 * ssh_config for the lab, so `ssh -F <lab>/ssh_config <node>` works.
 * Host keys are learnt on first use into the lab's own known_hosts (never
 * ~/.ssh/known_hosts, where reused ports would clash between labs).
 */
export function sshConfigText(plan: LabPlan): string {
  // A node on a cloud image got its host key from us (cloud-init ssh_keys): check it strictly.
  const lines = [`# vmlab lab "${plan.name}": ssh -F ${plan.files.sshConfig} <node>`, ''];
  for (const n of plan.nodes) {
    lines.push(
      `Host ${n.name}`,
      `  HostName ${n.mgmtIp}`,
      `  Port ${n.sshPort}`,
      `  User ${n.credentials.user}`,
      `  IdentityFile ${plan.files.labKey}`,
      `  UserKnownHostsFile ${plan.files.knownHosts}`,
      `  StrictHostKeyChecking ${n.seed ? 'yes' : 'accept-new'}`,
      '  ServerAliveInterval 5',
      '  ServerAliveCountMax 6',
      '  LogLevel ERROR',
      '',
    );
  }
  return lines.join('\n');
}

export function writeSshConfig(plan: LabPlan): void {
  writeFileAtomic(plan.files.sshConfig, sshConfigText(plan), 0o600);
  const known = plan.nodes
    .filter((n) => n.seed)
    .map((n) => `[${n.mgmtIp}]:${n.sshPort} ${readFileSync(`${n.files.hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ')}\n`);
  if (!existsSync(plan.files.knownHosts) || known.length) writeFileAtomic(plan.files.knownHosts, known.join(''), 0o600);
}

