import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import type { LabPlan, NodePlan } from '../../plan/labPlan.js';

function tcpFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function udpFree(port: number, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind({ port, address, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/**
 * Ports this host's nodes will bind that something else holds already:
 * SSH forwards and consoles, TCP listeners, UDP endpoints, each on the
 * address it binds (127.0.0.1, or a multi-host lab's own address).
 */
export async function busyPorts(
  plan: Pick<LabPlan, 'nodes'>,
): Promise<Array<{ address: string; port: number; use: string }>> {
  const wanted: Array<{ address: string; port: number; use: string; udp: boolean }> = [];
  for (const n of plan.nodes) {
    for (const nic of n.nics) {
      const b = nic.backend;
      if (b.kind === 'user')
        wanted.push({ address: b.bind ?? '127.0.0.1', port: b.sshPort, use: `SSH of ${n.name}`, udp: false });
      else if (b.kind === 'tcp-listen')
        wanted.push({ address: b.host, port: b.port, use: `link ${nic.link} (${n.name}:${nic.iface})`, udp: false });
      else if (b.kind === 'udp')
        wanted.push({
          address: b.host,
          port: b.localPort,
          use: `link ${nic.link} (${n.name}:${nic.iface})`,
          udp: true,
        });
    }
    if (n.consolePort !== null)
      wanted.push({ address: '127.0.0.1', port: n.consolePort, use: `console of ${n.name}`, udp: false });
  }
  const free = await Promise.all(wanted.map((w) => (w.udp ? udpFree(w.port, w.address) : tcpFree(w.port, w.address))));
  return wanted.filter((_, i) => !free[i]).map(({ address, port, use }) => ({ address, port, use }));
}

/**
 * Just before a node starts: its ports were free when the deploy began, but
 * a later boot wave starts minutes after that check, and the default port
 * bases lie in Linux's ephemeral range, where any client socket may take
 * one meanwhile. Such a holder is short-lived: wait for it (up to
 * `waitMs`), then name what is still busy.
 */
export async function portsStillBusy(
  node: NodePlan,
  waitMs: number,
  stopped: () => boolean = () => false,
): Promise<Array<{ address: string; port: number; use: string }>> {
  const end = Date.now() + waitMs;
  for (;;) {
    const busy = await busyPorts({ nodes: [node] });
    if (!busy.length || Date.now() >= end || stopped()) return busy;
    await new Promise((r) => setTimeout(r, 250));
  }
}
