import type { NodePlan } from '../../plan/labPlan.js';

/*
 * What makes a whole-lab snapshot restorable, as data. Pure: the executor
 * (lab/snapshot.ts) gathers the live facts (accelerator, QEMU version) and
 * hands them in.
 */

/** The devices QEMU must see again for a saved VM state to load. */
export interface SnapshotDevices {
  memory_mb: number;
  cpus: number;
  cpu: string;
  machine: string;
  nic_driver: string;
  disk_bus: string;
  /** Every NIC in index order (management first), by MAC. */
  nics: Array<{ index: number; mac: string }>;
  /** Every drive in order: "qcow2 overlay", "raw seed (read-only)". */
  disks: string[];
}

export interface SnapshotNode extends SnapshotDevices {
  /** The accelerator the node ran under when it was saved. */
  accel: string;
  qemu_version: string;
  /** Size of the saved RAM and device state inside the overlay (0 for --disk-only). */
  vm_state_bytes: number;
  /** The overlay's size on the host after the snapshot (it holds the VM state too). */
  overlay_bytes: number;
}

export interface SnapshotRecord {
  name: string;
  /** ISO time it was taken. */
  created: string;
  /** "full": RAM, devices and disks of running nodes; "disk-only": disks of stopped nodes. */
  kind: 'full' | 'disk-only';
  /** The lab-wide facts (every node's are in `nodes`). */
  accel: string;
  machine: string;
  qemu_version: string;
  nodes: Record<string, SnapshotNode>;
  /** The link map at the time: "r1:eth1" — "r2:eth1" over tcp port N. */
  links: Array<{ a: string; z: string; transport: string; port: number; z_port?: number }>;
  /** How long the lab was paused (full) or the snapshot took (disk-only). */
  took_ms: number;
}

/** The machine type from a QEMU argv (`-machine q35,mem-merge=on` → "q35"). */
export function machineOf(argv: readonly string[]): string {
  const i = argv.indexOf('-machine');
  const value = i >= 0 ? (argv[i + 1] ?? '') : '';
  const first = value.split(',')[0] ?? '';
  return first.startsWith('type=') ? first.slice(5) : first || 'default';
}

/** The device set a node's plan gives QEMU. */
export function devicesOf(node: NodePlan): SnapshotDevices {
  return {
    memory_mb: node.memoryMb,
    cpus: node.cpus,
    cpu: [node.cpuModel, ...node.cpuFeatures].join(','),
    machine: machineOf(node.argv),
    nic_driver: node.nicDriver,
    disk_bus: node.diskBus,
    nics: node.nics.map((n) => ({ index: n.index, mac: n.mac })),
    disks: ['qcow2 overlay', ...(node.seed ? ['raw seed (read-only)'] : [])],
  };
}

/** "7.2.22" from QMP query-version's answer. */
export function qmpVersion(v: unknown): string {
  const q = (v as { qemu?: { major?: number; minor?: number; micro?: number } } | undefined)?.qemu;
  return q ? `${q.major}.${q.minor}.${q.micro}` : 'unknown';
}

/** "7.2.22" from `qemu-system-x86_64 --version`. */
export function binaryVersion(text: string): string {
  return /version (\d+\.\d+\.\d+)/.exec(text)?.[1] ?? 'unknown';
}

/** A node as it would load the snapshot now. */
export interface CurrentNode {
  plan: NodePlan;
  accel: string;
  qemu_version: string;
}

const nicsText = (nics: SnapshotDevices['nics']) =>
  nics.length ? nics.map((n) => `${n.index}=${n.mac}`).join(' ') : 'none';

/**
 * Every way one node as planned now differs from the saved one, in words
 * ("r1 memory: expected 512 MiB, got 256 MiB"). `macs: false` compares the
 * NICs by count only (a library checkpoint gives each node its own MACs).
 */
export function nodeMismatches(
  label: string,
  saved: SnapshotNode,
  c: CurrentNode,
  opts: { macs: boolean } = { macs: true },
): string[] {
  const out: string[] = [];
  const d = devicesOf(c.plan);
  const check = (what: string, expected: string | number, got: string | number, unit = '') => {
    if (String(expected) !== String(got)) out.push(`${label} ${what}: expected ${expected}${unit}, got ${got}${unit}`);
  };
  check('accelerator', saved.accel, c.accel);
  check('machine type', saved.machine, d.machine);
  check('QEMU version', saved.qemu_version, c.qemu_version);
  check('memory', saved.memory_mb, d.memory_mb, ' MiB');
  check('CPUs', saved.cpus, d.cpus);
  check('CPU model', saved.cpu, d.cpu);
  check('NIC model', saved.nic_driver, d.nic_driver);
  if (opts.macs) check('NICs', nicsText(saved.nics), nicsText(d.nics));
  else check('NICs (management included)', saved.nics.length, d.nics.length);
  check('disk bus', saved.disk_bus, d.disk_bus);
  check('disks', saved.disks.join(' + '), d.disks.join(' + '));
  return out;
}

/**
 * Every way the lab as it is now differs from what the snapshot needs, in
 * words. Empty: it can load.
 */
export function snapshotMismatches(rec: SnapshotRecord, current: CurrentNode[]): string[] {
  const out: string[] = [];
  const recorded = Object.keys(rec.nodes).sort();
  const now = current.map((c) => c.plan.name).sort();
  if (recorded.join(',') !== now.join(','))
    out.push(`nodes: expected ${recorded.join(', ') || 'none'}, got ${now.join(', ') || 'none'}`);
  for (const c of current) {
    const r = rec.nodes[c.plan.name];
    if (r) out.push(...nodeMismatches(c.plan.name, r, c));
  }
  return out;
}

/** Sum of what a snapshot holds on disk. */
export const snapshotBytes = (rec: SnapshotRecord) =>
  Object.values(rec.nodes).reduce((s, n) => s + n.vm_state_bytes, 0);
