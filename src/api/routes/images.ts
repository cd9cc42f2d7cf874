import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { VmlabError } from '../../errors/vmlabError.js';
import type { JobRecord } from '../../service/index.js';
import { HttpError } from '../httpError.js';
import { issuesAt } from '../plugins/errors.js';
import { ImageDetail, ImageRecord, JobAccepted, Name, errors } from '../schemas.js';

const ImportBody = z
  .object({
    url: z
      .string()
      .regex(/^https?:\/\//, 'expected an http:// or https:// URL')
      .optional()
      .describe('download from here'),
    path: z
      .string()
      .startsWith('/', 'expected an absolute path on the server')
      .optional()
      .describe('a file on the server'),
    name: z.string().min(1).optional().describe('library name (default: from the file name)'),
    checksum: z.string().optional().describe('sha256:<hex> or sha512:<hex>'),
    os: z.string().optional().describe('distro-version, e.g. debian-12 (sets the default user and cloud-init)'),
    build: z.boolean().optional().describe('false: do not queue the vrnetlab build of a detected network device'),
    connections: z
      .number()
      .int()
      .min(1)
      .max(16)
      .optional()
      .describe(
        'parallel segments for a URL whose server takes ranges (default 4; 1: one stream); ' +
          'a stream at 128 MiB/s or more after its first second stays whole',
      ),
  })
  .strict()
  .refine((b) => (b.url === undefined) !== (b.path === undefined), {
    message: 'give exactly one of url or path',
    path: ['url'],
  });

const UploadFields = z
  .object({
    name: z.string().min(1).optional(),
    checksum: z.string().optional(),
    os: z.string().optional(),
    build: z.enum(['true', 'false']).optional(),
  })
  .strict();

/** An uploaded image, with the vrnetlab build it queued (or why none). */
const Uploaded = ImageRecord.extend({
  build_job: z.string().optional().describe('the vrnetlab build queued for a detected network device'),
  build_skipped: z.string().optional().describe('why a detected network device was not built'),
}).meta({ id: 'UploadedImage' });

const DetectBody = z
  .object({
    files: z.array(z.string().min(1)).min(1).max(500).describe('disk file names (only the names are read)'),
  })
  .strict();

const DetectAnswer = z
  .object({
    file: z.string(),
    device: z.string().nullable(),
    label: z.string().optional(),
    dir: z.string().nullable().optional().describe('vrnetlab directory'),
    buildable: z.boolean(),
    reason: z.string().optional().describe('why it cannot be built'),
    install_phase: z.boolean().optional().describe('the build boots the VM under KVM'),
    format: z.string().optional(),
    version: z.string().optional(),
    tag: z.string().optional().describe("the image the checkout's Makefile would build"),
    build_file: z.string().optional().describe('the name the copy is built under, when the file name does not parse'),
    checkout: z.string().nullable(),
  })
  .meta({ id: 'DetectedDevice' });

const Patch = z
  .object({
    name: z.string().min(1).optional(),
    os_distro: z.string().nullable().optional(),
    os_version: z.string().nullable().optional(),
    os_arch: z.string().nullable().optional(),
    default_user: z.string().nullable().optional(),
    cloud_init: z.boolean().optional(),
  })
  .strict()
  .refine((p) => Object.keys(p).length > 0, { message: 'nothing to change: give at least one field' });

const Ref = z.object({ ref: Name.describe('image id or name') });

const ImageList = z.array(ImageRecord);

type App = Parameters<FastifyPluginAsyncZod>[0];

const images: FastifyPluginAsyncZod = async (app) => {
  readRoutes(app);
  changeRoutes(app);
  buildRoutes(app);
  importRoutes(app);
  uploadRoute(app);
};

/** List, show, verify. */
function readRoutes(app: App): void {
  const lib = app.services.images;
  const listCache = app.storeCache;
  app.get(
    '/images',
    {
      schema: {
        operationId: 'listImages',
        tags: ['images'],
        summary: 'Every image in the library',
        response: { 200: ImageList, ...errors() },
      },
    },
    async (_req, reply) => {
      // A big library is asked for often (the web UI polls it): the JSON is kept while the store is unchanged.
      const json = listCache.get(() => JSON.stringify(ImageList.parse(lib.list())));
      return reply.type('application/json; charset=utf-8').send(json as unknown as z.infer<typeof ImageList>);
    },
  );

  app.get(
    '/images/:ref',
    {
      schema: {
        operationId: 'getImage',
        tags: ['images'],
        summary: 'One image, with the labs that use it',
        params: Ref,
        response: { 200: ImageDetail, ...errors(404) },
      },
    },
    async (req) => lib.show(req.params.ref),
  );

  app.post(
    '/images/:ref/verify',
    {
      schema: {
        operationId: 'verifyImage',
        tags: ['images'],
        summary: 'Re-hash the file and compare with the recorded sha256',
        params: Ref,
        response: { 200: z.object({ sha256: z.string() }), ...errors(404, 409) },
      },
    },
    async (req) => lib.verify(req.params.ref),
  );
}

/** Rename or correct, remove. */
function changeRoutes(app: App): void {
  const lib = app.services.images;

  app.patch(
    '/images/:ref',
    {
      schema: {
        operationId: 'updateImage',
        tags: ['images'],
        summary: 'Rename an image or correct its OS fields and default user',
        params: Ref,
        body: Patch,
        response: { 200: ImageRecord, ...errors(404, 409, 422) },
      },
    },
    async (req) => lib.update(req.params.ref, req.body),
  );

  app.delete(
    '/images/:ref',
    {
      schema: {
        operationId: 'deleteImage',
        tags: ['images'],
        summary: 'Remove an image (409 while a lab uses it, unless force=true)',
        params: Ref,
        querystring: z.object({
          force: z.enum(['true', 'false']).optional().describe('remove even if a lab uses it'),
          docker: z.enum(['true', 'false']).optional().describe('docker entries: remove the Docker image too'),
        }),
        response: { 200: ImageRecord, ...errors(404, 409, 422) },
      },
    },
    async (req) => lib.remove(req.params.ref, req.query.force === 'true', { docker: req.query.docker === 'true' }),
  );
}

/** Network-device detection and vrnetlab builds. */
function buildRoutes(app: App): void {
  app.post(
    '/images/detect',
    {
      schema: {
        operationId: 'detectDevices',
        tags: ['images'],
        summary: 'Which network device each file name is, its vrnetlab directory and the tag the checkout would build',
        body: DetectBody,
        response: { 200: z.array(DetectAnswer), ...errors(422) },
      },
    },
    // The server's own checkout only: make runs that directory's Makefile, so a client does not get to name one.
    async (req) => app.services.builds.detect(req.body.files),
  );

  app.post(
    '/images/:ref/build-docker',
    {
      schema: {
        operationId: 'buildDockerImage',
        tags: ['images'],
        summary: 'Build the vrnetlab Docker image of a network-device disk, as a job',
        description:
          'Checked first (device, checkout, tag, Docker, KVM for install-phase devices): ' +
          'a problem is an error here and nothing is copied. ' +
          'The job records a `docker` image, default for its device. ' +
          'Follow it with GET /api/v1/jobs/{id}/events; cancel stops make and docker.',
        params: Ref,
        response: { 202: JobAccepted, ...errors(404, 409, 422) },
      },
    },
    async (req, reply) => {
      // The checkout is the server's (VRNETLAB_PATH): make runs its Makefiles, so a client does not get to name a
      // directory.
      const { job } = await app.services.builds.startBuild(req.params.ref);
      return reply.code(202).send({ job_id: job.id });
    },
  );
}

/** Import by URL or server path, scan a directory. */
function importRoutes(app: App): void {
  const lib = app.services.images;
  app.post(
    '/images/import',
    {
      schema: {
        operationId: 'importImage',
        tags: ['images'],
        summary: 'Add an image from a URL or a file on the server, as a job',
        description:
          'Inspected, converted to qcow2 and registered; follow the job with GET /api/v1/jobs/{id}/events. ' +
          'A path outside VMLAB_HOME and the --allow-path roots is 403 (path_not_allowed).',
        body: ImportBody,
        response: { 202: JobAccepted, ...errors(403, 404, 409, 422) },
      },
    },
    async (req, reply) => {
      const { url, path, ...opts } = req.body;
      const job = await lib.startImport(url ?? app.paths.check('path', path!), opts);
      return reply.code(202).send({ job_id: job.id });
    },
  );
  app.post(
    '/images/scan',
    {
      schema: {
        operationId: 'scanImages',
        tags: ['images'],
        summary: 'Register image files already on disk (OS guessed from the file name)',
        body: z
          .object({
            dir: z
              .string()
              .startsWith('/', 'expected an absolute path on the server')
              .optional()
              .describe('default: $VMLAB_HOME/images'),
          })
          .strict()
          .nullish(),
        response: {
          200: z.object({
            added: z.array(ImageRecord),
            skipped: z.array(z.object({ file: z.string(), why: z.string() })),
          }),
          ...errors(403, 404, 422),
        },
      },
    },
    async (req) => lib.scan(req.body?.dir === undefined ? undefined : app.paths.check('dir', req.body.dir)),
  );
}

/** Upload a file: streamed in (hashed by the service as it arrives), then imported. */
function uploadRoute(app: App): void {
  app.post(
    '/images/upload',
    {
      schema: {
        operationId: 'uploadImage',
        tags: ['images'],
        summary: 'Upload an image file (multipart/form-data: file, and optional name, checksum, os)',
        description:
          'Streamed to disk while hashed, then inspected as an import is. ' +
          '201 with the image, or 202 with a job when the work (a conversion) takes longer. ' +
          'Over the size limit: 413 and nothing is kept; a refused file is deleted.',
        consumes: ['multipart/form-data'],
        response: { 201: Uploaded, 202: JobAccepted, ...errors(400, 409, 413, 422) },
      },
      config: {
        openapiBody: {
          type: 'object',
          required: ['file'],
          properties: {
            file: { type: 'string', format: 'binary', description: 'the image (qcow2, raw, vmdk, vhd, vhdx, vdi)' },
            name: { type: 'string', description: 'library name (default: the file name without its extension)' },
            checksum: { type: 'string', description: 'sha256:<hex> or sha512:<hex>' },
            os: { type: 'string', description: 'distro-version, e.g. debian-12' },
            build: {
              type: 'string',
              enum: ['true', 'false'],
              description: 'false: no vrnetlab build of a detected network device',
            },
          },
        },
      } as object,
    },
    async (req, reply) => {
      const max = app.api.maxUploadBytes;
      const tooLarge = () =>
        new HttpError('too_large', `the upload is larger than the limit of ${max} bytes`, {
          hint: 'start the server with a larger --max-upload, or import the file by path',
        });
      const declared = Number(req.headers['content-length']);
      if (Number.isFinite(declared) && declared > max + 1024 * 1024) throw tooLarge();
      if (!req.isMultipart()) {
        throw new VmlabError(
          'not_multipart',
          `expected a multipart/form-data body, got ${req.headers['content-type'] ?? 'none'}`,
          {
            kind: 'input',
            hint: 'send the file as the form field "file"',
          },
        );
      }
      const received: Received = { fields: {} };
      try {
        await receiveParts(app, req, received, tooLarge);
        const file = received.file;
        if (!file) {
          throw new VmlabError('invalid_request', 'no file in the upload', {
            kind: 'input',
            hint: 'send the image as the form field "file"',
            details: [{ in: 'body', path: 'file', message: 'required' }],
          });
        }
        const { build, ...opts } = uploadFields(received.fields);
        received.file = undefined; // importUpload owns it now: moved in, or deleted on refusal
        let started: (job: JobRecord) => void = () => undefined;
        const job = new Promise<JobRecord>((r) => (started = r));
        // The digest computed while streaming: the library checks a given checksum against it and does not hash again.
        const known = { sha256: received.sha256!, ...(received.filename ? { fileName: received.filename } : {}) };
        const done = app.services.images.importUpload(
          file,
          { ...opts, ...(build ? { build: build === 'true' } : {}) },
          { started },
          known,
        );
        return await answer(reply, done, job, app.api.uploadWaitMs);
      } catch (err) {
        if (received.file) rmSync(received.file, { force: true });
        if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge();
        throw err;
      }
    },
  );
}

/** What the multipart body brought: its plain fields, and the file as the service received it. */
interface Received {
  fields: Record<string, string>;
  file?: string | undefined;
  sha256?: string;
  filename?: string | undefined;
}

/** Read every part: plain fields kept, the one file streamed into the library's upload dir. */
async function receiveParts(app: App, req: FastifyRequest, into: Received, tooLarge: () => Error): Promise<void> {
  for await (const part of req.parts()) {
    if (part.type !== 'file') {
      into.fields[part.fieldname] = String(part.value);
      continue;
    }
    if (part.fieldname !== 'file' || into.file) {
      part.file.resume();
      throw new VmlabError('invalid_request', `unexpected file field "${part.fieldname}": send one file, as "file"`, {
        kind: 'input',
        details: [{ in: 'body', path: part.fieldname, message: 'unexpected file' }],
      });
    }
    into.filename = part.filename;
    const t0 = performance.now();
    const got = await app.services.images.receiveUpload(part.file);
    into.file = got.path;
    into.sha256 = got.sha256;
    if (part.file.truncated) throw tooLarge();
    req.log.info(
      { bytes: part.file.bytesRead, ms: Math.round(performance.now() - t0), sha256: got.sha256 },
      'upload received',
    );
  }
}

function uploadFields(fields: Record<string, string>): z.infer<typeof UploadFields> {
  const parsed = UploadFields.safeParse(fields);
  if (parsed.success) return parsed.data;
  const details = issuesAt('body', parsed.error.issues);
  throw new VmlabError('invalid_request', `invalid body: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, {
    kind: 'input',
    details,
  });
}

/** 201 with the image when it is ready within `waitMs` (or before its job starts); else 202 with the job. */
async function answer(reply: FastifyReply, done: Promise<unknown>, job: Promise<JobRecord>, waitMs: number) {
  done.catch(() => undefined);
  const quick = await Promise.race([done.then((img) => ({ img })), sleep(waitMs, undefined, { ref: false })]);
  if (quick) return reply.code(201).send(quick.img);
  const first = await Promise.race([
    done.then((img) => ({ img, job: undefined })),
    job.then((j) => ({ img: undefined, job: j })),
  ]);
  if (first.job) return reply.code(202).send({ job_id: first.job.id });
  return reply.code(201).send(first.img!);
}

export default images;
