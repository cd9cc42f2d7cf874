import type { FastifyBaseLogger } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { existsSync } from 'node:fs';
import type { Reporter } from '../../host/reporter.js';
import { isStoreName } from '../../spec/names.js';
import { VmlabError } from '../../errors/vmlabError.js';
import { ImageRecord, Name, SnapshotRecord, errors } from '../schemas.js';

const LabParams = z.object({ lab: Name.describe('lab name') });
const SnapParams = LabParams.extend({ name: Name.describe('snapshot name') });

type App = Parameters<FastifyPluginAsyncZod>[0];

const TAKE_SUMMARY =
  'Save the whole lab at one consistent point (every VM paused, saved, resumed); with export, also write it ' +
  'into one file (an existing snapshot of that name is exported as it is unless force)';
const EXPORT_DESCRIPTION =
  'also write it into one file on the server (a bare name: into the store, for a warm deploy by that name); ' +
  'a path must be inside VMLAB_HOME or an --allow-path root (403 otherwise)';
const CHECKPOINT_SUMMARY =
  "Save a running node's booted state as a library image; nodes whose vm_image names it start from it warm, " +
  'each given its own identity';

const op = (log: FastifyBaseLogger): { reporter: Reporter } => ({
  reporter: { info: (m) => log.info(m), warn: (m) => log.warn(m), verbose: (m) => log.debug(m) },
});

/** A store name as it is (the store is vmlab's own); a path: confined to the roots, not over a file unless asked. */
function exportTarget(app: App, value: string, overwrite: boolean): string {
  if (isStoreName(value)) return value;
  const real = app.paths.check('export', value);
  if (existsSync(real) && !overwrite) {
    throw new VmlabError('file_exists', `export: ${value} already exists`, {
      kind: 'conflict',
      hint: 'name a new file, or send "overwrite": true to replace it',
    });
  }
  return real;
}

/** List and take (and export). */
function takeRoutes(app: App): void {
  const labs = app.services.labs;
  const svc = app.services.snapshots;
  app.get(
    '/labs/:lab/snapshots',
    {
      schema: {
        operationId: 'listSnapshots',
        tags: ['snapshots'],
        summary: "The lab's snapshots, oldest first",
        params: LabParams,
        response: { 200: z.array(SnapshotRecord), ...errors(404) },
      },
    },
    async (req) => svc.list(labs.ref(req.params.lab)),
  );

  app.post(
    '/labs/:lab/snapshots',
    {
      schema: {
        operationId: 'takeSnapshot',
        tags: ['snapshots'],
        summary: TAKE_SUMMARY,
        params: LabParams,
        body: z
          .object({
            name: Name.describe('snapshot name'),
            force: z.boolean().optional().describe('replace a snapshot of the same name'),
            disk_only: z.boolean().optional().describe('disks only, no RAM state: every node must be stopped'),
            export: z.string().min(1).optional().describe(EXPORT_DESCRIPTION),
            overwrite: z
              .boolean()
              .optional()
              .describe('with an export path: replace a file that is there (otherwise 409)'),
            with_base: z.boolean().optional().describe('with export: carry the base images too'),
          })
          .strict(),
        response: {
          201: SnapshotRecord.extend({ export: z.object({ file: z.string(), bytes: z.number() }).optional() }),
          ...errors(403, 404, 409, 422),
        },
      },
    },
    async (req, reply) => {
      const ref = labs.ref(req.params.lab);
      const b = req.body;
      const target = b.export === undefined ? undefined : exportTarget(app, b.export, Boolean(b.overwrite));
      const r = await svc.takeAndExport(
        ref,
        {
          name: b.name,
          force: Boolean(b.force),
          diskOnly: Boolean(b.disk_only),
          ...(target ? { export: target } : {}),
          withBase: Boolean(b.with_base),
        },
        op(req.log),
      );
      return reply
        .code(201)
        .send({ ...r.record, ...(r.exported ? { export: { file: r.exported.file, bytes: r.exported.bytes } } : {}) });
    },
  );
}

/** Use what was taken: restore a lab, checkpoint one node into the library, delete. */
function useRoutes(app: App): void {
  const labs = app.services.labs;
  const svc = app.services.snapshots;
  app.post(
    '/labs/:lab/snapshots/:name/restore',
    {
      schema: {
        operationId: 'restoreSnapshot',
        tags: ['snapshots'],
        summary: 'Every node back to the snapshot: links re-made, guest clocks set to now; stopped nodes start from it',
        params: SnapParams,
        response: {
          200: z.object({
            name: z.string(),
            kind: z.enum(['full', 'disk-only']),
            loaded: z.array(z.string()),
            started: z.array(z.string()),
            clock_warnings: z.array(z.string()),
            ms: z.number(),
          }),
          ...errors(404, 409),
        },
      },
    },
    async (req) => {
      const r = await svc.restore(labs.ref(req.params.lab), req.params.name, op(req.log));
      return {
        name: r.name,
        kind: r.kind,
        loaded: r.loaded,
        started: r.started,
        clock_warnings: r.clockWarnings,
        ms: r.ms,
      };
    },
  );

  app.post(
    '/labs/:lab/nodes/:node/checkpoint',
    {
      schema: {
        operationId: 'checkpointNode',
        tags: ['snapshots', 'images'],
        summary: CHECKPOINT_SUMMARY,
        params: LabParams.extend({ node: Name.describe('node name') }),
        body: z.object({ name: Name.describe("the new image's name") }).strict(),
        response: { 201: ImageRecord, ...errors(404, 409, 422) },
      },
    },
    async (req, reply) =>
      reply
        .code(201)
        .send(
          await app.services.images.checkpoint(labs.ref(req.params.lab), req.params.node, req.body.name, op(req.log)),
        ),
  );

  app.delete(
    '/labs/:lab/snapshots/:name',
    {
      schema: {
        operationId: 'deleteSnapshot',
        tags: ['snapshots'],
        summary: 'Delete a snapshot from every node',
        params: SnapParams,
        response: { 200: SnapshotRecord, ...errors(404) },
      },
    },
    async (req) => svc.delete(labs.ref(req.params.lab), req.params.name, op(req.log)),
  );
}

/** Whole-lab snapshots: `vmlab snapshot` and `vmlab restore` over HTTP. Each answers when the work is done. */
const snapshots: FastifyPluginAsyncZod = async (app) => {
  takeRoutes(app);
  useRoutes(app);
};
export default snapshots;
