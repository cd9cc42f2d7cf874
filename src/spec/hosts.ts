import { isValidName, isValidUser, NAME_RULE } from './names.js';
import type { IssueList } from './specError.js';

/** One entry of `vmlab.hosts`: where that machine is reached, and what its lab sockets bind to. */
export interface HostEntry {
  /** The address others reach it at (and its nodes' mgmt_ip). */
  address: string;
  /** SSH login for `--all-hosts` (`user@address`); absent: the caller's user. */
  user?: string;
  /** What its cross-host listeners and SSH forwards bind to: the address unless the entry says `listen`. */
  listen: string;
}

// An IPv4 address or a DNS name: it reaches QEMU's option parser and ssh, so nothing else.
const ADDRESS = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * `vmlab.hosts` (seed §5.3): name → "address", "user@address", or
 * {"address": …, "listen": "0.0.0.0"} when listeners must bind wider than
 * the host's own address. Problems go to `issues`; bad entries are left out.
 */
export function parseHosts(
  raw: Record<string, unknown> | undefined,
  section: string,
  file: string,
  issues: IssueList,
): Record<string, HostEntry> {
  const out: Record<string, HostEntry> = {};
  for (const [name, value] of Object.entries(raw ?? {})) {
    const path = `${section}.hosts.${name}`;
    if (!isValidName(name)) {
      issues.add(file, path, `host name ${JSON.stringify(name)} is not valid`, `use ${NAME_RULE}`);
      continue;
    }
    const body = typeof value === 'string' ? { address: value } : (value as { address?: unknown; listen?: unknown });
    const text = body.address;
    if (typeof text !== 'string') {
      issues.add(
        file,
        typeof value === 'string' ? path : `${path}.address`,
        `expected an address such as "192.168.1.10" or "user@192.168.1.10", got ${JSON.stringify(text ?? null)}`,
      );
      continue;
    }
    const at = text.lastIndexOf('@');
    const user = at >= 0 ? text.slice(0, at) : undefined;
    const address = text.slice(at + 1);
    if (!ADDRESS.test(address) || (user !== undefined && !isValidUser(user))) {
      const hint = 'write an IPv4 address or DNS name, optionally as user@address, e.g. "admin@192.168.1.10"';
      const where = typeof value === 'string' ? path : `${path}.address`;
      issues.add(file, where, `${JSON.stringify(text)} is not an address`, hint);
      continue;
    }
    const listen = body.listen ?? address;
    if (typeof listen !== 'string' || !IPV4.test(listen)) {
      const named = body.listen === undefined;
      issues.add(
        file,
        named ? path : `${path}.listen`,
        named
          ? `"${address}" is a name, not an IPv4 address: the host's listeners need an address to bind to`
          : `expected an IPv4 address to bind to, such as "0.0.0.0", got ${JSON.stringify(listen)}`,
        named ? `write {"address": "${text}", "listen": "<its IPv4 address>"}` : undefined,
      );
      continue;
    }
    out[name] = { address, ...(user ? { user } : {}), listen };
  }
  return out;
}
