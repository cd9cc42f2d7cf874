import { createConnection } from 'node:net';
import type { NicPlan, NodePlan } from '../../plan/labPlan.js';
import { LabError } from '../labError.js';

/** One TCP connect attempt: does something accept on host:port? */
function accepts(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const RETRY_MS = 500;
/** After the probe: QEMU accepts it, reads EOF and re-arms its listener before the real connect. */
const SETTLE_MS = 200;

/** The node's TCP links that connect to a listener on another host. */
export const remoteListenersOf = (node: NodePlan): NicPlan[] =>
  node.nics.filter((n) => n.peerHost && n.backend.kind === 'tcp-connect');

/**
 * QEMU's `-netdev socket,connect=` fails at once when nobody listens, and a
 * listener on another host starts when that host's deploy gets to it. So
 * before starting a node, wait for each such listener (a TCP probe QEMU
 * shrugs off: it re-arms its listener on EOF) until `deadline`, then fail
 * naming the peer host and port. `cancelled` ends the wait early.
 */
export async function waitForRemoteListeners(
  node: NodePlan,
  deadline: number,
  cancelled: () => boolean,
  log: (m: string) => void,
): Promise<void> {
  for (const nic of remoteListenersOf(node)) {
    const { host, port } = nic.backend as { host: string; port: number };
    let said = false;
    for (;;) {
      if (cancelled()) return;
      if (await accepts(host, port, Math.min(2000, Math.max(1, deadline - Date.now())))) break;
      if (Date.now() >= deadline) {
        throw new LabError(
          'peer_not_listening',
          `${node.name}: its link ${nic.iface} ↔ ${nic.peer} connects to host ${nic.peerHost} at ${host}:${port}, ` +
            `where nothing listened within vm_boot_timeout (${node.bootTimeoutS} s)`,
          {
            hint:
              `deploy host ${nic.peerHost} too (vmlab deploy -S <spec dir> --host ${nic.peerHost}, on that host); ` +
              `check its address in vmlab.hosts and that ${host}:${port} is reachable from here`,
          },
        );
      }
      if (!said) log(`  ${node.name}: waiting for ${nic.peer} on host ${nic.peerHost} to listen on ${host}:${port}`);
      said = true;
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
    await new Promise((r) => setTimeout(r, SETTLE_MS));
  }
}
