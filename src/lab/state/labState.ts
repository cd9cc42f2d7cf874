import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { LabPlan } from '../../plan/labPlan.js';
import { labFiles, labsDir } from '../../plan/labFiles.js';
import { writeFileAtomic } from '../../host/atomicWrite.js';
import { LabError } from '../labError.js';
import type { SnapshotRecord } from './snapshotFacts.js';

export type NodeStatus = 'starting' | 'running' | 'stopped' | 'failed';

export interface NodeState {
  pid: number | null;
  status: NodeStatus;
  ssh_port: number;
  /** TCP console on 127.0.0.1 (a lab with console_tcp); null when the console is `console_socket`. */
  console_port: number | null;
  /** The serial console's private unix socket (absent in states recorded before it, and with console_tcp). */
  console_socket?: string;
  mgmt_ip: string;
  /** Generation of the socket netdev behind each data NIC (bumped on re-link). */
  link_generation: Record<string, number>;
  /** Why the node failed, when it did. */
  error?: string;
  /** Milliseconds from deploy start to SSH answering. */
  boot_ms?: number;
  /** The accelerator its running QEMU uses (the lab's may change on a KVM fallback). */
  accel?: string;
}

/** state.json (seed §8.2), plus the plan that made the lab so start/stop/destroy need no spec. */
export interface LabState {
  name: string;
  created: string;
  spec_dir: string;
  status: 'deploying' | 'running' | 'failed';
  /** The vmlab process deploying the lab: a dead one means the deploy was interrupted. */
  owner_pid?: number;
  accel: string;
  nodes: Record<string, NodeState>;
  links: Array<{ a: string; z: string; port: number; z_port?: number; transport: string }>;
  plan: LabPlan;
  /** Whole-lab snapshots (vmlab snapshot), oldest first: what makes each restorable. */
  snapshots?: SnapshotRecord[];
  /**
   * The vmlab process that has the lab's VMs paused (snapshot, restore, export); gone while it is set: they stay
   * paused.
   */
  paused_by?: number;
}

export function initialState(plan: LabPlan, now: Date): LabState {
  return {
    name: plan.name,
    created: now.toISOString().replace(/\.\d+Z$/, 'Z'),
    spec_dir: plan.specDir,
    status: 'deploying',
    owner_pid: process.pid,
    accel: plan.accel,
    nodes: Object.fromEntries(
      plan.nodes.map((n) => [
        n.name,
        {
          pid: null,
          status: 'starting',
          ssh_port: n.sshPort,
          console_port: n.consolePort,
          ...(n.consolePort === null ? { console_socket: n.files.console } : {}),
          mgmt_ip: n.mgmtIp,
          link_generation: {},
        },
      ]),
    ),
    links: plan.links.map((l) => ({
      a: `${l.a.node}:${l.a.iface}`,
      z: `${l.z.node}:${l.z.iface}`,
      port: l.port,
      ...(l.zPort !== undefined ? { z_port: l.zPort } : {}),
      transport: l.transport,
    })),
    plan,
  };
}

export function readState(path: string): LabState {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new LabError('lab_not_found', `no lab state at ${path}`, {
      hint: 'deploy the lab first: vmlab deploy -S <spec dir>',
    });
  }
  try {
    return JSON.parse(text) as LabState;
  } catch {
    throw new LabError('state_unreadable', `lab state ${path} is not valid JSON`, {
      hint: `remove the lab with: vmlab destroy --force ${basename(dirname(path))}`,
    });
  }
}

/** state.json holds SSH passwords: owner-only. */
export const writeState = (path: string, state: LabState) =>
  writeFileAtomic(path, JSON.stringify(state, null, 2) + '\n', 0o600);

/** Names of labs with a state directory under the root. */
export function listLabs(root: string): string[] {
  const dir = labsDir(root);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(labFiles(join(dir, e.name)).state))
    .map((e) => e.name)
    .sort();
}
