import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import type { LabPlan } from '../plan/labPlan.js';

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind({ port, address: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** Ports the lab will bind on this host that something else holds already. */
export async function busyPorts(plan: LabPlan): Promise<Array<{ port: number; use: string }>> {
  const wanted: Array<{ port: number; use: string; udp: boolean }> = [];
  for (const n of plan.nodes) {
    wanted.push({ port: n.sshPort, use: `SSH of ${n.name}`, udp: false }, { port: n.consolePort, use: `console of ${n.name}`, udp: false });
  }
  for (const l of plan.links) {
    if (l.transport === 'tcp') wanted.push({ port: l.port, use: `link ${l.index}`, udp: false });
    else wanted.push({ port: l.port, use: `link ${l.index} (A)`, udp: true }, { port: l.zPort!, use: `link ${l.index} (Z)`, udp: true });
  }
  const free = await Promise.all(wanted.map((w) => (w.udp ? udpFree(w.port) : tcpFree(w.port))));
  return wanted.filter((_, i) => !free[i]).map(({ port, use }) => ({ port, use }));
}
