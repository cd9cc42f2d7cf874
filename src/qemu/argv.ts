import type { Accel, MgmtBackend, NicBackend } from './netBackend.js';
import { mgmtNetdevArgs } from './mgmtNet.js';

/**
 * TCG translation cache in MiB. Measured with the tiny guest (QEMU 7.2,
 * docs/architecture.md "Cost per node"): 32 cut RSS by ~17 % at the same
 * boot CPU time; 16 cut more but retranslation cost boot CPU time.
 */
export const TCG_TB_SIZE_MB = 32;

/** QEMU's option parser splits on commas; a literal comma is written twice. */
export const optValue = (v: string) => v.replace(/,/g, ',,');

export interface ArgvContext {
  lab: string;
  accel: Accel;
  qemuBinary: string;
  /** The lab's public key, offered to the guest through fw_cfg. */
  authorizedKeys: string;
}

/** What the command line is built from: the fields of a planned node (plan/labPlan NodePlan) it reads. */
export interface ArgvInput {
  name: string;
  cpuModel: string;
  cpuFeatures: string[];
  cpus: number;
  memoryMb: number;
  diskBus: string;
  nicDriver: string;
  seed: { path: string } | null;
  deviceType?: 'host';
  /** Null: the console is the unix socket `files.console`. */
  consolePort: number | null;
  nics: Array<{ index: number; mac: string; backend: NicBackend | MgmtBackend }>;
  files: { pid: string; overlay: string; serialLog: string; console: string; qmp: string; hostKey: string };
}

/** Netdev id of the socket behind data NIC i (replaced when a peer restarts). */
export const linkNetdevId = (nic: number, generation = 0) => (generation ? `link${nic}g${generation}` : `link${nic}`);
export const linkHubportId = (nic: number, generation = 0) => `${linkNetdevId(nic, generation)}port`;

/** A netdev as QMP's netdev_add takes it: nested objects, booleans (the command line flattens it). */
export type NetdevOptions = { type: string; id: string } & Record<string, string | boolean | Record<string, string>>;

/** The `-netdev` value for a link socket (also used by QMP netdev_add on re-link). */
export function linkNetdevOptions(backend: NicBackend, id: string): NetdevOptions | undefined {
  switch (backend.kind) {
    case 'tcp-listen':
      return { type: 'socket', id, listen: `${backend.host}:${backend.port}` };
    case 'tcp-connect':
      return { type: 'socket', id, connect: `${backend.host}:${backend.port}` };
    case 'udp':
      return {
        type: 'socket',
        id,
        udp: `${backend.remoteHost ?? backend.host}:${backend.remotePort}`,
        localaddr: `${backend.host}:${backend.localPort}`,
      };
    // QEMU 7.2's stream and dgram netdevs on UNIX sockets carry the same frames as `socket` (stream: a 4-byte
    // length first). QEMU unlinks a stale path before it binds (a node killed with -9 leaves its socket file).
    case 'unix-listen':
      return { type: 'stream', id, server: true, addr: { type: 'unix', path: backend.path } };
    case 'unix-connect':
      return { type: 'stream', id, server: false, addr: { type: 'unix', path: backend.path } };
    case 'unix-dgram':
      return {
        type: 'dgram',
        id,
        local: { type: 'unix', path: backend.path },
        remote: { type: 'unix', path: backend.remotePath },
      };
    case 'unwired':
      return undefined;
  }
}

const optPart = (k: string, v: string | boolean) => `${k}=${typeof v === 'boolean' ? (v ? 'on' : 'off') : optValue(v)}`;

/** `type,key=value,…` with nested objects as dotted keys (`addr.type=unix`), as -netdev takes them. */
export const netdevOptString = ({ type, ...rest }: NetdevOptions) =>
  [
    type,
    ...Object.entries(rest).flatMap(([k, v]) =>
      typeof v === 'object' ? Object.entries(v).map(([k2, v2]) => optPart(`${k}.${k2}`, v2)) : [optPart(k, v)],
    ),
  ].join(',');

/**
 * The complete QEMU command line of one node. Pure: every probe (KVM,
 * image format) was done before and is in the input.
 */
export function buildQemuArgv(node: ArgvInput, ctx: ArgvContext): string[] {
  const f = node.files;
  const argv: string[] = [ctx.qemuBinary];

  // Identity: the guest name shows in `ps`; -pidfile lets destroy find it.
  argv.push('-name', `guest=${optValue(`${ctx.lab}.${node.name}`)},process=vmlab-${node.name}`);
  argv.push('-pidfile', f.pid);

  // Machine and CPU. q35 (pc probes a floppy for seconds under TCG);
  // `host` CPU only with KVM. mem-merge marks guest RAM mergeable, so KSM
  // shares identical pages between nodes where the host turns it on.
  // Under TCG a smaller translation cache: QEMU's default (up to 1 GiB)
  // fills with a booting guest's code and stays resident.
  argv.push('-machine', 'q35,mem-merge=on');
  argv.push('-accel', ctx.accel === 'tcg' ? `tcg,tb-size=${TCG_TB_SIZE_MB}` : 'kvm');
  argv.push('-cpu', [node.cpuModel, ...node.cpuFeatures].join(','));
  argv.push('-smp', String(node.cpus), '-m', String(node.memoryMb));
  argv.push('-nodefaults', '-no-user-config', '-display', 'none', '-rtc', 'base=utc');

  // Disk: the node's copy-on-write overlay of the base image.
  argv.push('-drive', `file=${optValue(f.overlay)},format=qcow2,if=${node.diskBus},cache=writeback`);
  // cloud-init NoCloud seed (volume label cidata), read-only.
  if (node.seed) argv.push('-drive', `file=${optValue(node.seed.path)},format=raw,if=${node.diskBus},readonly=on`);

  // NICs in index order. NIC 0: management, SSH forwarded on loopback;
  // isolated (restrict=on) unless egress is on (qemu/mgmtNet).
  // Data NICs sit on a hub of their own so the socket behind them can be
  // replaced over QMP when the peer restarts; unwired ones get an empty hub.
  for (const nic of node.nics) {
    if (nic.backend.kind === 'user') {
      const fwd = { bind: nic.backend.bind ?? '127.0.0.1', sshPort: nic.backend.sshPort };
      argv.push(...mgmtNetdevArgs(nic.backend.net, fwd, optValue));
      argv.push('-device', `${node.nicDriver},netdev=mgmt,mac=${nic.mac}`);
      continue;
    }
    argv.push('-netdev', `hubport,id=nic${nic.index},hubid=${nic.index}`);
    argv.push('-device', `${node.nicDriver},netdev=nic${nic.index},mac=${nic.mac}`);
    const socket = linkNetdevOptions(nic.backend, linkNetdevId(nic.index));
    if (socket) {
      argv.push('-netdev', netdevOptString(socket));
      const hubport = `hubport,id=${linkHubportId(nic.index)},hubid=${nic.index},netdev=${linkNetdevId(nic.index)}`;
      argv.push('-netdev', hubport);
    }
  }

  // A host device's management NIC goes last: PCI order is the order of
  // -device, so a guest naming NICs in PCI order calls its first data port eth0.
  if (node.deviceType === 'host') {
    const at = argv.findIndex((a, i) => argv[i - 1] === '-device' && a.includes(',netdev=mgmt,'));
    argv.push(...argv.splice(at - 1, 2));
  }

  // Serial console on a unix socket in the 0700 qemu/ dir (only the lab's
  // owner connects), or on loopback TCP where the lab opts in (console_tcp);
  // everything the guest prints is also logged to a file.
  const listen = node.consolePort !== null ? `host=127.0.0.1,port=${node.consolePort}` : `path=${optValue(f.console)}`;
  argv.push('-chardev', `socket,id=console,${listen},server=on,wait=off,logfile=${optValue(f.serialLog)},logappend=on`);
  argv.push('-serial', 'chardev:console');

  // Control: QMP on a unix socket in the lab dir.
  argv.push('-qmp', `unix:${optValue(f.qmp)},server=on,wait=off`);

  // Guest identity through fw_cfg: the tiny guest reads these; others ignore them.
  argv.push('-fw_cfg', `name=opt/vmlab/hostname,string=${node.name}`);
  argv.push('-fw_cfg', `name=opt/vmlab/authorized_keys,file=${optValue(ctx.authorizedKeys)}`);
  argv.push('-fw_cfg', `name=opt/vmlab/ssh_host_ed25519_key,file=${optValue(f.hostKey)}`);
  // The tiny guest DHCPs the NIC with this MAC (named mgmt0) instead of eth0.
  if (node.deviceType === 'host') argv.push('-fw_cfg', `name=opt/vmlab/mgmt_mac,string=${node.nics[0]!.mac}`);
  return argv;
}
