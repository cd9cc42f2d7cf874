import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { remoteArgv, runOnAllHosts, type RemoteOptions } from '../../../src/lab/lifecycle/allHosts.js';
import { VmlabError } from '../../../src/errors/vmlabError.js';
import { writeSpecDir } from '../../helpers/specDir.js';
import { loadSettings } from '../../../src/host/settings.js';
import { createServices } from '../../../src/service/index.js';

/**
 * --all-hosts without machines to SSH to: a stand-in `ssh` that does what
 * sshd does with the command (hands it to a POSIX shell), and a stand-in
 * `vmlab` that logs its arguments. The remote shell parsing is real.
 */
const dir = mkdtempSync(join(tmpdir(), 'vmlab-allhosts-'));
const log = join(dir, 'calls.log');
const script = (name: string, body: string) => {
  writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
  chmodSync(join(dir, name), 0o755);
  return join(dir, name);
};
const fakeSsh = script(
  'ssh',
  'while [ "$1" != "--" ]; do shift; done; shift\necho "reached $1" >&2; shift\nexec sh -c "$1"',
);
const fakeVmlab = script(
  'vmlab',
  `for a; do printf '<%s>' "$a"; done >> ${log}; echo >> ${log}\nfor a; do printf '%s\\n' "$a"; done\ncase "$*" in *"deploy"*"--host b"*) echo "b: no image" >&2; exit 1;; esac`,
);
const opts: RemoteOptions = { ssh: fakeSsh, bin: fakeVmlab };
after(() => rmSync(dir, { recursive: true, force: true }));

describe('--all-hosts', () => {
  it('builds the ssh argv with every remote word quoted on its own', () => {
    const argv = remoteArgv(
      { address: '10.0.0.2', user: 'admin', listen: '10.0.0.2' },
      ['deploy', '-S', "/specs/it's; rm -rf ~", '--host', 'b'],
      { ssh: 'ssh', bin: 'vmlab', sshConfig: '/etc/lab ssh' },
    );
    assert.deepEqual(argv, [
      'ssh',
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=10',
      '-F',
      '/etc/lab ssh',
      '--',
      'admin@10.0.0.2',
      `vmlab deploy -S '/specs/it'\\''s; rm -rf ~' --host b`,
    ]);
  });

  it('runs the command on each host with its arguments intact, output prefixed with the host', async () => {
    const lines: string[] = [];
    const hosts = {
      a: { address: '10.0.0.1', listen: '10.0.0.1' },
      b: { address: '10.0.0.2', user: 'admin', listen: '10.0.0.2' },
    };
    const tricky = ['a b', "it's", '$(touch /tmp/pwned)', '`id`', '*', ''];
    const codes = await runOnAllHosts(hosts, (h) => ['status', '--host', h, ...tricky], opts, {
      stdout: (l) => lines.push(`out ${l}`),
      stderr: (l) => lines.push(`err ${l}`),
    });
    assert.deepEqual(codes, { a: 0, b: 0 });
    for (const h of ['a', 'b']) {
      assert.deepEqual(
        lines.filter((l) => l.startsWith(`out [${h}]`)),
        ['status', '--host', h, ...tricky].map((w) => `out [${h}] ${w}`),
      );
    }
    assert.ok(lines.includes('err [b] reached admin@10.0.0.2'));
    assert.ok(lines.includes('err [a] reached 10.0.0.1'));
  });

  it("rolls back the hosts that deployed when one host's deploy fails; the failed host (maybe refusing a lab already running there) is left alone", async () => {
    writeFileSync(log, '');
    const spec = writeSpecDir(
      {
        topology: { devices: { r1: {}, r2: {} }, vmlab: { hosts: { a: '10.0.0.1', b: '10.0.0.2' } } },
        profiles: {
          r1: { vm_host: 'a', vm_image: '/images/r.qcow2' },
          r2: { vm_host: 'b', vm_image: '/images/r.qcow2' },
        },
      },
      'mh',
    );
    const svc = createServices(
      loadSettings({ ...process.env, VMLAB_HOME: dir, VMLAB_SSH: fakeSsh, VMLAB_REMOTE_BIN: fakeVmlab }),
    ).labs;
    const err: string[] = [];
    const e = await svc.deployAllHosts(spec, { stdout: () => undefined, stderr: (l) => err.push(l) }).then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(e instanceof VmlabError);
    assert.equal(e.code, 'host_failed');
    assert.equal(e.message, 'deploy failed on host b (exit 1); every host is as it was before');
    assert.ok(err.includes('[b] b: no image'));
    assert.ok(err.includes('rolling back host(s) a (failed: b)'));
    const calls = readFileSync(log, 'utf8').trim().split('\n').sort();
    assert.deepEqual(calls, [
      `<deploy><-S><${spec}><--host><a>`,
      `<deploy><-S><${spec}><--host><b>`,
      `<destroy><-S><${spec}><--host><a>`,
    ]);
  });

  it('refuses a lab without hosts', async () => {
    const spec = writeSpecDir({ topology: { devices: { r1: {} } } }, 'single');
    const svc = createServices(loadSettings({ ...process.env, VMLAB_HOME: dir })).labs;
    const e = await svc.onAllHosts(spec, 'status', { stdout: () => undefined, stderr: () => undefined }).then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(e instanceof VmlabError);
    assert.equal(e.kind, 'input');
    assert.match(e.message, /lab "single" has no hosts/);
  });
});
