import { existsSync, readFileSync } from 'node:fs';
import type { LabPlan } from '../plan/labPlan.js';
import { QemuError } from '../qemu/qemuError.js';
import { run, tailLines } from '../qemu/run.js';
import { writeFileAtomic } from './atomicWrite.js';

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
  const lines = [`# vmlab lab "${plan.name}": ssh -F ${plan.files.sshConfig} <node>`, ''];
  for (const n of plan.nodes) {
    lines.push(
      `Host ${n.name}`,
      `  HostName ${n.mgmtIp}`,
      `  Port ${n.sshPort}`,
      `  User ${n.credentials.user}`,
      `  IdentityFile ${plan.files.labKey}`,
      `  UserKnownHostsFile ${plan.files.knownHosts}`,
      '  StrictHostKeyChecking accept-new',
      '  ServerAliveInterval 5',
      '  ServerAliveCountMax 6',
      '  LogLevel ERROR',
      '',
    );
  }
  return lines.join('\n');
}

export function writeSshConfig(plan: LabPlan): void {
  writeFileAtomic(plan.files.sshConfig, sshConfigText(plan));
  if (!existsSync(plan.files.knownHosts)) writeFileAtomic(plan.files.knownHosts, '', 0o600);
}

export const readPublicKey = (path: string) => readFileSync(`${path}.pub`, 'utf8').trim();
