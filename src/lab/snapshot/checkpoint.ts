import { chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import type { LabPlan, NodePlan } from '../../plan/labPlan.js';
import type { Reporter } from '../../host/reporter.js';
import { run, tailLines } from '../../host/subprocess.js';
import { LabError } from '../labError.js';
import { nodeOf, type LabRef } from '../state/labSelect.js';
import { withLab } from '../state/withLab.js';
import type { LabState } from '../state/labState.js';
import { nodeIsUp } from '../node/nodeControl.js';
import { hmpCommand } from '../../qemu/qmp.js';
import { keepOnlySnapshot, overlayInfo, rebaseUnsafe } from '../../qemu/qemuImg.js';
import { resumeAbandoned, withPaused } from './pause.js';
import { runningVersion } from './nodeFacts.js';
import { copyFast } from './fileCopy.js';
import { devicesOf, nodeMismatches, type SnapshotNode } from '../state/snapshotFacts.js';
import { shellQuote } from '../node/sshCommand.js';
import { sshUser } from '../node/sshFiles.js';
import { waitForSsh } from '../node/readiness.js';

/*
 * One node's booted state as a library image (seed 002's checkpoint image):
 * the node's overlay with one internal snapshot holding its RAM, backed by
 * the library image it booted from. Nodes whose vm_image names it start
 * from that snapshot (-loadvm) and are then given their own identity over
 * SSH (hostname, data-NIC MACs, host key, the new lab's key), since every
 * node started from one checkpoint would otherwise be the same machine.
 */

/** The internal snapshot a checkpoint file carries. */
export const CHECKPOINT_SNAPSHOT = 'vmlab-checkpoint';
export const CHECKPOINT_FORMAT = 'vmlab-checkpoint/1';

/** What a checkpoint was saved with and on: stored as JSON on its library record. */
export interface CheckpointFacts {
  format: string;
  snapshot: string;
  source: { lab: string; node: string };
  created: string;
  /** Accelerator, QEMU version, machine, memory and device set, as a lab snapshot records them. */
  saved: SnapshotNode;
  /** The library image its disk is backed by, by digest. */
  base: { name: string; sha256: string; format: string };
  /** Who vmlab logs in as to re-personalise it (the key file sits beside the image). */
  user: string;
  hostname: string;
}

/** A checkpoint's facts from its record; null when the record is not a checkpoint. */
export function parseCheckpoint(json: string | null): CheckpointFacts | null {
  if (!json) return null;
  const f = JSON.parse(json) as CheckpointFacts;
  return f?.format === CHECKPOINT_FORMAT ? f : null;
}

export interface SavedCheckpoint {
  node: NodePlan;
  saved: SnapshotNode;
}

/**
 * Save one running node into `out`: the node is paused, saves (HMP savevm),
 * its overlay is copied (a reflink where the filesystem can), the snapshot
 * is dropped from the live overlay and the node resumes. The copy keeps
 * only that snapshot and is re-pointed at `backing` (a name beside it).
 */
export async function saveCheckpoint(
  ref: LabRef,
  nodeName: string,
  out: string,
  backing: { name: string; format: string },
  reporter: Reporter,
): Promise<SavedCheckpoint> {
  return withLab(ref, {}, async (state) => {
    await resumeAbandoned(state, reporter);
    const n = nodeOf(state, nodeName);
    if (!nodeIsUp(state, n.name)) {
      const why = `${n.name} of lab "${ref.name}" is not running: a checkpoint saves a booted node's RAM`;
      throw new LabError('node_not_running', why, { hint: `start it first: vmlab start ${n.name}` });
    }
    const version = await runningVersion(n);
    rmSync(out, { force: true });
    const t0 = Date.now();
    const onFail = { hint: 'nothing was saved; try again', code: 'checkpoint_failed' as const };
    await withPaused(state, [n], reporter, onFail, async () => {
      const qmp = n.files.qmp;
      const stale = (await overlayInfo(n.files.overlay)).snapshots.some((s) => s.name === CHECKPOINT_SNAPSHOT);
      if (stale) await hmpCommand(qmp, `delvm ${CHECKPOINT_SNAPSHOT}`);
      await hmpCommand(qmp, `savevm ${CHECKPOINT_SNAPSHOT}`);
      copyFast(n.files.overlay, out);
      await hmpCommand(qmp, `delvm ${CHECKPOINT_SNAPSHOT}`);
    });
    reporter.verbose(`${n.name}: saved and copied in ${Date.now() - t0} ms`);
    try {
      chmodSync(out, 0o600);
      await keepOnlySnapshot(out, CHECKPOINT_SNAPSHOT);
      await rebaseUnsafe(out, backing.name, backing.format, `${n.name}'s checkpoint`);
      const after = await overlayInfo(out);
      const saved: SnapshotNode = {
        ...devicesOf(n),
        accel: state.nodes[n.name]?.accel ?? state.plan.accel,
        qemu_version: version,
        vm_state_bytes: after.snapshots.find((s) => s.name === CHECKPOINT_SNAPSHOT)?.['vm-state-size'] ?? 0,
        overlay_bytes: after.bytes,
      };
      return { node: n, saved };
    } catch (err) {
      rmSync(out, { force: true });
      throw err;
    }
  });
}

/**
 * Every way the plan's checkpoint nodes differ from what their checkpoints
 * were saved with (MACs aside: each node gets its own), refused before
 * anything starts.
 */
export function checkCheckpoints(plan: LabPlan, qemuVersion: string): void {
  const diffs = plan.nodes.flatMap((n) => {
    if (!n.checkpoint) return [];
    const f = parseCheckpoint(n.checkpoint.facts);
    if (!f) return [`${n.name}: checkpoint "${n.checkpoint.name}" has no readable facts`];
    const now = { plan: n, accel: plan.accel, qemu_version: qemuVersion };
    return nodeMismatches(`${n.name} (checkpoint "${n.checkpoint.name}")`, f.saved, now, { macs: false });
  });
  if (diffs.length) {
    throw new LabError(
      'checkpoint_mismatch',
      `lab "${plan.name}" cannot start from its checkpoints: ${diffs.join('; ')}`,
      {
        hint:
          'give those nodes the memory, CPUs, NIC model and NIC count the checkpoint was saved with ' +
          '(a checkpoint saved under KVM does not load under TCG, nor the other way round), ' +
          'or save a new checkpoint on this host',
      },
    );
  }
}

/** A checkpoint node's disk: a copy of the checkpoint (with its snapshot) on this host's base image. */
export async function placeCheckpointDisk(n: NodePlan): Promise<void> {
  const cp = n.checkpoint!;
  copyFast(n.image.path, n.files.overlay);
  chmodSync(n.files.overlay, 0o600);
  await rebaseUnsafe(n.files.overlay, cp.base.path, cp.base.format, `${n.name}'s disk from checkpoint "${cp.name}"`);
}

/** What a node started from a checkpoint is given to become itself. */
export interface Identity {
  hostname: string;
  /** The lab's public key (replaces the checkpoint lab's). */
  labKeyPub: string;
  /** The key line the checkpoint's guest trusted, removed. */
  oldKeyPub: string;
  /** The node's own host key (OpenSSH private key text) and its public line. */
  hostKey: string;
  hostKeyPub: string;
  /** Data NICs: the MAC saved in the checkpoint → this node's. */
  macs: Array<{ from: string; to: string }>;
}

/**
 * The POSIX sh script (busybox or a full distribution; run as root) that
 * gives a guest its identity: hostname, authorized key, data-NIC MACs,
 * SSH host key (dropbear or OpenSSH, restarted; the running session
 * survives). Values are quoted; the key travels in a quoted here-document.
 */
export function identityScript(id: Identity): string {
  const q = shellQuote;
  const oldBody = id.oldKeyPub.split(/\s+/)[1] ?? id.oldKeyPub;
  return [
    'set -e',
    `name=${q(id.hostname)}`,
    'hostname "$name" 2>/dev/null || true',
    'echo "$name" > /etc/hostname',
    'if [ -f /etc/hosts ]; then grep -v "^127\\.0\\.1\\.1[[:space:]]" /etc/hosts > /etc/hosts.vmlab || true; ' +
      'echo "127.0.1.1 $name" >> /etc/hosts.vmlab; cat /etc/hosts.vmlab > /etc/hosts; rm -f /etc/hosts.vmlab; fi',
    `for f in /root/.ssh/authorized_keys /home/*/.ssh/authorized_keys; do`,
    '  [ -f "$f" ] || continue',
    `  grep -v -F ${q(oldBody)} "$f" > "$f.vmlab" || true`,
    `  echo ${q(id.labKeyPub)} >> "$f.vmlab"`,
    '  cat "$f.vmlab" > "$f"; rm -f "$f.vmlab"',
    'done',
    'setmac() { for i in /sys/class/net/*; do ' +
      'if [ "$(cat "$i/address")" = "$1" ]; then ip link set dev "${i##*/}" address "$2"; fi; done; }',
    ...id.macs.map((m) => `setmac ${q(m.from)} ${q(m.to)}`),
    'umask 077',
    "cat > /tmp/vmlab-hostkey <<'VMLAB_HOST_KEY'",
    id.hostKey.trim(),
    'VMLAB_HOST_KEY',
    'if command -v dropbear >/dev/null 2>&1 && [ -d /etc/dropbear ]; then',
    '  dropbearconvert openssh dropbear /tmp/vmlab-hostkey /etc/dropbear/dropbear_ed25519_host_key.new >/dev/null 2>&1',
    '  mv /etc/dropbear/dropbear_ed25519_host_key.new /etc/dropbear/dropbear_ed25519_host_key',
    '  for p in $(pidof dropbear); do [ "$(cat /proc/$p/stat | cut -d" " -f4)" = 1 ] && kill "$p"; done',
    '  i=0; while netstat -ltn 2>/dev/null | grep -q ":22 " && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done',
    '  dropbear -p 22 -r /etc/dropbear/dropbear_ed25519_host_key',
    'elif [ -d /etc/ssh ]; then',
    '  rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub',
    '  cp /tmp/vmlab-hostkey /etc/ssh/ssh_host_ed25519_key',
    `  echo ${q(id.hostKeyPub)} > /etc/ssh/ssh_host_ed25519_key.pub`,
    '  if [ -f /run/sshd.pid ]; then kill -HUP "$(cat /run/sshd.pid)"; ' +
      'else systemctl reload ssh 2>/dev/null || systemctl reload sshd; fi',
    'fi',
    'rm -f /tmp/vmlab-hostkey',
    'echo vmlab-identity-done',
    '',
  ].join('\n');
}

/** The data NICs' MAC changes: by index, saved → planned. */
export function macChanges(saved: SnapshotNode, n: NodePlan): Array<{ from: string; to: string }> {
  return n.nics
    .filter((nic) => nic.index > 0)
    .flatMap((nic) => {
      const from = saved.nics.find((s) => s.index === nic.index)?.mac;
      return from && from !== nic.mac ? [{ from, to: nic.mac }] : [];
    });
}

/**
 * Log in with the key the checkpoint's guest trusts and give the node its
 * own identity. Tried a few times: the first session after -loadvm can
 * meet a guest that is still catching up on its timers.
 */
export async function giveIdentity(state: LabState, n: NodePlan, timeoutMs = 60_000): Promise<void> {
  const cp = n.checkpoint!;
  const f = parseCheckpoint(cp.facts)!;
  const script = identityScript({
    hostname: n.name,
    labKeyPub: readFileSync(state.plan.files.labKeyPub, 'utf8').trim(),
    oldKeyPub: existsSync(`${cp.key}.pub`) ? readFileSync(`${cp.key}.pub`, 'utf8').trim() : '',
    hostKey: readFileSync(n.files.hostKey, 'utf8'),
    hostKeyPub: readFileSync(`${n.files.hostKey}.pub`, 'utf8').trim(),
    macs: macChanges(f.saved, n),
  });
  const argv = identityArgv(cp.user, cp.key, n);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (let attempt = 1; Date.now() < deadline; attempt++) {
    const r = await run(argv, { input: script, timeoutMs: Math.max(5_000, deadline - Date.now()) });
    if (r.exitCode === 0 && r.stdout.includes('vmlab-identity-done')) return untilSshAnswers(n, deadline);
    last = tailLines(r.stderr || r.stdout, 3) || `exit ${r.exitCode}`;
    if (attempt >= 4) break;
    await new Promise((res) => setTimeout(res, 1000));
  }
  throw new LabError(
    'checkpoint_identity_failed',
    `${n.name}: could not give it its own identity after starting from checkpoint "${cp.name}" (${last})`,
    {
      hint:
        `the checkpoint's guest must accept the key it was saved with for ${cp.user} and have a POSIX shell; ` +
        `see ${n.files.serialLog}`,
    },
  );
}

/**
 * ssh to a checkpoint's guest as the user it was saved with (its record
 * may come from someone else's archive): the user goes with `-l`, checked,
 * and `--` ends the options, so neither it nor the address is ever read
 * as an option.
 */
export function identityArgv(user: string, key: string, n: Pick<NodePlan, 'sshPort' | 'mgmtIp'>): string[] {
  const remote = user === 'root' ? 'sh -s' : 'sudo -n sh -s';
  const opts = ['IdentitiesOnly=yes', 'BatchMode=yes', 'StrictHostKeyChecking=no', 'UserKnownHostsFile=/dev/null'];
  opts.push('LogLevel=ERROR', 'ConnectTimeout=15');
  const login = sshUser(user, "on ssh's command line");
  const port = String(n.sshPort);
  return ['ssh', '-i', key, ...opts.flatMap((o) => ['-o', o]), '-p', port, '-l', login, '--', n.mgmtIp, remote];
}

/**
 * The script restarted the SSH server (sshd re-executes on HUP): after a
 * moment (the old one may still answer), wait until it answers again.
 */
async function untilSshAnswers(n: NodePlan, deadline: number): Promise<void> {
  await new Promise((res) => setTimeout(res, 500));
  await waitForSsh(n.sshPort, Math.max(0, deadline - Date.now()), () => true, n.mgmtIp);
}
