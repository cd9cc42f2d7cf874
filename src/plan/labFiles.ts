import { join } from 'node:path';

/*
 * Every on-disk name vmlab uses, in one place (docs/architecture.md,
 * "State directory", explains each). Pure: only path arithmetic.
 */

/** Root of vmlab's state: $VMLAB_HOME or ~/.vmlab. */
export function vmlabRoot(env: NodeJS.ProcessEnv, home: string): string {
  return env.VMLAB_HOME && env.VMLAB_HOME.length > 0 ? env.VMLAB_HOME : join(home, '.vmlab');
}

export const labsDir = (root: string) => join(root, 'labs');
export const labDir = (root: string, lab: string) => join(root, 'labs', lab);

export interface LabFiles {
  dir: string;
  state: string;
  lock: string;
  labKey: string;
  labKeyPub: string;
  sshConfig: string;
  knownHosts: string;
  /** Profiles as they were before deploy, restored by destroy. */
  profileBackups: string;
}

export function labFiles(dir: string): LabFiles {
  return {
    dir,
    state: join(dir, 'state.json'),
    lock: join(dir, 'lock'),
    labKey: join(dir, 'lab.key'),
    labKeyPub: join(dir, 'lab.key.pub'),
    sshConfig: join(dir, 'ssh_config'),
    knownHosts: join(dir, 'known_hosts'),
    profileBackups: join(dir, 'profiles.orig'),
  };
}

export interface NodeFiles {
  pid: string;
  qmp: string;
  /**
   * The serial console's unix socket, beside QMP in the 0700 qemu/ dir:
   * only the lab's owner can connect (unless the lab opts in to a TCP
   * console: console_tcp).
   */
  console: string;
  overlay: string;
  /** QEMU's own stdout/stderr. */
  log: string;
  /** Everything the guest wrote to its serial console. */
  serialLog: string;
  hostKey: string;
  /** cloud-init NoCloud seed (cloud images only). */
  seed: string;
}

export function nodeFiles(dir: string, node: string): NodeFiles {
  return {
    pid: join(dir, 'qemu', `${node}.pid`),
    qmp: join(dir, 'qemu', `${node}.qmp`),
    console: join(dir, 'qemu', `${node}.console`),
    overlay: join(dir, 'disks', `${node}.qcow2`),
    log: join(dir, 'logs', `${node}.log`),
    serialLog: join(dir, 'logs', `${node}.serial.log`),
    hostKey: join(dir, 'keys', `${node}_host_ed25519`),
    seed: join(dir, 'seeds', `${node}.iso`),
  };
}

/**
 * Present (holding a pid) while a vmlab server holds a node's serial
 * console for its WebSocket viewers: QEMU serves one console client, so
 * `vmlab console` checks it and says who has the console instead of hanging.
 */
export const consoleHolderFile = (labDir: string, node: string) => join(labDir, 'qemu', `${node}.console-holder`);

/**
 * A node's passt (management egress): its socket beside QMP in the lab's
 * private qemu/ dir (the same length as the QMP path, so it fits a unix
 * socket address where that does), its pid file and log.
 */
export const passtFiles = (labDir: string, node: string) => ({
  socket: join(labDir, 'qemu', `${node}.net`),
  pidFile: join(labDir, 'qemu', `${node}.passt.pid`),
  log: join(labDir, 'logs', `${node}.passt.log`),
});

/** A multi-host node's SSH relay (lab/sshRelay): its pid file beside QMP, its log. */
export const relayFiles = (labDir: string, node: string) => ({
  pidFile: join(labDir, 'qemu', `${node}.relay.pid`),
  log: join(labDir, 'logs', `${node}.relay.log`),
});

/**
 * For the tools users already have (plan/inventory), written at deploy: an
 * Ansible inventory and containerlab's topology-data.json. (Functions, not
 * LabFiles fields: plans recorded before them still name every file.)
 */
export const inventoryFile = (labDir: string) => join(labDir, 'inventory.yml');
export const topologyDataFile = (labDir: string) => join(labDir, 'topology-data.json');

/** Linux limits a unix socket path (the QMP and console sockets) to 107 bytes plus NUL. */
export const UNIX_SOCKET_PATH_MAX = 107;

/**
 * The UNIX socket of a link end on this host (the NIC's own datagram
 * socket, or the stream socket its node listens on), in the lab's 0700
 * qemu/ directory so that no other user can send to it or connect.
 */
export const linkSocketFile = (labDir: string, node: string, nic: number) => join(labDir, 'qemu', `${node}.nic${nic}`);
