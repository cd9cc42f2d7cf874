import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** multipart/form-data, streamed: one file per request, at most `maxBytes` of it. */
export default fp(async function uploads(app: FastifyInstance, opts: { maxBytes: number }) {
  await app.register(multipart, {
    limits: { fileSize: opts.maxBytes, files: 1, fields: 8, fieldSize: 4096, parts: 10 },
  });
});
