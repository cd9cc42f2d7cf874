import { existsSync, readFileSync } from 'node:fs';
import type { LabPlan } from '../../plan/labPlan.js';
import { QemuError } from '../../qemu/qemuError.js';
import { run, tailLines } from '../../host/subprocess.js';
import { writeFileAtomic } from '../../host/atomicWrite.js';
import { isValidName, isValidUser, USER_RULE } from '../../spec/names.js';
import { LabError } from '../labError.js';

/** An ed25519 key pair without passphrase (ssh-keygen from openssh-client). */
export async function generateKey(path: string, comment: string): Promise<void> {
  if (existsSync(path)) return;
  const argv = ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path];
  const r = await run(argv, { timeoutMs: 30_000 });
  if (r.exitCode !== 0)
    throw new QemuError('qemu_failed', 'ssh-keygen failed', {
      argv,
      logTail: tailLines(r.stderr, 3),
      hint: 'install openssh-client',
    });
}

const unsafe = (what: string, value: string, hint: string) =>
  new LabError('unsafe_ssh_config', `refusing to write ${what} ${JSON.stringify(value)} into the lab's ssh_config`, {
    hint,
  });

/**
 * One ssh_config value, checked where it is written (the spec was checked
 * at load; a recorded plan or an image's user may come from elsewhere). A
 * line break would start a line of its own (`ProxyCommand …` runs a
 * command), so it, any control character and a double quote are refused;
 * a value with spaces is quoted; in a file name '%' is doubled (ssh
 * expands %-tokens there).
 */
export function sshConfigValue(what: string, value: string, kind: 'path' | 'word' = 'word'): string {
  const text = oneLine(what, value).replace(/\\/g, '\\\\');
  const word = kind === 'path' ? text.replace(/%/g, '%%') : text;
  return /[\s#'\\=]/.test(word) || word === '' ? `"${word}"` : word;
}

function oneLine(what: string, value: string): string {
  if (/[\0-\x1f\x7f"]/.test(value)) {
    throw unsafe(what, value, 'remove the line break, control character or double quote');
  }
  return value;
}

/**
 * The user vmlab logs in as, checked where ssh gets it (ssh_config, `-l`):
 * a user name, never anything ssh would read as more. `where` names the use.
 */
export function sshUser(user: string, where = "into the lab's ssh_config"): string {
  if (isValidUser(user)) return user;
  throw new LabError(
    'unsafe_ssh_user',
    `refusing to write the user ${JSON.stringify(user)} ${where}: not a user name (${USER_RULE})`,
    { hint: 'set ssh_user in the profile (or vm_credentials.user in the platform) to a plain user name' },
  );
}

/**
 * ssh_config for the lab, so `ssh -F <lab>/ssh_config <node>` works.
 * Host keys are learnt on first use into the lab's own known_hosts (never
 * ~/.ssh/known_hosts, where reused ports would clash between labs). Every
 * value goes through sshConfigValue: the file has no line vmlab did not mean.
 */
export function sshConfigText(plan: LabPlan): string {
  const path = (what: string, p: string) => sshConfigValue(what, p, 'path');
  // A node on a cloud image got its host key from us (cloud-init ssh_keys): check it strictly.
  const name = oneLine('the lab name', plan.name);
  const lines = [`# vmlab lab "${name}": ssh -F ${oneLine('the file name', plan.files.sshConfig)} <node>`, ''];
  for (const n of plan.nodes) {
    if (!isValidName(n.name)) throw unsafe('the host', n.name, 'use a device name of letters, digits, "_", "." or "-"');
    lines.push(
      `Host ${n.name}`,
      `  HostName ${sshConfigValue('the address', n.mgmtIp)}`,
      `  Port ${n.sshPort}`,
      `  User ${sshUser(n.credentials.user)}`,
      `  IdentityFile ${path('the key file', plan.files.labKey)}`,
      `  UserKnownHostsFile ${path('the known_hosts file', plan.files.knownHosts)}`,
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
    .map(
      (n) =>
        `[${n.mgmtIp}]:${n.sshPort} ` +
        `${readFileSync(`${n.files.hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ')}\n`,
    );
  if (!existsSync(plan.files.knownHosts) || known.length) writeFileAtomic(plan.files.knownHosts, known.join(''), 0o600);
}
