import { spawnSync } from 'node:child_process';

/**
 * A local user's attack on a lab link (issue 20): a crafted Ethernet frame
 * sent into the link as another uid, the way QEMU's link sockets carry it
 * (a datagram is one frame; a stream carries a 4-byte length first).
 */

/** An ARP request "who has `targetIp`? tell `senderIp` at `senderMac`": the target learns the sender. */
export function arpRequest(senderMac: string, senderIp: string, targetIp: string): Buffer {
  const mac = (m: string) => Buffer.from(m.split(':').map((b) => parseInt(b, 16)));
  const ip = (a: string) => Buffer.from(a.split('.').map(Number));
  const frame = Buffer.concat([
    mac('ff:ff:ff:ff:ff:ff'),
    mac(senderMac),
    Buffer.from([0x08, 0x06]), // ARP
    Buffer.from([0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]), // Ethernet/IPv4, request
    mac(senderMac),
    ip(senderIp),
    mac('00:00:00:00:00:00'),
    ip(targetIp),
  ]);
  return Buffer.concat([frame, Buffer.alloc(60 - frame.length)]); // minimum Ethernet frame
}

export type LinkTarget =
  | { kind: 'udp'; host: string; port: number }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix-dgram'; path: string }
  | { kind: 'unix-stream'; path: string };

// perl-base is on every Debian system and runs as any uid (node may live in a home other users cannot read).
const SENDER = String.raw`
use Socket;
my ($kind, $addr, $port, $hex) = @ARGV;
my $f = pack('H*', $hex);
my $framed = pack('N', length $f) . $f;
my $ok;
my $inet = $kind eq 'udp' || $kind eq 'tcp';
my $to = $inet ? pack_sockaddr_in($port, inet_aton($addr)) : pack_sockaddr_un($addr);
my $dgram = $kind eq 'udp' || $kind eq 'unix-dgram';
socket(S, $inet ? PF_INET : PF_UNIX, $dgram ? SOCK_DGRAM : SOCK_STREAM, 0) or die "socket: $!";
$ok = $dgram ? send(S, $f, 0, $to) : (connect(S, $to) && send(S, $framed, 0));
if ($ok) { sleep 1; print "sent\n"; exit 0; }
print "errno ", $! + 0, "\n"; exit 1;
`;

/** Errno names the attack may end with. */
const ERRNO: Record<string, string> = { '2': 'ENOENT', '13': 'EACCES', '111': 'ECONNREFUSED' };

/**
 * Send `frame` into `target` as `uid` ("nobody": another local user; null:
 * this process's own user, the lab's owner). Returns "sent" or the errno's name.
 */
export function sendFrame(target: LinkTarget, frame: Buffer, uid: 'nobody' | null): string {
  const addr = 'path' in target ? target.path : target.host;
  const port = 'port' in target ? String(target.port) : '0';
  const perl = ['perl', '-e', SENDER, target.kind, addr, port, frame.toString('hex')];
  const argv = uid ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', ...perl] : perl;
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
  const out = r.stdout.trim();
  if (out === 'sent') return out;
  const m = /^errno (\d+)$/.exec(out);
  if (!m) throw new Error(`the frame sender failed: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  return ERRNO[m[1]!] ?? `errno ${m[1]}`;
}
