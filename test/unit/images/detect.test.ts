import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectOs, parseOsArg, type DetectedOs } from '../../../src/images/detect.js';
import { ImageError } from '../../../src/images/imageError.js';
import { assertIncludes } from '../../helpers/assertions.js';

type Row = [string, Omit<DetectedOs, 'family'>];

const real: Row[] = [
  [
    'ubuntu-24.04-server-cloudimg-amd64.img',
    { distro: 'ubuntu', version: '24.04', arch: 'x86_64', defaultUser: 'ubuntu', cloudInit: true },
  ],
  [
    'ubuntu-22.04-server-cloudimg-arm64.img',
    { distro: 'ubuntu', version: '22.04', arch: 'aarch64', defaultUser: 'ubuntu', cloudInit: true },
  ],
  [
    'jammy-server-cloudimg-arm64.img',
    { distro: 'ubuntu', version: '22.04', arch: 'aarch64', defaultUser: 'ubuntu', cloudInit: true },
  ],
  [
    'noble-server-cloudimg-amd64.img',
    { distro: 'ubuntu', version: '24.04', arch: 'x86_64', defaultUser: 'ubuntu', cloudInit: true },
  ],
  [
    'debian-12-genericcloud-amd64.qcow2',
    { distro: 'debian', version: '12', arch: 'x86_64', defaultUser: 'debian', cloudInit: true },
  ],
  [
    'debian-13-generic-arm64.qcow2',
    { distro: 'debian', version: '13', arch: 'aarch64', defaultUser: 'debian', cloudInit: true },
  ],
  [
    'debian-12-nocloud-amd64.qcow2',
    { distro: 'debian', version: '12', arch: 'x86_64', defaultUser: null, cloudInit: false },
  ],
  [
    'debian-12-genericcloud-amd64-20240717-1811.qcow2',
    { distro: 'debian', version: '12', arch: 'x86_64', defaultUser: 'debian', cloudInit: true },
  ],
  [
    'Rocky-9-GenericCloud.latest.x86_64.qcow2',
    { distro: 'rocky', version: '9', arch: 'x86_64', defaultUser: 'rocky', cloudInit: true },
  ],
  [
    'Rocky-9-GenericCloud-Base-9.5-20241118.0.aarch64.qcow2',
    { distro: 'rocky', version: '9', arch: 'aarch64', defaultUser: 'rocky', cloudInit: true },
  ],
  [
    'AlmaLinux-9-GenericCloud-latest.x86_64.qcow2',
    { distro: 'almalinux', version: '9', arch: 'x86_64', defaultUser: 'almalinux', cloudInit: true },
  ],
  [
    'Fedora-Cloud-Base-Generic-43-1.6.x86_64.qcow2',
    { distro: 'fedora', version: '43', arch: 'x86_64', defaultUser: 'fedora', cloudInit: true },
  ],
  [
    'CentOS-Stream-GenericCloud-9-latest.x86_64.qcow2',
    { distro: 'centos-stream', version: '9', arch: 'x86_64', defaultUser: 'cloud-user', cloudInit: true },
  ],
  [
    'openSUSE-Leap-15.6-Minimal-VM.x86_64-Cloud.qcow2',
    { distro: 'opensuse-leap', version: '15.6', arch: 'x86_64', defaultUser: 'opensuse', cloudInit: true },
  ],
  [
    'nocloud_alpine-3.23.4-x86_64-uefi-cloudinit-r0.qcow2',
    { distro: 'alpine', version: '3.23', arch: 'x86_64', defaultUser: 'alpine', cloudInit: true },
  ],
  [
    'nocloud_alpine-3.23.4-aarch64-uefi-cloudinit-r0.qcow2',
    { distro: 'alpine', version: '3.23', arch: 'aarch64', defaultUser: 'alpine', cloudInit: true },
  ],
];

describe('images/detect', () => {
  describe('detectOs', () => {
    for (const [name, want] of real) {
      it(name, () => assert.deepEqual(detectOs(name), { family: 'linux', ...want }));
    }

    it('ignores directories in the path', () => {
      assert.equal(detectOs('/var/lib/vmlab/images/debian-12-genericcloud-amd64.qcow2')?.distro, 'debian');
    });

    it('returns null for names it does not know', () => {
      for (const n of ['disk.qcow2', 'vmlab-tiny.qcow2', 'windows-11.vhdx', 'sonic-vs.img', ''])
        assert.equal(detectOs(n), null, n);
    });
  });

  describe('parseOsArg', () => {
    it('parses distro-version forms', () => {
      assert.deepEqual(parseOsArg('debian-12'), {
        family: 'linux',
        distro: 'debian',
        version: '12',
        arch: null,
        defaultUser: 'debian',
        cloudInit: true,
      });
      assert.deepEqual(parseOsArg('centos-stream-9'), {
        family: 'linux',
        distro: 'centos-stream',
        version: '9',
        arch: null,
        defaultUser: 'cloud-user',
        cloudInit: true,
      });
      assert.equal(parseOsArg('ubuntu-24.04').version, '24.04');
      assert.equal(parseOsArg('ubuntu-jammy').version, '22.04');
      assert.equal(parseOsArg('debian-trixie').version, '13');
      assert.equal(parseOsArg('opensuse-leap-15.6').distro, 'opensuse-leap');
      assert.equal(parseOsArg('alpine-3.23').defaultUser, 'alpine');
      assert.equal(parseOsArg('Fedora-43').distro, 'fedora');
      assert.equal(parseOsArg('debian-12-arm64').arch, 'aarch64');
      assert.equal(parseOsArg('rocky-9-x86_64').arch, 'x86_64');
    });

    it('rejects unknown forms and lists the valid ones', () => {
      for (const bad of ['windows-11', 'debian', 'debian-twelve', 'ubuntu-24', '', 'centos-9', 'alpine-3']) {
        assert.throws(
          () => parseOsArg(bad),
          (e: unknown) => {
            assert.ok(e instanceof ImageError);
            assert.equal(e.code, 'bad_input');
            assertIncludes(e.hint ?? '', 'debian-12');
            assertIncludes(e.hint ?? '', 'centos-stream-9');
            return true;
          },
          bad,
        );
      }
    });
  });
});
