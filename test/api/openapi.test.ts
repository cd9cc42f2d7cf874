import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { auth, testApp, type TestApp } from './fixture.js';

/** The contract of the issue: every route, by method and path. */
const CONTRACT = [
  'GET /healthz',
  'GET /api/v1/openapi.json',
  'GET /api/v1/session',
  'GET /api/v1/catalog',
  'POST /api/v1/catalog/{id}/pull',
  'GET /api/v1/images',
  'GET /api/v1/images/{ref}',
  'PATCH /api/v1/images/{ref}',
  'DELETE /api/v1/images/{ref}',
  'POST /api/v1/images/import',
  'POST /api/v1/images/upload',
  'POST /api/v1/images/scan',
  'POST /api/v1/images/{ref}/verify',
  'POST /api/v1/images/detect',
  'POST /api/v1/images/{ref}/build-docker',
  'GET /api/v1/jobs',
  'GET /api/v1/jobs/{id}',
  'POST /api/v1/jobs/{id}/cancel',
  'GET /api/v1/jobs/{id}/events',
  'GET /api/v1/labs',
  'POST /api/v1/labs',
  'GET /api/v1/labs/{lab}',
  'DELETE /api/v1/labs/{lab}',
  'GET /api/v1/labs/{lab}/inventory',
  'GET /api/v1/labs/{lab}/graph',
  'POST /api/v1/labs/{lab}/nodes/{node}/stop',
  'POST /api/v1/labs/{lab}/nodes/{node}/start',
  'GET /api/v1/labs/{lab}/nodes/{node}/console',
  'GET /api/v1/labs/{lab}/snapshots',
  'POST /api/v1/labs/{lab}/snapshots',
  'POST /api/v1/labs/{lab}/snapshots/{name}/restore',
  'POST /api/v1/labs/{lab}/nodes/{node}/checkpoint',
  'DELETE /api/v1/labs/{lab}/snapshots/{name}',
  'POST /api/v1/tickets',
].sort();

type Op = {
  operationId?: string;
  tags?: string[];
  summary?: string;
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  parameters?: Array<{ in: string; name: string }>;
  requestBody?: unknown;
};

describe('the OpenAPI document', () => {
  let t: TestApp;
  let doc: {
    openapi: string;
    paths: Record<string, Record<string, Op>>;
    components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    security: unknown[];
  };
  const ops = () =>
    Object.entries(doc.paths).flatMap(([path, byMethod]) =>
      Object.entries(byMethod).map(([m, op]) => ({ key: `${m.toUpperCase()} ${path}`, path, method: m, op })),
    );

  before(async () => {
    t = await testApp();
    const r = await t.app.inject({ url: '/api/v1/openapi.json', headers: auth });
    assert.equal(r.statusCode, 200);
    doc = r.json();
  });
  after(() => t.app.close());

  it('lists exactly the routes of the contract', () => {
    assert.match(doc.openapi, /^3\.0\./);
    assert.deepEqual(
      ops()
        .map((o) => o.key)
        .sort(),
      CONTRACT,
    );
  });

  it('every operation has a unique operationId, tags, a summary, a success response with a schema, and documented errors', () => {
    const ids = new Set<string>();
    for (const { key, op } of ops()) {
      assert.ok(op.operationId && /^[a-z][A-Za-z]+$/.test(op.operationId), `${key}: operationId`);
      assert.ok(!ids.has(op.operationId!), `${key}: operationId ${op.operationId} is used twice`);
      ids.add(op.operationId!);
      assert.ok(op.tags?.length, `${key}: tags`);
      assert.ok(op.summary && op.summary.length > 10, `${key}: summary`);
      const ok = Object.entries(op.responses ?? {}).filter(([s]) => /^[12]\d\d$/.test(s));
      assert.ok(ok.length > 0, `${key}: no success response`);
      for (const [s, r] of ok) assert.ok(Object.values(r.content ?? {})[0]?.schema, `${key}: ${s} has no schema`);
      // The two routes that need no token: health, and the web UI's "am I signed in".
      if (key !== 'GET /healthz' && key !== 'GET /api/v1/session')
        assert.ok(op.responses?.['401'], `${key}: 401 not documented`);
      for (const p of key.match(/\{(\w+)\}/g) ?? [])
        assert.ok(
          op.parameters?.some((x) => x.in === 'path' && `{${x.name}}` === p),
          `${key}: path parameter ${p}`,
        );
    }
  });

  it('names the shared shapes and both ways to authenticate', () => {
    for (const name of ['Error', 'Image', 'Job', 'Lab', 'Node', 'CatalogEntry', 'JobAccepted'])
      assert.ok(doc.components.schemas[name], name);
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['bearer', 'ticket']);
    assert.deepEqual(doc.paths['/healthz']!.get!.requestBody, undefined);
    assert.ok(doc.paths['/api/v1/images/upload']!.post!.requestBody);
  });

  it('is enough to call the API: a client that knows only the document lists images and reads an error', async () => {
    const byId = new Map(ops().map((o) => [o.op.operationId!, o]));
    const call = async (operationId: string, params: Record<string, string> = {}) => {
      const o = byId.get(operationId)!;
      const url = o.path.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(params[k]!));
      return t.app.inject({ method: o.method.toUpperCase() as 'GET', url, headers: auth });
    };
    const list = await call('listImages');
    assert.equal(list.statusCode, 200);
    assert.deepEqual(list.json(), []);
    const missing = await call('getImage', { ref: 'nope' });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(Object.keys(missing.json().error).sort(), ['code', 'hint', 'message']);
    assert.ok(byId.get('getImage')!.op.responses!['404']);
  });
});
