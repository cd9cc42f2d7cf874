import { networkInterfaces } from 'node:os';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { HttpError } from '../httpError.js';

export interface HostCheckOptions {
  /** The address the server listens on (`127.0.0.1`, `::1`, `0.0.0.0`, a name or an address). */
  listenHost: string;
  /** More names a client may use (`--host-name`): a reverse proxy's or a DNS name of this host; any port. */
  names: string[];
}

const WILDCARD = new Set(['0.0.0.0', '::', '[::]']);
const bracket = (h: string) => (h.includes(':') && !h.startsWith('[') ? `[${h}]` : h).toLowerCase();

/** The host names (bracketed IPv6) a request may name with this server's port. */
export function ownHostNames(listenHost: string): string[] {
  const out = new Set(['localhost', '127.0.0.1', '[::1]']);
  if (WILDCARD.has(listenHost)) {
    // Listening everywhere: every address of this machine (a rebinding page names a DNS name, never these).
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) out.add(bracket(a.address.replace(/%.*$/, '')));
    }
  } else out.add(bracket(listenHost));
  return [...out];
}

/** `name[:port]` or `[v6][:port]` → lower-case host and port (undefined when absent). */
export function splitHost(value: string): { host: string; port: number | undefined } | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!m) return undefined;
  return { host: m[1]!.toLowerCase(), port: m[2] === undefined ? undefined : Number(m[2]) };
}

/**
 * DNS rebinding: a page on evil.example whose name is made to resolve to
 * 127.0.0.1 is same-origin with it to the browser, but still sends
 * `Host: evil.example`. Every request (WebSocket upgrades and the routes
 * that need no token included) must name this server: its listen address,
 * a loopback name with the listening port, or a configured name. Refused
 * with 421 before anything else runs.
 */
export default fp(async function hostCheck(app: FastifyInstance, opts: HostCheckOptions) {
  const own = ownHostNames(opts.listenHost);
  const names = new Set(opts.names.map((n) => n.toLowerCase()));
  const port = () => {
    const a = app.server.address();
    return typeof a === 'object' && a ? a.port : undefined; // not listening (inject): no port to compare with
  };
  const defaultPort = (req: FastifyRequest) => (req.protocol === 'https' ? 443 : 80);
  app.addHook('onRequest', async (req) => {
    const given = req.headers.host ?? '';
    const h = splitHost(given);
    if (h) {
      if (names.has(h.host) || names.has(`${h.host}:${h.port ?? defaultPort(req)}`)) return;
      const p = port();
      if (own.includes(h.host) && (p === undefined || (h.port ?? defaultPort(req)) === p)) return;
    }
    const p = port();
    const shown = own.slice(0, 6).map((n) => (p === undefined ? n : `${n}:${p}`));
    throw new HttpError(
      'host_not_allowed',
      `the Host header ${JSON.stringify(given)} does not name this server ` +
        `(it answers to ${[...shown, ...names].join(', ')})`,
      {
        hint:
          "open it by one of those names; a DNS name of this host (or a reverse proxy's) is allowed " +
          'with vmlab serve --host-name NAME',
      },
    );
  });
});
