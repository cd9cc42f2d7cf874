/*
 * The SSH relay of one multi-host node, run detached by lab/sshRelay:
 *
 *   node sshRelayMain.js <listen-host> <port> <target-port> <qemu-pid> <qmp-path> <pid-file>
 *
 * It listens on the host's address and passes each connection to QEMU's
 * forward on 127.0.0.1:<target-port>. A connection from 127.0.0.1 reaches the
 * guest from 10.0.2.2, which is on-link, so a guest whose management NIC
 * is restrict=on (no default route) can answer clients on other machines.
 * It quits when that QEMU goes (also after a kill -9) and on SIGTERM.
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { isOurQemu } from '../../host/processes.js';
import { writeFileAtomic } from '../../host/atomicWrite.js';

const [host, portText, targetText, pidText, qmpPath, pidFile] = process.argv.slice(2);
const port = Number(portText);
const target = Number(targetText);
const qemuPid = Number(pidText);
const isPort = (p: number) => Number.isInteger(p) && p > 0 && p < 65536;
if (!host || !isPort(port) || !isPort(target) || !(qemuPid > 0) || !qmpPath || !pidFile) {
  process.stderr.write('usage: sshRelayMain <listen-host> <port> <target-port> <qemu-pid> <qmp-path> <pid-file>\n');
  process.exit(2);
}

const pipeBoth = (a: Socket, b: Socket) => {
  const close = () => {
    a.destroy();
    b.destroy();
  };
  a.pipe(b).on('error', close);
  b.pipe(a).on('error', close);
  a.on('error', close).on('close', close);
  b.on('error', close).on('close', close);
};

const server = createServer({ pauseOnConnect: true }, (client) => {
  const upstream = createConnection({ host: '127.0.0.1', port: target });
  pipeBoth(client, upstream);
  client.resume();
});

const quit = (code: number) => {
  server.close();
  rmSync(pidFile, { force: true });
  process.exit(code);
};

server.once('error', (err) => {
  process.stderr.write(`relay ${host}:${port}: ${err.message}\n`);
  quit(1);
});
server.listen({ host, port, exclusive: true }, () => {
  // The pid file appears once the port is held: what the starter waits for.
  writeFileAtomic(pidFile, `${process.pid}\n`, 0o600);
});
// Poll rather than hold a handle on QEMU: it is not our child.
setInterval(() => isOurQemu(qemuPid, qmpPath) || quit(0), 250);
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => quit(0));
