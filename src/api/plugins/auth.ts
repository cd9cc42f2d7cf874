import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { HttpError } from '../httpError.js';
import type { Tickets } from '../tickets.js';
import { sameToken } from '../token.js';

/** The one /api/v1 route without the token: it says whether the caller has it (the web UI's first call). */
export const SESSION_PATH = '/api/v1/session';

const unauthorized = () =>
  new HttpError('unauthorized', 'missing or wrong API token', {
    hint: 'send Authorization: Bearer <token> ($VMLAB_HOME/api-token), or open the login link vmlab serve printed',
  });

/** The request's Origin names this server (scheme-less host:port compare with Host). */
function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (!origin || origin === 'null') return false;
  try {
    const o = new URL(origin);
    return o.host === new URL(`${o.protocol}//${req.headers.host ?? ''}`).host;
  } catch {
    return false;
  }
}

/** What a browser gets for a wrong login link: how to get the right one, not a JSON error. */
const WRONG_LINK =
  `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
  `<title>vmlab: wrong login link</title>\n` +
  `<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}` +
  `code{background:#8882;padding:0 .3em}</style>\n` +
  `<h1>This login link is not valid</h1>\n` +
  `<p>The token in it does not match this server's. It changes when the server's token file is replaced.</p>\n` +
  `<p>Get the current link from the terminal where <code>vmlab serve</code> runs ` +
  `(the line <code>login link: …/#token=…</code>), or build it from the token: ` +
  `<code>cat ~/.vmlab/api-token</code> (or <code>$VMLAB_HOME/api-token</code>).</p>\n`;

/** The cookie older versions set: expired wherever a browser still sends it (it went to every port of the host). */
const OLD_COOKIE = 'vmlab_token';
const EXPIRE_OLD = `${OLD_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict`;
const hasOldCookie = (header: string | undefined) =>
  (header ?? '').split(';').some((p) => p.trim().startsWith(`${OLD_COOKIE}=`));

const bearer = (req: FastifyRequest) => /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];

/**
 * Every /api/v1 route (WebSockets included) needs the token as a Bearer
 * header. No cookie: cookies are not scoped by port, so every other web
 * service on 127.0.0.1 the browser visits would receive it. The web UI
 * keeps the token in its tab's sessionStorage; where a browser cannot
 * send a header (a WebSocket, an EventSource) it spends a single-use
 * ticket got with the token (`?ticket=…`, GET only, and an Origin, when
 * sent, naming this server). `?token=…` on a page (the login link of
 * older versions) is moved into the fragment, which browsers never send.
 */
export default fp(async function auth(app: FastifyInstance, opts: { token: string; tickets: Tickets }) {
  const { token, tickets } = opts;
  app.decorate('signedIn', (req: FastifyRequest) => signedIn(req, token));
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    // Never read: only told to go, so it stops reaching the other services on this host.
    if (hasOldCookie(req.headers.cookie)) reply.header('set-cookie', EXPIRE_OLD);
    const [path, query] = splitUrl(req.url);
    const params = new URLSearchParams(query);
    if (path !== '/api/v1' && !path.startsWith('/api/v1/')) {
      const given = params.get('token');
      if (req.method !== 'GET' || given === null) return;
      if (!sameToken(token, given)) return reply.code(401).type('text/html; charset=utf-8').send(WRONG_LINK);
      params.delete('token');
      const rest = params.toString();
      // Only back to a path of this site: `//host` or `/\host` would leave it.
      const back = /^\/(?![/\\])/.test(path) ? path : '/';
      const to = `${back}${rest ? `?${rest}` : ''}#token=${encodeURIComponent(token)}`;
      return reply.header('cache-control', 'no-store').redirect(to, 303);
    }
    if (path === SESSION_PATH && req.method === 'GET') return;
    const given = bearer(req);
    if (given !== undefined || req.headers.authorization !== undefined) {
      if (given === undefined || !sameToken(token, given)) throw unauthorized();
      return;
    }
    const ticket = params.get('ticket');
    // Spent whatever the request: a ticket that was shown is not good again.
    if (ticket === null || !tickets.redeem(ticket) || req.method !== 'GET') throw unauthorized();
    if (req.headers.origin !== undefined && !sameOrigin(req)) {
      throw new HttpError('cross_origin', 'a request authenticated by ticket came from a page of another origin', {
        hint: 'open the stream from the vmlab web UI, or use Authorization: Bearer',
      });
    }
  });
});

/** Whether a request carries the token (Bearer); for GET /api/v1/session. */
export function signedIn(req: FastifyRequest, token: string): boolean {
  const given = bearer(req);
  return given !== undefined && sameToken(token, given);
}

function splitUrl(url: string): [string, string] {
  const q = url.indexOf('?');
  return q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q + 1)];
}
