import type { MgmtNet, SshRelay } from './netBackend.js';

/*
 * The management NIC's backend. Guest addressing is the same in every mode
 * (QEMU user net's: 10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3), so a
 * guest, its cloud-init and its saved RAM state see no difference.
 */

/** The relay a management network asks for, if any (a multi-host node without egress). */
export const relayOfNet = (net: MgmtNet | undefined): SshRelay | undefined =>
  net?.mode === 'isolated' ? net.relay : undefined;

/** Where the guest's SSH port is forwarded from. */
export interface MgmtForward {
  bind: string;
  sshPort: number;
}

/**
 * passt's command line: one QEMU on `socket` (`--one-off`: passt quits when
 * that QEMU goes, also after a kill -9), daemonized with its pid in
 * `pidFile`. `--no-map-gw`: the gateway is not the host's loopback, so the
 * guest reaches nothing on 127.0.0.1; `--dns-forward` keeps 10.0.2.3 as the
 * DNS server (passt sends those queries to the host's resolver).
 */
export function passtArgv(binary: string, fwd: MgmtForward, files: { socket: string; pidFile: string; log: string }) {
  return [
    binary,
    '--one-off',
    '--quiet',
    '--no-map-gw',
    '--ipv4-only',
    '--address',
    '10.0.2.15',
    '--netmask',
    '24',
    '--gateway',
    '10.0.2.2',
    '--dns',
    '10.0.2.3',
    '--dns-forward',
    '10.0.2.3',
    '--tcp-ports',
    `${fwd.bind}/${fwd.sshPort}:22`,
    '--udp-ports',
    'none',
    '--socket',
    files.socket,
    '--pid',
    files.pidFile,
    '--log-file',
    files.log,
  ];
}

/** QEMU's SSH forward behind a relay: loopback, any free port (lab/sshRelay asks QEMU which). */
export const RELAYED_HOSTFWD = 'hostfwd=tcp:127.0.0.1:0-:22';

/**
 * The loopback port of QEMU's SSH forward, from HMP `info usernet`:
 *   TCP[HOST_FORWARD]   8       127.0.0.1 40823       10.0.2.15    22     0     0
 */
export function forwardedPort(infoUsernet: string): number | undefined {
  const m = /TCP\[HOST_FORWARD\]\s+\d+\s+127\.0\.0\.1\s+(\d+)\s+\S+\s+22\b/.exec(infoUsernet);
  return m ? Number(m[1]) : undefined;
}

/** Netdev id of a never-connected restricted user net beside passt: see mgmtNetdevArgs. */
export const SLIRP_STATE_ID = 'mgmtslirp';

/**
 * The `-netdev` arguments of the management NIC (id `mgmt`). With passt, an
 * unconnected `user,restrict=on` netdev stays too: a snapshot or checkpoint
 * saved under user net carries a "slirp" section that QEMU refuses to load
 * without one ("Unknown savevm section"), so a restore may change the
 * backend while the NIC device stays the same.
 */
export function mgmtNetdevArgs(net: MgmtNet | undefined, fwd: MgmtForward, optValue: (v: string) => string): string[] {
  const hostfwd = `hostfwd=tcp:${fwd.bind}:${fwd.sshPort}-:22`;
  switch (net?.mode ?? 'isolated') {
    case 'isolated':
      // With a relay (multi-host), SSH arrives through it from 127.0.0.1, on
      // a port the kernel picks (the relay may hold 0.0.0.0:<ssh port>).
      if (relayOfNet(net)) return ['-netdev', `user,id=mgmt,restrict=on,${RELAYED_HOSTFWD}`];
      return ['-netdev', `user,id=mgmt,restrict=on,${hostfwd}`];
    case 'nat':
      return ['-netdev', `user,id=mgmt,${hostfwd}`];
    case 'passt':
      return [
        '-netdev',
        `stream,id=mgmt,server=off,addr.type=unix,addr.path=${optValue((net as { socket: string }).socket)}`,
        '-netdev',
        `user,id=${SLIRP_STATE_ID},restrict=on`,
      ];
  }
}
