import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fakeQemuEnv } from '../helpers/fakeQemuBin.js';

// The lab engine reads VMLAB_QEMU when it loads: set it before the app's modules are imported.
Object.assign(process.env, fakeQemuEnv());
process.env.VMLAB_ACCEL = 'tcg';
const { auth, multipart, qcow2, testApp, tmp } = await import('./fixture.js');
type TestApp = Awaited<ReturnType<typeof testApp>>;

const PORTS = 28600;

/**
 * Lab routes in process, against the fake QEMU (QMP, SSH banner, run
 * states: what the lab engine talks to) so a deploy takes a second:
 * deploy as a job followed over SSE, get, stop/start, 409 for an image in
 * use, console refusals, destroy.
 */
describe('labs routes', { concurrency: false }, () => {
  let t: TestApp;
  const spec = (name: string) => ({
    name,
    topology: {
      devices: { r1: { interfaces: { eth1: { link: 'r2:eth1' } } }, r2: { interfaces: { eth1: { link: 'r1:eth1' } } } },
      vmlab: { name, link_port_base: PORTS, console_port_base: PORTS + 10, ssh_port_base: PORTS + 20 },
    },
    platforms: {
      platforms: {
        fake: {
          vm_image: 'fake-guest',
          vm_memory: 256,
          vm_cpus: 1,
          vm_nic_driver: 'virtio-net-pci',
          vm_interface_map: 'linux',
          vm_credentials: { user: 'root', pass: 'vmlab' },
          vm_boot_timeout: 60,
        },
      },
    },
    profiles: { r1: { platform: 'fake' }, r2: { platform: 'fake' } },
  });

  before(async () => {
    t = await testApp();
    const m = multipart({ name: 'fake-guest' }, { name: 'g.qcow2', data: readFileSync(qcow2(tmp(), 'g.qcow2')) });
    const r = await t.app.inject({
      method: 'POST',
      url: '/api/v1/images/upload',
      headers: { ...auth, ...m.headers },
      payload: m.payload,
    });
    assert.equal(r.statusCode, 201, r.body);
  });
  after(async () => {
    await t.app.inject({ method: 'DELETE', url: '/api/v1/labs/apilab', headers: auth });
    await t.app.close();
  });

  it('no labs yet: list is empty, a named one is 404', async () => {
    assert.deepEqual((await t.app.inject({ url: '/api/v1/labs', headers: auth })).json(), []);
    for (const [method, url] of [
      ['GET', '/api/v1/labs/nope'],
      ['POST', '/api/v1/labs/nope/nodes/r1/stop'],
      ['POST', '/api/v1/labs/nope/nodes/r1/start'],
      ['GET', '/api/v1/labs/nope/nodes/r1/console'],
      ['GET', '/api/v1/labs/nope/snapshots'],
      ['POST', '/api/v1/labs/nope/snapshots/base/restore'],
      ['DELETE', '/api/v1/labs/nope/snapshots/base'],
    ] as const) {
      const r = await t.app.inject({ method, url, headers: auth });
      assert.equal(r.statusCode, 404, `${method} ${url}: ${r.body}`);
    }
  });

  it('POST /labs with an inline spec: 202 with the job, whose events end in success', async () => {
    const r = await t.app.inject({
      method: 'POST',
      url: '/api/v1/labs',
      headers: auth,
      payload: { ...spec('apilab'), max_parallel: 1 },
    });
    assert.equal(r.statusCode, 202, r.body);
    assert.equal(r.json().lab, 'apilab');
    const ev = await t.app.inject({ url: `/api/v1/jobs/${r.json().job_id}/events`, headers: auth });
    const frames = ev.body.split('\n\n').filter(Boolean);
    const end = frames.at(-1)!;
    assert.match(end, /^id: \d+\nevent: end\n/);
    assert.equal(JSON.parse(/data: (.*)/.exec(end)![1]!).status, 'succeeded', ev.body);
    assert.ok(frames.some((f) => f.includes('event: log')));
    // max_parallel 1: the two nodes boot one after the other, in two waves.
    assert.ok(
      frames.some((f) => f.includes('booting 2 node(s), at most 1 at a time (2 waves)')),
      ev.body,
    );
    assert.ok(
      frames.some((f) => f.includes('wave 2/2: r2')),
      ev.body,
    );
  });

  it('POST /labs for a lab needing more memory than the host has: 409 saying how much is missing, no job; a bad force or max_parallel is 422', async () => {
    const huge = spec('hugelab');
    huge.platforms.platforms.fake.vm_memory = 2 ** 30; // 1 PiB
    const jobs = (await t.app.inject({ url: '/api/v1/jobs', headers: auth })).json().length;
    const r = await t.app.inject({ method: 'POST', url: '/api/v1/labs', headers: auth, payload: huge });
    assert.equal(r.statusCode, 409, r.body);
    assert.equal(r.json().error.code, 'insufficient_memory');
    assert.match(r.json().error.message, /^lab "hugelab" needs \d+ MiB of memory .* available: \d+ MiB missing$/);
    assert.equal((await t.app.inject({ url: '/api/v1/jobs', headers: auth })).json().length, jobs, 'no job was made');
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/v1/labs',
      headers: auth,
      payload: { ...huge, force: 'yes', max_parallel: 0 },
    });
    assert.equal(bad.statusCode, 422, bad.body);
  });

  it('GET /labs and /labs/{lab} show it running with both nodes', async () => {
    const list = (await t.app.inject({ url: '/api/v1/labs', headers: auth })).json();
    assert.deepEqual(
      list.map((l: { name: string }) => l.name),
      ['apilab'],
    );
    const lab = (await t.app.inject({ url: '/api/v1/labs/apilab', headers: auth })).json();
    assert.equal(lab.status, 'running');
    assert.deepEqual(lab.nodes.map((n: { node: string; status: string }) => `${n.node}:${n.status}`).sort(), [
      'r1:running',
      'r2:running',
    ]);
    // The console is the node's private unix socket; no TCP console port without console_tcp.
    assert.equal(lab.nodes[0].console_port, null);
    assert.equal(lab.nodes[0].console_socket, join(t.home, 'labs', 'apilab', 'qemu', `${lab.nodes[0].node}.console`));
    // What each QEMU (here the fake one, a node process) costs, read from /proc.
    for (const n of lab.nodes) assert.ok(n.rss_bytes > 1e6 && n.cpu_seconds >= 0, JSON.stringify(n));
  });

  it('GET /labs/{lab}/inventory and /graph: the files deploy wrote, in each format with its content type; 422 for an unknown format', async () => {
    const get = (url: string) => t.app.inject({ url, headers: auth });
    const labDir = join(t.home, 'labs', 'apilab');
    const ansible = await get('/api/v1/labs/apilab/inventory');
    assert.equal(ansible.statusCode, 200, ansible.body);
    assert.match(ansible.headers['content-type'] as string, /^application\/yaml/);
    assert.equal(ansible.body, readFileSync(join(labDir, 'inventory.yml'), 'utf8'));
    const json = await get('/api/v1/labs/apilab/inventory?format=json');
    assert.equal(json.body, readFileSync(join(labDir, 'topology-data.json'), 'utf8'));
    assert.deepEqual(Object.keys(json.json().nodes), ['r1', 'r2']);
    const ssh = await get('/api/v1/labs/apilab/inventory?format=ssh-config');
    assert.equal(ssh.body, readFileSync(join(labDir, 'ssh_config'), 'utf8'));
    const dot = await get('/api/v1/labs/apilab/graph?format=dot');
    assert.match(dot.headers['content-type'] as string, /^text\/plain/);
    assert.ok(dot.body.includes('"r1" -- "r2" [taillabel="eth1", headlabel="eth1"];'), dot.body);
    assert.match((await get('/api/v1/labs/apilab/graph')).body, /^%% vmlab lab "apilab"\ngraph LR\n/);
    assert.equal((await get('/api/v1/labs/apilab/inventory?format=xml')).statusCode, 422);
    assert.equal((await get('/api/v1/labs/nope/graph')).statusCode, 404);
  });

  it('snapshot routes: an empty list, 404 for a snapshot it lacks, 422 for a bad name or field; a warm deploy from a file that is not there is 404 before any job', async () => {
    const list = await t.app.inject({ url: '/api/v1/labs/apilab/snapshots', headers: auth });
    assert.equal(list.statusCode, 200, list.body);
    assert.deepEqual(list.json(), []);
    const missing = await t.app.inject({
      method: 'POST',
      url: '/api/v1/labs/apilab/snapshots/base/restore',
      headers: auth,
    });
    assert.equal(missing.statusCode, 404, missing.body);
    assert.equal(missing.json().error.code, 'snapshot_not_found');
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/v1/labs/apilab/snapshots',
      headers: auth,
      payload: { name: '123' },
    });
    assert.equal(bad.statusCode, 422, bad.body);
    assert.equal(bad.json().error.code, 'invalid_name');
    const extra = await t.app.inject({
      method: 'POST',
      url: '/api/v1/labs/apilab/snapshots',
      headers: auth,
      payload: { name: 'ok', ram: true },
    });
    assert.equal(extra.statusCode, 422, extra.body);
    const jobs = (await t.app.inject({ url: '/api/v1/jobs', headers: auth })).json().length;
    const warm = await t.app.inject({
      method: 'POST',
      url: '/api/v1/labs',
      headers: auth,
      payload: { ...spec('warmlab'), snapshot: 'nosuch' },
    });
    assert.equal(warm.statusCode, 404, warm.body);
    assert.equal(warm.json().error.code, 'snapshot_not_found');
    assert.equal((await t.app.inject({ url: '/api/v1/jobs', headers: auth })).json().length, jobs, 'no job was made');
  });

  it('the image the lab runs on cannot be deleted (409) and says who uses it; force=true removes it anyway', async () => {
    const img = (await t.app.inject({ url: '/api/v1/images/fake-guest', headers: auth })).json();
    assert.deepEqual(img.used_by, ['apilab']);
    const d = await t.app.inject({ method: 'DELETE', url: '/api/v1/images/fake-guest', headers: auth });
    assert.equal(d.statusCode, 409, d.body);
    assert.equal(d.json().error.code, 'in_use');
    assert.match(d.json().error.message, /apilab/);
    const forced = await t.app.inject({ method: 'DELETE', url: '/api/v1/images/fake-guest?force=true', headers: auth });
    assert.equal(forced.statusCode, 200, forced.body);
    assert.equal((await t.app.inject({ url: '/api/v1/images/fake-guest', headers: auth })).statusCode, 404);
  });

  it('a bad lab name and a relative spec_dir are 422 before any job', async () => {
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/v1/labs',
      headers: auth,
      payload: { ...spec('bad lab') },
    });
    assert.equal(bad.statusCode, 422, bad.body);
    const dir = await t.app.inject({
      method: 'POST',
      url: '/api/v1/labs',
      headers: auth,
      payload: { spec_dir: 'relative/dir' },
    });
    assert.equal(dir.statusCode, 422);
    assert.deepEqual(
      dir.json().error.details.map((d: { path: string }) => d.path),
      ['spec_dir'],
    );
  });

  it('stop and start a node; a stopped node has no console (409); an unknown node is 404', async () => {
    const s = await t.app.inject({
      method: 'POST',
      url: '/api/v1/labs/apilab/nodes/r2/stop',
      headers: auth,
      payload: { timeout_sec: 2 },
    });
    assert.equal(s.statusCode, 200, s.body);
    assert.deepEqual(s.json(), { node: 'r2', result: 'stopped' });
    const again = await t.app.inject({ method: 'POST', url: '/api/v1/labs/apilab/nodes/r2/stop', headers: auth });
    assert.deepEqual(again.json(), { node: 'r2', result: 'already' });
    const lab = (await t.app.inject({ url: '/api/v1/labs/apilab', headers: auth })).json();
    assert.equal(lab.nodes.find((n: { node: string }) => n.node === 'r2').status, 'stopped');
    const c = await t.app.inject({ url: '/api/v1/labs/apilab/nodes/r2/console', headers: auth });
    assert.equal(c.statusCode, 409, c.body);
    assert.equal(c.json().error.code, 'node_not_running');
    const u = await t.app.inject({ method: 'POST', url: '/api/v1/labs/apilab/nodes/r9/start', headers: auth });
    assert.equal(u.statusCode, 404, u.body);
    const st = await t.app.inject({ method: 'POST', url: '/api/v1/labs/apilab/nodes/r2/start', headers: auth });
    assert.equal(st.statusCode, 200, st.body);
    assert.equal(st.json().already, false);
    assert.equal(st.json().node, 'r2');
  });

  it('DELETE /labs/{lab} stops everything; then the lab is gone', async () => {
    const d = await t.app.inject({ method: 'DELETE', url: '/api/v1/labs/apilab', headers: auth });
    assert.equal(d.statusCode, 200, d.body);
    assert.deepEqual(d.json().stopped.sort(), ['r1', 'r2']);
    assert.equal(d.json().existed, true);
    assert.equal((await t.app.inject({ url: '/api/v1/labs/apilab', headers: auth })).statusCode, 404);
    assert.deepEqual((await t.app.inject({ url: '/api/v1/labs', headers: auth })).json(), []);
  });
});
