import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { loadToken, tokenPath } from './token.js';
import { VmlabError } from '../errors/vmlabError.js';
import type { Settings } from '../host/settings.js';
import type { Services } from '../service/index.js';

export interface ServerOptions {
  host: string;
  port: number;
  maxUploadBytes: number;
  /** Directories (besides VMLAB_HOME) that paths in requests may name. */
  allowPaths: string[];
  /** Names (besides the listen address and localhost) clients may reach the server by. */
  hostNames: string[];
  tls?: { cert: Buffer; key: Buffer };
  /** Called once listening, before any background work starts (the CLI prints its banner here). */
  announce?: (started: StartedServer) => void;
}

/** A listening server and what its start-up banner says. */
export interface StartedServer {
  app: FastifyInstance;
  scheme: 'http' | 'https';
  /** The listen host as a URL writes it ([v6]). */
  shownHost: string;
  /** Where a browser on this machine (or, beyond loopback, anywhere) reaches the server. */
  loginHost: string;
  port: number;
  token: string;
  /** Where the token came from: VMLAB_API_TOKEN, or the token file (and whether it was made now). */
  tokenFrom: string;
  /** Jobs a dead process left running, marked failed at start-up. */
  reapedJobs: number;
  loopback: boolean;
}

export const isLoopback = (host: string) =>
  host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

/**
 * Start `vmlab serve`: the token, jobs a dead server left running, the app,
 * listen; then (AUTO_DOWNLOAD_IMAGES=true) pull the default images in the
 * background while the server already answers: a failure never stops it.
 */
export async function startServer(settings: Settings, services: Services, opts: ServerOptions): Promise<StartedServer> {
  const { token, source } = loadToken(settings.root, settings);
  const reaped = services.jobs.reap();
  const app = await buildApp(services, {
    token,
    maxUploadBytes: opts.maxUploadBytes,
    listenHost: opts.host,
    hostNames: opts.hostNames,
    allowPaths: opts.allowPaths,
    ...(opts.tls ? { tls: opts.tls } : {}),
  });
  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    await app.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new VmlabError('address_in_use', `cannot listen on ${opts.host}:${opts.port}: the address is in use`, {
        kind: 'conflict',
        hint: 'pick another with --listen',
      });
    }
    throw err;
  }
  const file = tokenPath(settings.root);
  const tokenFrom = source === 'env' ? 'from VMLAB_API_TOKEN' : `${file}${source === 'created' ? ' (created)' : ''}`;
  const started = describe(app, opts, token, tokenFrom, reaped.jobs);
  opts.announce?.(started);
  if (settings.autoDownloadImages) pullDefaultImages(services, app);
  return started;
}

function describe(app: FastifyInstance, opts: ServerOptions, token: string, tokenFrom: string, reapedJobs: number) {
  const addr = app.server.address();
  const loopback = isLoopback(opts.host);
  const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const started: StartedServer = {
    app,
    scheme: opts.tls ? 'https' : 'http',
    shownHost,
    loginHost: loopback || opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : shownHost,
    port: typeof addr === 'object' && addr ? addr.port : opts.port,
    token,
    tokenFrom,
    reapedJobs,
    loopback,
  };
  return started;
}

/** Seed 001: the default images, pulled as jobs; the outcome goes to the server's log. */
function pullDefaultImages(services: Services, app: FastifyInstance): void {
  void services.images
    .ensure(true, (id, line) => app.log.info({ image: id }, line))
    .then((results) => {
      const bad = results.filter((r) => !r.ok);
      const ok = results.filter((r) => r.ok).map((r) => r.id);
      const failed = bad.map((r) => `${r.id}: ${r.error}`);
      app.log.info({ ok, failed }, `default images: ${results.length - bad.length} of ${results.length} ready`);
    });
}
