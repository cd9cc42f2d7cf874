import type { MgmtNet } from './labPlan.js';
import { passtFiles, relayFiles } from './labFiles.js';
import type { ResolvedNode } from './resolveNode.js';
import { passtArgv, type MgmtForward } from '../qemu/mgmtNet.js';

/** cloud-init keys that need the network (the guest fetches packages). */
const NEEDS_NETWORK = ['packages', 'package_update', 'package_upgrade'] as const;

/** Where a node's egress can be turned on, for messages. */
const egressHint = (n: ResolvedNode) =>
  n.mgmtEgress.from
    ? `${n.mgmtEgress.from} is false`
    : `set "vm_mgmt_egress": true in its profile or platform, or "mgmt_egress": true in topology.json's vmlab section`;

/**
 * The management network of one node and the warnings it earns. Egress
 * off (the default): restrict=on (a multi-host node's SSH relayed from its
 * host's address). On: passt (no host loopback) when the host has it, else
 * unrestricted user net, said loudly.
 */
export function planMgmtNet(
  n: ResolvedNode,
  opts: { dir: string; passt?: string; fwd: MgmtForward; seeded: boolean },
): { net: MgmtNet; warnings: string[] } {
  if (!n.mgmtEgress.on) {
    const cloud = (n.cloudInit ?? {}) as Record<string, unknown>;
    const set = (v: unknown) => v !== undefined && v !== false && !(Array.isArray(v) && !v.length);
    const wants = NEEDS_NETWORK.filter((k) => set(cloud[k]));
    const warnings =
      opts.seeded && wants.length
        ? [
            `${n.name}: cloud_init ${wants.join(', ')} need the network, but its management NIC has no egress ` +
              `(${egressHint(n)})`,
          ]
        : [];
    // QEMU's restrict=on also withholds the default route from its DHCP
    // answer, so the guest answers only on-link sources. A multi-host node's
    // SSH is reached from other machines: vmlab's relay takes it on the host
    // address and hands it to QEMU on 127.0.0.1, whence it arrives from 10.0.2.2.
    const relay =
      opts.fwd.bind !== '127.0.0.1' ? { relay: { listen: opts.fwd.bind, ...relayFiles(opts.dir, n.name) } } : {};
    return { net: { mode: 'isolated', ...relay }, warnings };
  }
  if (opts.passt) {
    const files = passtFiles(opts.dir, n.name);
    return { net: { mode: 'passt', ...files, argv: passtArgv(opts.passt, opts.fwd, files) }, warnings: [] };
  }
  return {
    net: { mode: 'nat' },
    warnings: [
      `${n.name}: management egress (${n.mgmtEgress.from}) without passt: QEMU user net, ` +
        `where the guest reaches the host's loopback as 10.0.2.2 (the vmlab API, consoles, local services); ` +
        'install passt (apt-get install passt) to keep it out',
    ],
  };
}
