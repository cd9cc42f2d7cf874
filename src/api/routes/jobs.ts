import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { JobDelta, sseFrame } from '../jobEvents.js';
import { JobRecord, Name, errors } from '../schemas.js';

const Id = z.object({ id: Name.describe('job id') });

const jobs: FastifyPluginAsyncZod = async (app) => {
  const svc = app.services.jobs;

  app.get(
    '/jobs',
    {
      schema: {
        operationId: 'listJobs',
        tags: ['jobs'],
        summary: 'Recent jobs, newest first (from this server and from the CLI)',
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).optional() }),
        response: { 200: z.array(JobRecord), ...errors(422) },
      },
    },
    async (req) => svc.list(req.query.limit),
  );

  app.get(
    '/jobs/:id',
    {
      schema: {
        operationId: 'getJob',
        tags: ['jobs'],
        summary: 'A job with its progress, log and outcome',
        params: Id,
        response: { 200: JobRecord, ...errors(404) },
      },
    },
    async (req) => svc.find(req.params.id),
  );

  app.post(
    '/jobs/:id/cancel',
    {
      schema: {
        operationId: 'cancelJob',
        tags: ['jobs'],
        summary: 'Cancel a queued or running job',
        description:
          'A queued job, or one whose process is gone, is cancelled at once ("cancelled"); ' +
          'a running one stops within half a second ("requested"). 409 if it is over.',
        params: Id,
        response: {
          200: z.object({ outcome: z.enum(['cancelled', 'requested']), job: JobRecord }),
          ...errors(404, 409),
        },
      },
    },
    async (req) => {
      const r = await svc.cancelAnywhere(req.params.id);
      return { outcome: r.outcome, job: await svc.find(req.params.id) };
    },
  );

  app.get(
    '/jobs/:id/events',
    {
      schema: {
        operationId: 'followJob',
        tags: ['jobs'],
        summary:
          'Server-Sent Events: progress (bytes, total, speed, ETA), log lines, ' +
          'and a final "end" event with the outcome',
        description:
          'text/event-stream. ' +
          'event: progress, data {status, progress, bytes, total, bytes_per_sec, eta_sec, step, step_n, step_of} ' +
          '(step: the step of a build, else null); event: log, data {line}; ' +
          'event: end, data {status, error, target, finished_at}, then the stream closes. ' +
          'Works for jobs started by the CLI too.',
        params: Id,
        response: {
          200: { description: 'the event stream', content: { 'text/event-stream': { schema: z.string() } } },
          ...errors(404),
        },
      },
    },
    async (req, reply) => {
      const first = await svc.find(req.params.id); // 404 before the stream starts
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      const delta = new JobDelta();
      let n = 0;
      let timer: NodeJS.Timeout | undefined;
      let beat = Date.now();
      const stop = () => {
        clearTimeout(timer);
        if (!res.writableEnded) res.end();
      };
      const send = (job: typeof first) => {
        for (const e of delta.next(job)) res.write(sseFrame(e, ++n));
        if (delta.done) return stop();
        if (Date.now() - beat > 15_000) {
          beat = Date.now();
          res.write(': keep-alive\n\n');
        }
        timer = setTimeout(tick, app.api.jobPollMs);
      };
      const tick = () => {
        if (res.destroyed) return stop();
        svc.find(req.params.id).then(send, (err: unknown) => {
          req.log.warn({ err }, 'job event stream ended');
          stop();
        });
      };
      req.raw.on('close', stop);
      send(first);
    },
  );
};
export default jobs;
