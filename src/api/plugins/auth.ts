import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { HttpError } from '../httpError.js';
import { sameToken } from '../token.js';

export const COOKIE = 'vmlab_token';

/** The one /api/v1 route without the token: it says whether the caller has it (the web UI's first call). */
export const SESSION_PATH = '/api/v1/session';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The value of one cookie from a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

const unauthorized = () =>
  new HttpError(401, 'unauthorized', 'missing or wrong API token', 'send Authorization: Bearer <token> ($VMLAB_HOME/api-token), or open the login link vmlab serve printed');

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
const WRONG_LINK = `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>vmlab: wrong login link</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}code{background:#8882;padding:0 .3em}</style>
<h1>This login link is not valid</h1>
<p>The token in it does not match this server's. It changes when the server's token file is replaced.</p>
<p>Get the current link from the terminal where <code>vmlab serve</code> runs (the line <code>login link: …/?token=…</code>), or build it from the token: <code>cat ~/.vmlab/api-token</code> (or <code>$VMLAB_HOME/api-token</code>).</p>
`;

/**
 * Every /api/v1 route (WebSockets included) needs the token: as a Bearer
 * header, or the HttpOnly login cookie. A cookie is sent by the browser
 * on its own, so a cookie-authenticated request that changes state (and
 * any WebSocket: it carries console keystrokes) must also come with an
 * Origin header naming this server. `?token=…` on any page (a GET outside
 * /api/v1) is the login link: it sets the cookie and redirects to the same
 * page without the token, so it leaves the address bar and the history.
 */
export default fp(async function auth(app: FastifyInstance, opts: { token: string; secure: boolean }) {
  const { token } = opts;
  app.decorate('signedIn', (req: FastifyRequest) => signedIn(req, token));
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const [path, query] = splitUrl(req.url);
    if (path !== '/api/v1' && !path.startsWith('/api/v1/')) {
      const params = new URLSearchParams(query);
      const given = params.get('token');
      if (req.method !== 'GET' || given === null) return;
      if (!sameToken(token, given)) return reply.code(401).type('text/html; charset=utf-8').send(WRONG_LINK);
      params.delete('token');
      const rest = params.toString();
      const cookie = `${COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict${opts.secure ? '; Secure' : ''}`;
      // Only back to a path of this site: `//host` or `/\host` would leave it.
      const back = /^\/(?![/\\])/.test(path) ? path : '/';
      return reply.header('set-cookie', cookie).redirect(back + (rest ? `?${rest}` : ''), 303);
    }
    if (path === SESSION_PATH && req.method === 'GET') return;
    const auth = req.headers.authorization;
    if (auth !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      if (!m || !sameToken(token, m[1]!)) throw unauthorized();
      return;
    }
    const cookie = cookieValue(req.headers.cookie, COOKIE);
    if (cookie === undefined || !sameToken(token, cookie)) throw unauthorized();
    const upgrade = (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
    if ((!SAFE_METHODS.has(req.method) || upgrade) && !sameOrigin(req)) {
      throw new HttpError(403, 'cross_origin', 'a request authenticated by cookie that changes state needs an Origin header naming this server', 'send it from the vmlab web UI, or use Authorization: Bearer');
    }
  });
});

/** Whether a request carries the token (Bearer or login cookie); for GET /api/v1/session. */
export function signedIn(req: FastifyRequest, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (m) return sameToken(token, m[1]!);
  const cookie = cookieValue(req.headers.cookie, COOKIE);
  return cookie !== undefined && sameToken(token, cookie);
}

function splitUrl(url: string): [string, string] {
  const q = url.indexOf('?');
  return q < 0 ? [url, ''] : [url.slice(0, q), url.slice(q + 1)];
}
