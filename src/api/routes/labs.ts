import { homedir } from 'node:os';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Reporter } from '../../host/reporter.js';
import { LabReport, Name, errors } from '../schemas.js';
import { INVENTORY_FORMATS } from '../../plan/inventory.js';
import { GRAPH_FORMATS } from '../../plan/graph.js';
import { isStoreName } from '../../spec/names.js';
import { expandPath, isLibraryRef, LIBRARY_PREFIX } from '../../plan/resolveNode.js';
import type { ServerPaths } from '../serverPaths.js';

const LabParams = z.object({ lab: Name.describe('lab name') });
const NodeParams = LabParams.extend({ node: Name.describe('node name') });

const Warm = z
  .string()
  .min(1)
  .optional()
  .describe(
    'start warm from an exported snapshot: a .tar file on the server, ' +
      'or the name it was exported under into the store (vmlab snapshot --export NAME)',
  );
const MaxParallel = z
  .number()
  .int()
  .min(1)
  .max(1024)
  .optional()
  .describe('boot at most this many nodes at once (default: the cores under TCG, twice that under KVM)');
const Force = z.boolean().optional().describe('deploy even when the lab needs more memory than the host has available');
const SpecDir = z
  .string()
  .startsWith('/', 'expected an absolute path on the server')
  .describe('a spec directory on the server');
const DeployBody = z.union([
  z.object({ spec_dir: SpecDir, snapshot: Warm, max_parallel: MaxParallel, force: Force }).strict(),
  z
    .object({
      name: z.string().min(1).describe('lab name'),
      topology: z.record(z.string(), z.unknown()).describe('topology.json'),
      platforms: z.record(z.string(), z.unknown()).optional().describe('platforms.json'),
      profiles: z
        .record(z.string(), z.record(z.string(), z.unknown()))
        .optional()
        .describe('profiles/<node>.json, by node'),
      snapshot: Warm,
      max_parallel: MaxParallel,
      force: Force,
    })
    .strict(),
]);

type DeployRequest = z.infer<typeof DeployBody>;

/** Every `vm_image` string under `value` that names a file (not a library image), with its JSON path. */
function imagePaths(value: unknown, at: string, out: Array<[string, string]> = []): Array<[string, string]> {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) imagePaths(v, `${at}[${i}]`, out);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const file = k === 'vm_image' && typeof v === 'string' && !v.startsWith(LIBRARY_PREFIX) && !isLibraryRef(v);
      if (file) out.push([`${at}.${k}`, v]);
      else imagePaths(v, `${at}.${k}`, out);
    }
  }
  return out;
}

/**
 * The server paths a deploy names stay inside the allowed roots: the spec
 * dir, a warm start's archive file, and an inline spec's image files (a
 * spec dir's own files are its owner's, inside a root already).
 */
function confineDeploy(paths: ServerPaths, root: string, b: DeployRequest): DeployRequest {
  const file = b.snapshot !== undefined && !isStoreName(b.snapshot);
  const snapshot = file ? { snapshot: paths.check('snapshot', b.snapshot!) } : {};
  if ('spec_dir' in b) return { ...b, spec_dir: paths.check('spec_dir', b.spec_dir), ...snapshot };
  const specDir = join(root, 'specs', b.name);
  for (const [at, v] of imagePaths({ topology: b.topology, platforms: b.platforms, profiles: b.profiles }, '')) {
    paths.check(at.slice(1), expandPath(v, specDir, homedir()));
  }
  return { ...b, ...snapshot };
}

type App = Parameters<FastifyPluginAsyncZod>[0];

/** What the lab engine reports during a request goes to the server log, under the request's id. */
const reporter = (log: FastifyBaseLogger): Reporter => ({
  info: (m) => log.info(m),
  warn: (m) => log.warn(m),
  verbose: (m) => log.debug(m),
});

const DEPLOY_DESCRIPTION =
  'The spec is loaded and planned first: a bad spec is 422 with every problem (file and JSON path) in details, ' +
  'and nothing starts; a spec_dir, snapshot file or inline vm_image file outside VMLAB_HOME and the --allow-path ' +
  'roots is 403 (path_not_allowed); a lab needing more memory than the host has available is 409 ' +
  '(insufficient_memory) unless force. Follow the job with GET /api/v1/jobs/{id}/events.';

/** Every lab, deploy one (as a job), one lab, destroy one. */
function lifecycleRoutes(app: App): void {
  const svc = app.services.labs;
  app.get(
    '/labs',
    {
      schema: {
        operationId: 'listLabs',
        tags: ['labs'],
        summary: 'Every lab, as its processes say it is',
        response: { 200: z.array(LabReport), ...errors() },
      },
    },
    async () => svc.list(),
  );

  app.post(
    '/labs',
    {
      schema: {
        operationId: 'deployLab',
        tags: ['labs'],
        summary: 'Deploy a lab from a spec directory on the server or an inline spec, as a job',
        description: DEPLOY_DESCRIPTION,
        body: DeployBody,
        response: { 202: z.object({ job_id: z.string(), lab: z.string() }), ...errors(403, 404, 409, 422) },
      },
    },
    async (req, reply) => {
      const { job, lab } = await svc.startDeploy(confineDeploy(app.paths, svc.root, req.body));
      return reply.code(202).send({ job_id: job.id, lab });
    },
  );

  app.get(
    '/labs/:lab',
    {
      schema: {
        operationId: 'getLab',
        tags: ['labs'],
        summary: 'A lab with its nodes and links',
        params: LabParams,
        response: { 200: LabReport, ...errors(404) },
      },
    },
    async (req) => svc.get(svc.ref(req.params.lab)),
  );

  const Destroyed = z.object({
    stopped: z.array(z.string()),
    restored_profiles: z.array(z.string()),
    existed: z.boolean(),
    kept_originals: z.string().optional(),
  });
  app.delete(
    '/labs/:lab',
    {
      schema: {
        operationId: 'destroyLab',
        tags: ['labs'],
        summary: 'Stop every node, remove the lab and restore the profiles',
        params: LabParams,
        querystring: z.object({
          force: z.enum(['true', 'false']).optional().describe('remove even a lab whose state.json is unreadable'),
        }),
        response: { 200: Destroyed, ...errors(404, 409) },
      },
    },
    async (req) => {
      const op = { reporter: reporter(req.log) };
      const r = await svc.destroy(svc.ref(req.params.lab), { force: req.query.force === 'true' }, op);
      const kept = r.keptOriginals ? { kept_originals: r.keptOriginals } : {};
      return { stopped: r.stopped, restored_profiles: r.restoredProfiles, existed: r.existed, ...kept };
    },
  );
}

// Text as the tools read it (YAML, JSON, ssh_config, Mermaid, DOT), not wrapped in a JSON string.
const INVENTORY_TYPE = { ansible: 'application/yaml', json: 'application/json', 'ssh-config': 'text/plain' } as const;

/** A deployed lab for other tools: its inventory and its graph. */
function outputRoutes(app: App): void {
  const svc = app.services.labs;
  const InventoryFormat = z
    .enum(INVENTORY_FORMATS)
    .default('ansible')
    .describe('ansible (YAML), json (topology-data.json) or ssh-config');
  app.get(
    '/labs/:lab/inventory',
    {
      schema: {
        operationId: 'getLabInventory',
        tags: ['labs'],
        summary: 'The lab for other tools: Ansible inventory, containerlab topology-data.json, or ssh_config',
        params: LabParams,
        querystring: z.object({ format: InventoryFormat }),
        response: { 200: z.string().describe('the file, as deploy wrote it into the lab dir'), ...errors(404, 422) },
      },
    },
    async (req, reply) => {
      const text = svc.inventory(svc.ref(req.params.lab), req.query.format);
      return reply.type(`${INVENTORY_TYPE[req.query.format]}; charset=utf-8`).send(text);
    },
  );

  app.get(
    '/labs/:lab/graph',
    {
      schema: {
        operationId: 'getLabGraph',
        tags: ['labs'],
        summary: 'The topology with interface names, as Mermaid or Graphviz DOT',
        params: LabParams,
        querystring: z.object({ format: z.enum(GRAPH_FORMATS).default('mermaid').describe('mermaid or dot') }),
        response: { 200: z.string().describe('the graph source'), ...errors(404, 422) },
      },
    },
    async (req, reply) => {
      const text = svc.graph({ ref: svc.ref(req.params.lab) }, req.query.format);
      return reply.type('text/plain; charset=utf-8').send(text);
    },
  );
}

/** Stop and start one node of a lab. */
function nodeRoutes(app: App): void {
  const svc = app.services.labs;
  const StopBody = z
    .object({
      timeout_sec: z
        .number()
        .int()
        .min(0)
        .max(600)
        .optional()
        .describe('how long the guest gets to power off (default 15)'),
      force: z.boolean().optional().describe('quit QEMU at once'),
    })
    .strict()
    .nullish();
  app.post(
    '/labs/:lab/nodes/:node/stop',
    {
      schema: {
        operationId: 'stopNode',
        tags: ['labs'],
        summary: 'Stop a node (its disk is kept)',
        params: NodeParams,
        body: StopBody,
        response: {
          200: z.object({ node: z.string(), result: z.enum(['stopped', 'already']) }),
          ...errors(404, 409, 422),
        },
      },
    },
    async (req) => {
      const { lab, node } = req.params;
      const opts = { timeoutMs: (req.body?.timeout_sec ?? 15) * 1000, force: Boolean(req.body?.force) };
      const result = await svc.stopNode(svc.ref(lab), node, opts, { reporter: reporter(req.log) });
      app.consoles.closeNode(`${lab}/${node}`);
      return { node, result };
    },
  );

  app.post(
    '/labs/:lab/nodes/:node/start',
    {
      schema: {
        operationId: 'startNode',
        tags: ['labs'],
        summary: 'Start a stopped node and reconnect its links; answers when SSH does',
        params: NodeParams,
        response: {
          200: z.object({ node: z.string(), already: z.boolean(), boot_ms: z.number() }),
          ...errors(404, 409),
        },
      },
    },
    async (req) => {
      const { lab, node } = req.params;
      const r = await svc.startNode(svc.ref(lab), node, { reporter: reporter(req.log) });
      return { node, already: r.already, boot_ms: r.bootMs };
    },
  );
}

/** Labs and their nodes; routes in the order the OpenAPI document lists them. */
const labs: FastifyPluginAsyncZod = async (app) => {
  lifecycleRoutes(app);
  outputRoutes(app);
  nodeRoutes(app);
};
export default labs;
