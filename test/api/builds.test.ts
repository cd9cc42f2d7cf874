import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { auth, qcow2, testApp, tmp, type TestApp } from './fixture.js';

/** The build routes without Docker: every refusal happens before a job exists and names the reason. */
describe('api: vrnetlab builds', () => {
  let t: TestApp;
  let dir: string;

  before(async () => {
    dir = tmp();
    t = await testApp({}, { VRNETLAB_PATH: `${dir}/no-checkout` });
  });
  after(() => t.app.close());

  it('POST /images/detect: device, dir and install phase per name; unknown and unbuildable say why', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/images/detect',
      headers: auth,
      payload: {
        files: [
          'c8000v-universalk9_16G_serial.17.11.01a.qcow2',
          'Cisco_Secure_FW_Mgmt_Center_Virtual_KVM-7.2.5-208.qcow2',
          'debian-12.qcow2',
        ],
      },
    });
    assert.equal(res.statusCode, 200, res.body);
    const [c8k, fmc, deb] = res.json() as Array<Record<string, unknown>>;
    assert.deepEqual(
      [c8k!.device, c8k!.dir, c8k!.install_phase, c8k!.buildable, c8k!.checkout],
      ['c8000v', 'cisco/c8000v', true, true, null],
    );
    assert.equal(fmc!.buildable, false);
    assert.match(String(fmc!.reason), /no directory for FMCv/);
    assert.deepEqual([deb!.device, deb!.buildable], [null, false]);
  });

  it('POST /images/detect with a bad body: 422 naming the field', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/images/detect',
      headers: auth,
      payload: { files: [] },
    });
    assert.equal(res.statusCode, 422);
    assert.match(res.body, /files/);
  });

  it('build-docker of a missing image: 404', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/images/nope/build-docker', headers: auth });
    assert.equal(res.statusCode, 404);
    assert.equal((res.json() as { error: { code: string } }).error.code, 'image_not_found');
  });

  it('build-docker of a disk that is no network device: 422 not_buildable', async () => {
    await t.services.images.import(qcow2(dir, 'plain-disk.qcow2'), {});
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/images/plain-disk/build-docker', headers: auth });
    assert.equal(res.statusCode, 422);
    assert.equal((res.json() as { error: { code: string } }).error.code, 'not_buildable');
  });

  it('a device disk is recorded with its net_device facts; no checkout: no build queued, and build-docker says where to clone', async () => {
    const img = await t.services.images.import(qcow2(dir, 'vJunos-router-23.2R1.15.qcow2'), {});
    assert.equal(img.build_job, undefined);
    assert.match(img.build_skipped!, /no vrnetlab checkout at .*no-checkout/);
    const got = await t.app.inject({ method: 'GET', url: `/api/v1/images/${img.id}`, headers: auth });
    const rec = got.json() as { net_device: string; device: string };
    assert.equal(rec.device, 'vjunos-router');
    assert.equal(JSON.parse(rec.net_device).dir, 'juniper/vjunosrouter');
    const res = await t.app.inject({ method: 'POST', url: `/api/v1/images/${img.id}/build-docker`, headers: auth });
    assert.equal(res.statusCode, 422);
    const body = res.json() as { error: { code: string; hint: string } };
    assert.equal(body.error.code, 'no_checkout');
    assert.match(body.error.hint, /git clone https:\/\/github\.com\/srl-labs\/vrnetlab/);
  });
});
