import type { LabPlan, MgmtNet, NicPlan } from '../plan/labPlan.js';
import { relayOfNet } from '../qemu/mgmtNet.js';
import { shellQuote } from '../host/shellQuote.js';
import { style } from './output.js';

/** What the management NIC reaches: the egress setting's effect. */
function mgmtText(net: MgmtNet | undefined): string {
  switch (net?.mode ?? 'isolated') {
    case 'isolated':
      return `user net, isolated (restrict=on: no egress${relayOfNet(net) ? '; SSH relayed to 127.0.0.1' : ''})`;
    case 'passt':
      return 'passt, egress without host loopback (--no-map-gw)';
    case 'nat':
      return style.yellow('user net with egress: the guest reaches host loopback as 10.0.2.2');
  }
}

/** `labDir`: UNIX link sockets are shown under it (qemu/r1.nic1), as the state dir line names it. */
function backendText(nic: NicPlan, labDir: string): string {
  const b = nic.backend;
  const at = (path: string) => (path.startsWith(`${labDir}/`) ? path.slice(labDir.length + 1) : path);
  switch (b.kind) {
    case 'user':
      return `${mgmtText(b.net)}, SSH ${b.bind ?? '127.0.0.1'}:${b.sshPort} → guest :22`;
    case 'unwired':
      return style.dim('unwired');
    case 'tcp-listen':
      return `tcp listen ${b.host}:${b.port} ← ${nic.peer}`;
    case 'tcp-connect':
      return `tcp connect ${b.host}:${b.port} → ${nic.peer}`;
    case 'udp':
      return `udp ${b.host}:${b.localPort} ⇄ ${b.remoteHost ?? ''}:${b.remotePort} ${nic.peer}`;
    case 'unix-listen':
      return `unix stream listen ${at(b.path)} ← ${nic.peer}`;
    case 'unix-connect':
      return `unix stream connect ${at(b.path)} → ${nic.peer}`;
    case 'unix-dgram':
      return `unix dgram ${at(b.path)} ⇄ ${at(b.remotePath)} ${nic.peer}`;
  }
}

function nicText(nic: NicPlan, labDir: string): string {
  const what = backendText(nic, labDir);
  const away = nic.peerHost ? ` (host ${nic.peerHost})` : '';
  return `NIC ${String(nic.index).padEnd(2)} ${(nic.iface || '-').padEnd(12)} ${nic.mac}  ${what}${away}`;
}

/** What --dry-run says of a multi-host lab's other hosts. */
function remoteText(plan: LabPlan): string[] {
  if (!plan.host) return [];
  const out = [`  host ${plan.host}: ${plan.nodes.map((n) => n.name).join(', ') || 'no nodes'}`];
  for (const r of plan.remote ?? []) out.push(`  ${r.name} runs on host ${r.host} (${r.mgmtIp}, ssh ${r.sshPort})`);
  return out;
}

/** The plan as --dry-run prints it: every node, NIC, port, link and QEMU argv. */
export function planText(plan: LabPlan, accelReason: string): string {
  const out: string[] = [];
  out.push(style.bold(`Lab "${plan.name}"`) + ` from ${plan.specDir}`);
  out.push(
    `  ${plan.nodes.length} node(s), ${plan.links.length} link(s) over ${plan.transport.toUpperCase()}; ` +
      `accelerator ${plan.accel.toUpperCase()} (${accelReason})`,
  );
  out.push(`  state dir ${plan.files.dir}`);
  out.push(`  start order: ${plan.startOrder.join(', ')}`);
  out.push(...remoteText(plan));
  for (const w of plan.warnings) out.push(style.yellow(`  warning: ${w}`));
  out.push('', style.bold('Nodes'));
  for (const n of plan.nodes) {
    out.push(
      `  ${style.bold(n.name)}  platform ${n.platform ?? '-'}, ${n.memoryMb} MiB, ${n.cpus} vCPU, ` +
        `cpu ${[n.cpuModel, ...n.cpuFeatures].join(',')}, ${n.nicDriver}, map ${n.interfaceMap}` +
        `${n.deviceType === 'host' ? ' (host device: management NIC last in PCI order, eth0 = first data port)' : ''}` +
        `, boot timeout ${n.bootTimeoutS} s`,
    );
    out.push(`    image ${n.image.path} (${n.image.format}) → overlay ${n.files.overlay}`);
    const console = n.consolePort !== null ? `tcp 127.0.0.1:${n.consolePort} (open to local users)` : n.files.console;
    out.push(
      `    ssh ${n.credentials.user}@${n.mgmtIp} -p ${n.sshPort}   console ${console}` +
        `${n.after.length ? `   starts after ${n.after.join(', ')}` : ''}`,
    );
    for (const nic of n.nics) out.push(`    ${nicText(nic, plan.files.dir)}`);
    const b = n.nics[0]?.backend;
    const passt = b?.kind === 'user' && b.net?.mode === 'passt' ? b.net.argv : undefined;
    if (passt) out.push(`    ${style.dim(passt.map(shellQuote).join(' '))}`);
    out.push(`    ${style.dim(n.argv.map(shellQuote).join(' '))}`);
  }
  if (plan.links.length) {
    out.push('', style.bold('Links'));
    for (const l of plan.links) {
      const listener = l.listener === 'a' ? l.a.node : l.z.node;
      // A link on one host uses no port: UNIX sockets in the lab's qemu/ dir.
      const ports =
        l.socket === 'unix'
          ? l.transport === 'udp'
            ? 'unix datagram sockets'
            : `unix stream socket, ${listener} listens`
          : l.transport === 'udp'
            ? `udp ${l.port}/${l.zPort}`
            : `tcp ${l.port}, ${listener} listens`;
      out.push(`  ${String(l.index).padStart(2)}  ${l.a.node}:${l.a.iface} ↔ ${l.z.node}:${l.z.iface}  (${ports})`);
    }
  }
  if (plan.profiles.length) {
    out.push('', style.bold('Profiles patched after deploy (restored by destroy)'));
    for (const p of plan.profiles)
      out.push(
        `  ${p.label}: ${Object.entries(p.set)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
      );
  }
  return out.join('\n');
}
