import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CatalogEntry, JobAccepted, Name, errors } from '../schemas.js';

const catalog: FastifyPluginAsyncZod = async (app) => {
  const images = app.services.images;
  app.get(
    '/catalog',
    {
      schema: {
        operationId: 'listCatalog',
        tags: ['catalog'],
        summary: 'Images vmlab knows how to pull (built in, catalog.d, $VMLAB_CATALOG)',
        response: { 200: z.array(CatalogEntry), ...errors() },
      },
    },
    async () => images.catalog(),
  );
  app.post(
    '/catalog/:id/pull',
    {
      schema: {
        operationId: 'pullCatalogImage',
        tags: ['catalog'],
        summary: 'Download a catalog image into the library, as a job',
        description:
          'Answers once the job exists; follow it with GET /api/v1/jobs/{id}/events. ' +
          'An image already in the library answers with a finished job.',
        params: z.object({ id: Name }),
        response: { 202: JobAccepted, ...errors(404, 409, 422) },
      },
    },
    async (req, reply) => {
      const job = await images.startPull(req.params.id);
      return reply.code(202).send({ job_id: job.id });
    },
  );
};
export default catalog;
