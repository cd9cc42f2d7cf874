import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { cloudInitFiles } from '../../../src/cloudinit/cloudConfig.js';
import { writeSeedIso } from '../../../src/cloudinit/seedImage.js';

const input = {
  hostname: 'c1',
  user: 'debian',
  authorizedKeys: ['ssh-ed25519 AAAA lab'],
  hostKey: {
    private: '-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n-----END OPENSSH PRIVATE KEY-----\n',
    public: 'ssh-ed25519 BBBB host',
  },
  instanceId: 'lab-c1-1',
  mgmtMac: '52:54:00:aa:bb:cc',
  packages: ['tcpdump'],
};

describe('cloud-init seed', () => {
  it('creates the default user with sudo and the lab key, the hostname and the host key', () => {
    const f = cloudInitFiles(input);
    assert.ok(f['user-data'].startsWith('#cloud-config\n'));
    const ud = parse(f['user-data']);
    assert.equal(ud.hostname, 'c1');
    assert.deepEqual(ud.users[0].ssh_authorized_keys, ['ssh-ed25519 AAAA lab']);
    assert.equal(ud.users[0].sudo, 'ALL=(ALL) NOPASSWD:ALL');
    assert.equal(ud.ssh_keys.ed25519_public, 'ssh-ed25519 BBBB host');
    assert.equal(ud.ssh_genkeytypes, undefined);
    assert.equal(ud.ssh_deletekeys, true);
    assert.deepEqual(ud.packages, ['tcpdump']);
    assert.deepEqual(parse(f['meta-data']), { 'instance-id': 'lab-c1-1', 'local-hostname': 'c1' });
    assert.deepEqual(parse(f['network-config']).ethernets.eth0.match, { macaddress: '52:54:00:aa:bb:cc' });
  });

  it("names a host device's management NIC mgmt0, leaving eth0 to its first data port", () => {
    const f = cloudInitFiles({ ...input, host: true });
    assert.deepEqual(parse(f['network-config']).ethernets, {
      mgmt0: { match: { macaddress: '52:54:00:aa:bb:cc' }, 'set-name': 'mgmt0', dhcp4: true },
    });
  });

  it('writes an ISO labelled cidata holding the three files', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'vmlab-seed-t-')), 'seed.iso');
    await writeSeedIso(cloudInitFiles(input), out);
    const info = execFileSync('isoinfo', ['-d', '-i', out], { encoding: 'utf8' });
    assert.match(info, /Volume id: cidata/);
    const files = execFileSync('isoinfo', ['-J', '-f', '-i', out], { encoding: 'utf8' });
    assert.deepEqual(files.trim().split('\n').sort(), ['/meta-data', '/network-config', '/user-data']);
  });
});
