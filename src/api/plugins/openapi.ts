import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler } from 'fastify-type-provider-zod';

/**
 * The OpenAPI document, made from the routes' zod schemas (each route
 * states operationId, tags, summary and every response). Responses are
 * serialized through the same schemas, so what the document says is what
 * a client gets (and nothing more).
 */
export default fp(async function openapi(app: FastifyInstance, opts: { version: string }) {
  app.setSerializerCompiler(serializerCompiler);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'vmlab API',
        version: opts.version,
        description:
          'QEMU network labs and their image library. ' +
          'Every /api/v1 route needs the token from $VMLAB_HOME/api-token (Authorization: Bearer …); ' +
          'a WebSocket or event stream opened by a browser may carry a single-use ticket instead ' +
          '(POST /api/v1/tickets). ' +
          'The Host header must name this server. ' +
          'Errors are {"error":{"code","message","hint","details"}}; 422 details list each problem with its JSON path.',
      },
      tags: [
        { name: 'meta', description: 'health and this document' },
        { name: 'catalog', description: 'images vmlab knows how to pull' },
        { name: 'images', description: 'the image library' },
        { name: 'jobs', description: 'downloads, imports, conversions, deploys' },
        { name: 'labs', description: 'labs, their nodes and consoles' },
        { name: 'snapshots', description: 'whole-lab snapshots: take, export, restore, delete' },
      ],
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'the token in $VMLAB_HOME/api-token (or VMLAB_API_TOKEN)',
          },
          ticket: {
            type: 'apiKey',
            in: 'query',
            name: 'ticket',
            description: 'single-use, 30 s, GET only: from POST /api/v1/tickets',
          },
        },
      },
      security: [{ bearer: [] }, { ticket: [] }],
    },
    // @fastify/websocket hides its routes from the document; ours are part of the API.
    // A multipart route states its form as plain JSON Schema in config.openapiBody (it is streamed, not validated as a
    // whole).
    transform: (doc) => {
      const route = doc.route as { websocket?: boolean; config?: { openapiBody?: unknown } } | undefined;
      const schema = doc.schema as Record<string, unknown> | undefined;
      const out = jsonSchemaTransform(
        route?.websocket && schema ? { ...doc, schema: { ...schema, hide: false } } : doc,
      );
      if (route?.config?.openapiBody && out.schema)
        (out.schema as Record<string, unknown>).body = route.config.openapiBody;
      return out;
    },
    transformObject: jsonSchemaTransformObject,
  });
});
