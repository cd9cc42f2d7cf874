import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { packageRoot } from '../packageRoot.js';
import type { Services } from '../service/index.js';
import { ConsoleHub } from './consoleHub.js';
import { ServerPaths } from './serverPaths.js';
import { StoreCache } from './storeCache.js';
import { Tickets } from './tickets.js';
import auth from './plugins/auth.js';
import errors from './plugins/errors.js';
import hostCheck from './plugins/hostCheck.js';
import openapi from './plugins/openapi.js';
import uploads from './plugins/uploads.js';
import webApp from './plugins/webApp.js';
import websocket from './plugins/websocket.js';
import catalogRoutes from './routes/catalog.js';
import consoleRoutes from './routes/console.js';
import imageRoutes from './routes/images.js';
import jobRoutes from './routes/jobs.js';
import labRoutes from './routes/labs.js';
import metaRoutes from './routes/meta.js';
import snapshotRoutes from './routes/snapshots.js';

export interface ApiOptions {
  /** The API token every /api/v1 request must carry. */
  token: string;
  /** Largest upload accepted, in bytes (over it: 413, nothing kept). */
  maxUploadBytes: number;
  /** Served over HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** pino options (level, stream) or false; tokens are always redacted. */
  logger?: { level?: string; stream?: NodeJS.WritableStream } | false;
  /** How often the job event stream looks at the job record. */
  jobPollMs?: number;
  /**
   * An upload whose inspection finishes within this long answers 201 with the image; a longer one (a conversion) 202
   * with its job.
   */
  uploadWaitMs?: number;
  version?: string;
  /**
   * The address it listens on: a request's Host must name it, a loopback name with its port, or one of hostNames.
   * Default 127.0.0.1.
   */
  listenHost?: string;
  /** More names clients may use in Host (`--host-name`), any port. */
  hostNames?: string[];
  /** Directories besides VMLAB_HOME that paths in requests may name (`--allow-path`). */
  allowPaths?: string[];
  /** The built web app (index.html + assets/); default: dist/ui in the package. Absent: `/` says how to build it. */
  webRoot?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
    api: Required<Pick<ApiOptions, 'maxUploadBytes' | 'jobPollMs' | 'uploadWaitMs'>>;
    consoles: ConsoleHub;
    /** GET /images's JSON while the store is unchanged. */
    storeCache: StoreCache;
    /** The request carries the API token (see plugins/auth). */
    signedIn: (req: FastifyRequest) => boolean;
    /** Single-use stand-ins for the token in a WebSocket's or EventSource's URL. */
    tickets: Tickets;
    /** Where paths in requests may point (VMLAB_HOME and --allow-path). */
    paths: ServerPaths;
  }
}

/** `?token=…` (and a spent `?ticket=…`) never reaches a log. */
export const redactUrl = (url: string) => url.replace(/([?&](?:token|ticket)=)[^&#]*/gi, '$1[REDACTED]');

function loggerOptions(o: ApiOptions['logger']): FastifyServerOptions['logger'] {
  if (o === false) return false;
  return {
    level: o?.level ?? 'info',
    ...(o?.stream ? { stream: o.stream } : {}),
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
      censor: '[REDACTED]',
    },
    serializers: {
      req: (req: { method: string; url: string; ip?: string; socket?: { remoteAddress?: string } }) => ({
        method: req.method,
        url: redactUrl(req.url),
        remoteAddress: req.ip ?? req.socket?.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  };
}

/** Fastify's request log as one line per request: method, URL (token redacted), status, time. */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null, req: FastifyRequest, reply: FastifyReply): void {
    const line = { req, res: reply, responseTime: Math.round(reply.elapsedTime * 10) / 10 };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}

/**
 * The HTTP front door, not listening: plugins (one concern each) and
 * routes (thin: parse, call a service, shape the reply). Tests build it
 * with services on a temp VMLAB_HOME and use inject().
 */
export async function buildApp(services: Services, opts: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(opts.logger),
    logController: new OneLinePerRequest(),
    bodyLimit: 1 << 20,
    ...(opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
  }) as unknown as FastifyInstance;
  app.decorate('services', services);
  app.decorate('api', {
    maxUploadBytes: opts.maxUploadBytes,
    jobPollMs: opts.jobPollMs ?? 250,
    uploadWaitMs: opts.uploadWaitMs ?? 5_000,
  });
  app.decorate('consoles', new ConsoleHub(app.log));
  app.addHook('onClose', async () => app.consoles.closeAll());
  app.decorate('storeCache', new StoreCache(services.images.storeFile()));
  app.decorate('tickets', new Tickets());
  mkdirSync(services.labs.root, { recursive: true, mode: 0o700 });
  app.decorate('paths', new ServerPaths([services.labs.root, ...(opts.allowPaths ?? [])]));
  // Whatever this server changes, it does not answer from before the change.
  app.addHook('onResponse', async (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') app.storeCache.invalidate();
  });

  await app.register(errors);
  await app.register(openapi, { version: opts.version ?? '0.1.0' });
  // Before auth: its onRequest hook marks upgrade requests, so a refused upgrade (401) still has its socket ended.
  await app.register(websocket);
  await app.register(hostCheck, { listenHost: opts.listenHost ?? '127.0.0.1', names: opts.hostNames ?? [] });
  await app.register(auth, { token: opts.token, tickets: app.tickets });
  await app.register(uploads, { maxBytes: opts.maxUploadBytes });

  const z = app.withTypeProvider<ZodTypeProvider>();
  await app.register(webApp, { root: opts.webRoot ?? join(packageRoot(), 'dist', 'ui') });
  await z.register(metaRoutes);
  await z.register(catalogRoutes, { prefix: '/api/v1' });
  await z.register(imageRoutes, { prefix: '/api/v1' });
  await z.register(jobRoutes, { prefix: '/api/v1' });
  await z.register(labRoutes, { prefix: '/api/v1' });
  await z.register(consoleRoutes, { prefix: '/api/v1' });
  await z.register(snapshotRoutes, { prefix: '/api/v1' });
  return app;
}
