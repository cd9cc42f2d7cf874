import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errors } from '../schemas.js';

/** Health (no token) and the OpenAPI document. */
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
        description: 'The web UI asks first: signed out, it shows how to get the login link (a 401 would be an error in the browser console). Says nothing else.',
        security: [],
        response: { 200: z.object({ signed_in: z.boolean() }) },
      },
    },
    async (req) => ({ signed_in: app.signedIn(req) }),
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
