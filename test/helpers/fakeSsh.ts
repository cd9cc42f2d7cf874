/**
 * A stand-in for the `ssh` client, for tests that run the fake QEMU (whose
 * "guest" only answers an SSH banner): it reads the node's HostName and
 * Port from the `-F` config, and "runs" the command (exit 0, no output)
 * once a banner answers there; otherwise it fails as OpenSSH does when the
 * guest drops the connection (exit 255). Real SSH is tested in the e2e suite.
 */
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';

const args = process.argv.slice(2);
const config = args[args.indexOf('-F') + 1]!;
// The host is the first word that is neither an option nor an option's value.
let host = '';
for (let i = 0; i < args.length && !host; i++) {
  if (/^-[FoipljJ]$/.test(args[i]!)) i++;
  else if (!args[i]!.startsWith('-')) host = args[i]!;
}
const block =
  readFileSync(config, 'utf8')
    .split(/^Host /m)
    .find((b) => b.split(/\s/)[0] === host) ?? '';
const port = Number(/^\s*Port (\d+)/m.exec(block)?.[1]);
const address = /^\s*HostName (\S+)/m.exec(block)?.[1] ?? '127.0.0.1';
const fail = () => {
  process.stderr.write(
    `kex_exchange_identification: Connection closed by remote host\r\nConnection closed by ${address} port ${port}\r\n`,
  );
  process.exit(255);
};
const socket = createConnection({ host: address, port });
let data = '';
const timer = setTimeout(fail, 10_000);
socket.on('data', (d) => {
  data += d.toString();
  if (data.includes('SSH-')) {
    clearTimeout(timer);
    socket.destroy();
    process.exit(0);
  }
});
socket.on('error', fail);
socket.on('close', fail);
