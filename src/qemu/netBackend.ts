/*
 * The types QEMU's command line is built from that the planner also
 * records: the accelerator and what each NIC is plugged into. They live
 * here, below plan/, so the arrow runs one way (plan -> qemu); plan/labPlan
 * re-exports them.
 */

export type Accel = 'kvm' | 'tcg';

/**
 * What a data NIC is plugged into. A link between two nodes of this host
 * uses UNIX sockets in the lab's 0700 `qemu/` directory, which no other
 * user can open; only a link to another host uses an IP socket.
 */
export type NicBackend =
  | { kind: 'tcp-listen'; host: string; port: number }
  | { kind: 'tcp-connect'; host: string; port: number }
  /** `host`: the local address bound; `remoteHost`: the peer's, when it is on another host. */
  | { kind: 'udp'; host: string; localPort: number; remotePort: number; remoteHost?: string }
  /** A TCP-transport link on one host: a UNIX stream socket (`-netdev stream`) at `path`, which the listener binds. */
  | { kind: 'unix-listen'; path: string }
  | { kind: 'unix-connect'; path: string }
  /** A UDP-transport link on one host: a UNIX datagram socket (`-netdev dgram`) at `path`, sending to `remotePath`. */
  | { kind: 'unix-dgram'; path: string; remotePath: string }
  /** An unwired interface: a NIC on an empty hub, so later NICs keep their index. */
  | { kind: 'unwired' };

/**
 * What a node's management NIC reaches besides its forwarded SSH port.
 * Absent (plans recorded before this setting): isolated.
 */
export type MgmtNet =
  /**
   * QEMU user net with restrict=on: SSH forward only, the guest opens no
   * connection at all. `relay` (a multi-host node): QEMU forwards SSH on
   * 127.0.0.1 and vmlab's relay serves it on the host's address (lab/sshRelay).
   */
  | { mode: 'isolated'; relay?: SshRelay }
  /**
   * passt with --no-map-gw: the guest reaches what the host reaches except
   * the host's loopback. `argv` starts passt, which serves one QEMU on
   * `socket` and quits when it goes; `pidFile` finds a passt left waiting.
   */
  | { mode: 'passt'; socket: string; pidFile: string; log: string; argv: string[] }
  /** QEMU user net unrestricted (passt not installed): the guest also reaches host loopback as 10.0.2.2. */
  | { mode: 'nat' };

/** A multi-host node's SSH relay: it listens on `listen` (the host's address) at the node's SSH port. */
export interface SshRelay {
  listen: string;
  pidFile: string;
  log: string;
}

/** NIC 0: user-mode networking with SSH forwarded on `bind` (multi-host: the host's address; else 127.0.0.1). */
export interface MgmtBackend {
  kind: 'user';
  sshPort: number;
  bind?: string;
  net?: MgmtNet;
}
