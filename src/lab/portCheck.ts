import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import type { LabPlan } from '../plan/labPlan.js';

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
export async function busyPorts(plan: LabPlan): Promise<Array<{ address: string; port: number; use: string }>> {
  const wanted: Array<{ address: string; port: number; use: string; udp: boolean }> = [];
  for (const n of plan.nodes) {
    for (const nic of n.nics) {
      const b = nic.backend;
      if (b.kind === 'user') wanted.push({ address: b.bind ?? '127.0.0.1', port: b.sshPort, use: `SSH of ${n.name}`, udp: false });
      else if (b.kind === 'tcp-listen') wanted.push({ address: b.host, port: b.port, use: `link ${nic.link} (${n.name}:${nic.iface})`, udp: false });
      else if (b.kind === 'udp') wanted.push({ address: b.host, port: b.localPort, use: `link ${nic.link} (${n.name}:${nic.iface})`, udp: true });
    }
    wanted.push({ address: '127.0.0.1', port: n.consolePort, use: `console of ${n.name}`, udp: false });
  }
  const free = await Promise.all(wanted.map((w) => (w.udp ? udpFree(w.port, w.address) : tcpFree(w.port, w.address))));
  return wanted.filter((_, i) => !free[i]).map(({ address, port, use }) => ({ address, port, use }));
}
