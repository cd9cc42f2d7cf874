import { connects, listens, type LabPlan, type NicBackend, type NodePlan } from '../../plan/labPlan.js';
import { buildQemuArgv, linkHubportId, linkNetdevId, linkNetdevOptions } from '../../qemu/argv.js';
import { QmpClient } from '../../qemu/qmp.js';
import type { LabState } from '../state/labState.js';

/** Is this node's QEMU up according to the state? */
const running = (state: LabState, node: string) =>
  state.nodes[node]?.status === 'running' || state.nodes[node]?.status === 'starting';

/**
 * The argv to start `node` with now: a TCP link whose listening peer is
 * down starts unwired (QEMU would exit on a refused connect; a UNIX stream
 * client would stay unconnected); it is wired over QMP when the peer comes back.
 */
export function argvForStart(plan: LabPlan, node: NodePlan, state: LabState): string[] {
  const nics = node.nics.map((nic) => {
    // A listener on another host is not in this state: deploy waited for it (lab/remoteListener).
    if (!connects(nic.backend) || !nic.peer || nic.peerHost) return nic;
    const peer = nic.peer.split(':')[0]!;
    return running(state, peer) ? nic : { ...nic, backend: { kind: 'unwired' as const } };
  });
  return buildQemuArgv(
    { ...node, nics },
    { lab: plan.name, accel: plan.accel, qemuBinary: plan.qemuBinary, authorizedKeys: plan.files.labKeyPub },
  );
}

export interface PeerNic {
  node: NodePlan;
  nic: number;
  backend: NicBackend;
}

/** The running peers' NICs that face `node` over TCP (IP or UNIX stream), split by whether the peer listens. */
export function tcpPeersOf(
  plan: LabPlan,
  node: string,
  state: LabState,
): { listeners: PeerNic[]; connectors: PeerNic[] } {
  const listeners: PeerNic[] = [];
  const connectors: PeerNic[] = [];
  for (const peer of plan.nodes) {
    if (peer.name === node || !running(state, peer.name)) continue;
    for (const nic of peer.nics) {
      if (!nic.peer || nic.peer.split(':')[0] !== node) continue;
      if (listens(nic.backend)) listeners.push({ node: peer, nic: nic.index, backend: nic.backend });
      if (connects(nic.backend)) connectors.push({ node: peer, nic: nic.index, backend: nic.backend });
    }
  }
  return { listeners, connectors };
}

/**
 * Give a running node a fresh socket behind one data NIC: the old socket
 * (dead since its peer went away) is deleted and a new one joins the
 * NIC's hub. The guest sees its link come back; nothing in it restarts.
 */
export async function relinkNic(peer: PeerNic, state: LabState): Promise<void> {
  const ns = state.nodes[peer.node.name]!;
  const gen = ns.link_generation[peer.nic] ?? 0;
  const qmp = await QmpClient.connect(peer.node.files.qmp);
  try {
    for (const id of [linkHubportId(peer.nic, gen), linkNetdevId(peer.nic, gen)]) {
      await qmp.execute('netdev_del', { id }).catch(() => undefined); // absent when it started unwired
    }
    const next = gen + 1;
    const socket = linkNetdevOptions(peer.backend, linkNetdevId(peer.nic, next))!;
    await qmp.execute('netdev_add', socket);
    await qmp.execute('netdev_add', {
      type: 'hubport',
      id: linkHubportId(peer.nic, next),
      hubid: peer.nic,
      netdev: linkNetdevId(peer.nic, next),
    });
    ns.link_generation[peer.nic] = next;
  } finally {
    qmp.close();
  }
}
