import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { HttpError } from '../httpError.js';
import { sameToken } from '../token.js';

export const COOKIE = 'vmlab_token';

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

/**
 * Every /api/v1 route (WebSockets included) needs the token: as a Bearer
 * header, or the HttpOnly login cookie. A cookie is sent by the browser
 * on its own, so a cookie-authenticated request that changes state (and
 * any WebSocket: it carries console keystrokes) must also come with an
 * Origin header naming this server. `GET /?token=…` is the login link:
 * it sets the cookie and redirects to /.
 */
export default fp(async function auth(app: FastifyInstance, opts: { token: string; secure: boolean }) {
  const { token } = opts;
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const path = req.url.split('?')[0]!;
    if (path !== '/api/v1' && !path.startsWith('/api/v1/')) return;
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

  app.get(
    '/',
    {
      schema: {
        hide: true,
      },
    },
    async (req, reply) => {
      const given = (req.query as { token?: unknown }).token;
      if (typeof given === 'string') {
        if (!sameToken(token, given)) throw unauthorized();
        const cookie = `${COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict${opts.secure ? '; Secure' : ''}`;
        return reply.header('set-cookie', cookie).redirect('/', 303);
      }
      return reply.type('text/html').send('<!doctype html><title>vmlab</title><p>vmlab API: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (log in with the link <code>vmlab serve</code> printed)</p>\n');
    },
  );
});
