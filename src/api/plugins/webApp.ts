import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** The URLs the web app opens directly (it routes them itself once loaded). */
export const APP_ROUTES = ['/', '/images', '/images/local', '/jobs', '/labs', '/labs/new', '/labs/:lab'];

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

/** What `/` says when the package has no built web app (a checkout before `npm run build`). */
const NO_APP =
  '<!doctype html><title>vmlab</title><p>vmlab API: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> ' +
  '(the web app is not built: run <code>npm run build</code>; ' +
  'log in with the link <code>vmlab serve</code> printed)</p>\n';

/**
 * The built web app (vite's output): index.html for every app route (the
 * SPA fallback), and the hashed files under /assets/, cached for good
 * since their names change with their content. ~20 lines instead of a
 * static-file dependency: the set of files is fixed and small.
 */
export default fp(async function webApp(app: FastifyInstance, opts: { root: string | undefined }) {
  const root = opts.root && existsSync(join(opts.root, 'index.html')) ? opts.root : undefined;
  const index = root ? readFileSync(join(root, 'index.html')) : undefined;
  for (const url of APP_ROUTES) {
    app.get(url, { schema: { hide: true } }, async (_req, reply) => {
      if (!index) return reply.type('text/html').send(NO_APP);
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(index);
    });
  }
  if (!root) return;
  const assets = join(root, 'assets');
  app.get('/assets/*', { schema: { hide: true } }, async (req, reply) => {
    const rel = (req.params as { '*': string })['*'];
    const file = normalize(join(assets, rel));
    if (!file.startsWith(assets + sep) || !existsSync(file) || !statSync(file).isFile()) {
      return reply.code(404).type('text/plain').send('not found');
    }
    return reply
      .type(TYPES[extname(file)] ?? 'application/octet-stream')
      .header('cache-control', 'public, max-age=31536000, immutable')
      .send(createReadStream(file));
  });
});
