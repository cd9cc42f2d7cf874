import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errors } from '../schemas.js';

/** Health (no token), the session question, tickets and the OpenAPI document. */
const meta: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'health',
        tags: ['meta'],
        summary: 'Is the server up (no token needed)',
        security: [],
        response: { 200: z.object({ ok: z.literal(true) }) },
      },
    },
    async () => ({ ok: true as const }),
  );
  app.get(
    '/api/v1/session',
    {
      schema: {
        operationId: 'getSession',
        tags: ['meta'],
        summary: 'Does this request carry the token (no token needed to ask)',
        description:
          'The web UI asks first: signed out, it shows how to get the login link ' +
          '(a 401 would be an error in the browser console). Says nothing else.',
        security: [],
        response: { 200: z.object({ signed_in: z.boolean() }) },
      },
    },
    async (req) => ({ signed_in: app.signedIn(req) }),
  );
  app.post(
    '/api/v1/tickets',
    {
      schema: {
        operationId: 'createTicket',
        tags: ['meta'],
        summary:
          'A single-use ticket for a WebSocket or event-stream URL (?ticket=…), ' +
          'where a browser cannot send the token',
        description:
          'Worth one GET under /api/v1 within 30 s (the console WebSocket, GET /jobs/{id}/events), then spent. ' +
          'An Origin header sent with its use must name this server.',
        response: { 201: z.object({ ticket: z.string(), expires_in_ms: z.number() }), ...errors() },
      },
    },
    async (_req, reply) => {
      const t = app.tickets.issue();
      return reply.code(201).send({ ticket: t.ticket, expires_in_ms: t.expiresInMs });
    },
  );
  app.get(
    '/api/v1/openapi.json',
    {
      schema: {
        operationId: 'getOpenApi',
        tags: ['meta'],
        summary: 'This API as an OpenAPI 3.0 document',
        response: { 200: z.record(z.string(), z.unknown()).describe('the OpenAPI document'), ...errors() },
      },
    },
    async () => app.swagger() as unknown as Record<string, unknown>,
  );
};
export default meta;
