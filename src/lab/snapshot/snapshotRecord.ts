import type { NodePlan } from '../../plan/labPlan.js';
import { overlayInfo, type ImageSnapshot } from '../../qemu/qemuImg.js';
import { isValidName, NAME_RULE } from '../../spec/names.js';
import { LabError } from '../labError.js';
import type { LabState } from '../state/labState.js';
import { devicesOf, machineOf, type SnapshotRecord } from '../state/snapshotFacts.js';

/*
 * The snapshot records in state.json: named by the lab-name rules, found by
 * name, and made from the nodes' facts and their overlays once a snapshot
 * is taken.
 */

/** Lab-name rules; not digits only (QEMU finds snapshots by name or by numeric id). */
export function checkSnapshotName(name: string): void {
  if (!isValidName(name) || /^\d+$/.test(name)) {
    const hint = `use ${NAME_RULE}, and not digits only`;
    throw new LabError('invalid_name', `"${name}" is not a valid snapshot name`, { hint });
  }
}

/** The named snapshot, or not_found listing the ones there are. */
export function findSnapshot(state: LabState, name: string): SnapshotRecord {
  const rec = (state.snapshots ?? []).find((s) => s.name === name);
  if (rec) return rec;
  const have = (state.snapshots ?? []).map((s) => s.name);
  throw new LabError(
    'snapshot_not_found',
    `lab "${state.name}" has no snapshot "${name}"; ${have.length ? `it has: ${have.join(', ')}` : 'it has none'}`,
    {
      hint: have.length
        ? `vmlab snapshot --list ${state.name}`
        : `take one: vmlab snapshot --name <name> ${state.name}`,
    },
  );
}

/** What a node was saved under. */
export interface SavedUnder {
  accel: string;
  qemu_version: string;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

const linkMap = (state: LabState): SnapshotRecord['links'] =>
  state.links.map((l) => ({
    a: l.a,
    z: l.z,
    transport: l.transport,
    port: l.port,
    ...(l.z_port !== undefined ? { z_port: l.z_port } : {}),
  }));

/** The record of a snapshot just made: facts per node, sizes from the overlays. */
export async function snapshotRecord(
  state: LabState,
  name: string,
  kind: SnapshotRecord['kind'],
  tookMs: number,
  savedUnder: (n: NodePlan) => SavedUnder,
): Promise<SnapshotRecord> {
  const nodes: SnapshotRecord['nodes'] = {};
  for (const n of state.plan.nodes) {
    const f = savedUnder(n);
    const info = await overlayInfo(n.files.overlay).catch(() => ({ snapshots: [] as ImageSnapshot[], bytes: 0 }));
    nodes[n.name] = {
      ...devicesOf(n),
      accel: f.accel,
      qemu_version: f.qemu_version,
      vm_state_bytes: info.snapshots.find((s) => s.name === name)?.['vm-state-size'] ?? 0,
      overlay_bytes: info.bytes,
    };
  }
  const first = Object.values(nodes)[0];
  return {
    name,
    created: now(),
    kind,
    accel: first?.accel ?? state.plan.accel,
    machine: first?.machine ?? machineOf(state.plan.nodes[0]?.argv ?? []),
    qemu_version: first?.qemu_version ?? 'unknown',
    nodes,
    links: linkMap(state),
    took_ms: tookMs,
  };
}
