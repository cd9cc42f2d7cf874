import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { VmlabError } from '../../../src/errors/vmlabError.js';
import { loadSettings } from '../../../src/host/settings.js';

describe('loadSettings', () => {
  it('gives every default from an empty environment, frozen', () => {
    const s = loadSettings({});
    assert.equal(s.root, join(homedir(), '.vmlab'));
    assert.equal(s.qemuBinary, 'qemu-system-x86_64');
    assert.equal(s.ssh, 'ssh');
    assert.equal(s.remoteBin, 'vmlab');
    assert.equal(s.kvmDevice, '/dev/kvm');
    assert.equal(s.accel, undefined);
    assert.equal(s.autoBuild, true);
    assert.equal(s.autoDownloadImages, false);
    assert.deepEqual(s.defaultImages, ['debian-12', 'ubuntu-24.04']);
    assert.equal(s.jobConcurrency, 2);
    assert.equal(s.buildTimeoutS, 1800);
    assert.deepEqual(s.download, {});
    assert.equal(s.color, true);
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.childEnv));
  });

  it('reads each variable as the code did before', () => {
    const s = loadSettings({
      VMLAB_HOME: '/tmp/h',
      VMLAB_ACCEL: 'tcg',
      VMLAB_AUTO_BUILD: 'false',
      AUTO_DOWNLOAD_IMAGES: 'true',
      VMLAB_DEFAULT_IMAGES: ' a, b ,',
      VMLAB_API_TOKEN: ' tok ',
      VRNETLAB_PATH: '~/vr',
      HTTPS_PROXY: 'http://p:3128',
      no_proxy: 'localhost',
      NO_COLOR: '',
      VMLAB_DOWNLOAD_CONNECTIONS: '3',
      VMLAB_REDIS_URL: 'redis://q:6379',
    });
    assert.equal(s.root, '/tmp/h');
    assert.equal(s.accel, 'tcg');
    assert.equal(s.autoBuild, false);
    assert.equal(s.autoDownloadImages, true);
    assert.deepEqual(s.defaultImages, ['a', 'b']);
    assert.equal(s.apiToken, 'tok');
    assert.equal(s.vrnetlabPath, join(homedir(), 'vr'));
    assert.deepEqual(s.proxy, { http: '', https: 'http://p:3128', no: 'localhost' });
    assert.equal(s.color, false);
    assert.deepEqual(s.download, { connections: 3 });
    assert.equal(s.redisUrl, 'redis://q:6379');
    assert.equal(s.childEnv.VMLAB_HOME, '/tmp/h');
  });

  it('names the variable, what was expected and what was given', () => {
    const check = (env: NodeJS.ProcessEnv, message: string, name: string) =>
      assert.throws(
        () => loadSettings(env),
        (e: VmlabError) =>
          e.code === 'bad_environment' &&
          e.kind === 'input' &&
          e.message === message &&
          e.hint === `fix or unset ${name}`,
      );
    check(
      { VMLAB_JOB_CONCURRENCY: 'lots' },
      'VMLAB_JOB_CONCURRENCY="lots": expected a whole number ≥ 1',
      'VMLAB_JOB_CONCURRENCY',
    );
    check(
      { VMLAB_BUILD_TIMEOUT_S: '0' },
      'VMLAB_BUILD_TIMEOUT_S="0": expected a whole number ≥ 1',
      'VMLAB_BUILD_TIMEOUT_S',
    );
    check(
      { VMLAB_REDIS_URL: 'q:6379' },
      'VMLAB_REDIS_URL="q:6379": expected redis://host:port or rediss://…',
      'VMLAB_REDIS_URL',
    );
  });
});
