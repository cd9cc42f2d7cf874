import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fakeQemuBinary } from '../helpers/fakeQemuBin.js';

// The fake QEMU answers an SSH banner; ssh is the real OpenSSH, which would read a ProxyCommand from ssh_config.
process.env.VMLAB_QEMU = fakeQemuBinary();
delete process.env.VMLAB_SSH;
process.env.VMLAB_ACCEL = 'tcg';
const { auth, multipart, qcow2, testApp, tmp } = await import('./fixture.js');
type TestApp = Awaited<ReturnType<typeof testApp>>;

const PORTS = 28800;
const USER_RULE = 'a user name: a letter or "_", then letters, digits, "_", "." or "-", at most 32 characters';

/**
 * The attack of issue 20 through the API: an inline spec is written to a
 * spec dir and read by the same loader as `vmlab deploy -S`, so a user
 * name carrying `\nProxyCommand …` is refused before any job: 422
 * spec_invalid naming the file and field, no job, no lab, nothing run.
 */
describe('POST /labs with an inline spec that injects into ssh_config', { concurrency: false }, () => {
  let t: TestApp;
  type Fields = Record<string, unknown>;
  const inline = (profile: Fields, credentials: Fields = { user: 'root', pass: 'vmlab' }) => ({
    name: 'pwnapi',
    topology: { devices: { r1: {} }, vmlab: { name: 'pwnapi', console_port_base: PORTS, ssh_port_base: PORTS + 10 } },
    platforms: {
      platforms: {
        fake: { vm_image: 'fake-guest', vm_memory: 256, vm_cpus: 1, vm_credentials: credentials, vm_boot_timeout: 30 },
      },
    },
    profiles: { r1: { platform: 'fake', ...profile } },
  });

  before(async () => {
    t = await testApp();
    const m = multipart({ name: 'fake-guest' }, { name: 'g.qcow2', data: readFileSync(qcow2(tmp(), 'g.qcow2')) });
    const headers = { ...auth, ...m.headers };
    const r = await t.app.inject({ method: 'POST', url: '/api/v1/images/upload', headers, payload: m.payload });
    assert.equal(r.statusCode, 201, r.body);
  });
  after(async () => {
    await t.app.inject({ method: 'DELETE', url: '/api/v1/labs/pwnapi', headers: auth });
    await t.app.close();
  });

  type Want = { file: string; path: string; got: string };
  const cases: Array<[string, (marker: string) => ReturnType<typeof inline>, Want]> = [
    [
      'profile ssh_user with a ProxyCommand line',
      (marker) => inline({ ssh_user: `admin\nProxyCommand touch ${marker}` }),
      { file: 'profiles/r1.json', path: 'ssh_user', got: 'got "admin\\nProxyCommand touch ' },
    ],
    [
      'platform vm_credentials.user with a ProxyCommand line',
      (marker) => inline({}, { user: `root\nProxyCommand touch ${marker}` }),
      { file: 'platforms.json', path: 'platforms.fake.vm_credentials.user', got: 'got "root\\nProxyCommand touch ' },
    ],
    [
      'profile ssh_user that is an ssh option',
      (marker) => inline({ ssh_user: `-oProxyCommand=touch ${marker}` }),
      { file: 'profiles/r1.json', path: 'ssh_user', got: 'got "-oProxyCommand=touch ' },
    ],
  ];
  for (const [name, payload, want] of cases) {
    it(`${name}: 422 spec_invalid naming the file and field; no job, no lab, nothing run`, async () => {
      const marker = join(mkdtempSync('/tmp/vmlab-pwn-'), 'marker');
      const r = await t.app.inject({ method: 'POST', url: '/api/v1/labs', headers: auth, payload: payload(marker) });
      assert.equal(r.statusCode, 422, r.body);
      const e = r.json().error;
      assert.equal(e.code, 'spec_invalid');
      assert.equal(e.details.length, 1, JSON.stringify(e.details));
      assert.equal(e.details[0].file, want.file);
      assert.equal(e.details[0].path, want.path);
      assert.ok(e.details[0].message.startsWith(`expected ${USER_RULE}, ${want.got}`), e.details[0].message);
      assert.ok(e.message.startsWith(`${want.file}: ${want.path}: expected ${USER_RULE}`), e.message);
      const jobs = (await t.app.inject({ url: '/api/v1/jobs', headers: auth })).json() as Array<{ kind: string }>;
      assert.deepEqual(
        jobs.filter((j) => j.kind !== 'import'),
        [],
      ); // the image upload's import is the only job
      assert.deepEqual((await t.app.inject({ url: '/api/v1/labs', headers: auth })).json(), []);
      assert.equal(existsSync(join(t.home, 'labs', 'pwnapi')), false);
      await new Promise((res) => setTimeout(res, 500)); // a job that ran anyway would have made it by now
      assert.equal(existsSync(marker), false, 'the ProxyCommand ran');
    });
  }
});
