import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSpec } from '../../../src/spec/loadSpec.js';
import { writeSpecDir } from '../../helpers/specDir.js';
import { planError } from '../../helpers/planFor.js';
import { assertIncludes } from '../../helpers/assertions.js';

describe('loadSpec', () => {
  it('derives links from interfaces.*.link when there is no links array (first side seen is A)', () => {
    const dir = writeSpecDir({
      topology: {
        devices: {
          spine1: { interfaces: { Ethernet0: { link: 'leaf1:Ethernet0' }, Ethernet4: { link: 'leaf2:Ethernet0' } } },
          leaf1: { interfaces: { Ethernet0: { link: 'spine1:Ethernet0' } } },
          leaf2: {},
        },
      },
    });
    assert.deepEqual(
      loadSpec(dir).links.map((l) => [l.index, `${l.a.device}:${l.a.iface}`, `${l.z.device}:${l.z.iface}`]),
      [
        [0, 'spine1:Ethernet0', 'leaf1:Ethernet0'],
        [1, 'spine1:Ethernet4', 'leaf2:Ethernet0'],
      ],
    );
  });

  it('rejects interface links that do not name each other', () => {
    const dir = writeSpecDir({
      topology: {
        devices: { a: { interfaces: { eth1: { link: 'b:eth1' } } }, b: { interfaces: { eth1: { link: 'a:eth2' } } } },
      },
    });
    assertIncludes(
      planError(dir),
      'topology.json: devices.b.interfaces.eth1.link: says b:eth1 links to a:eth2, but a:eth1 links to b:eth1',
    );
  });

  it('reads the newtlab section and secrets, and ignores fields it does not use', () => {
    const dir = writeSpecDir({
      topology: {
        devices: { s1: { steps: [{ url: '/x' }], ports: {} } },
        newtlab: { ssh_port_base: 13000, servers: ['x'] },
      },
      platforms: {
        version: '1.0',
        platforms: { p: { vm_image: 'img.qcow2', hwsku: 'Force10-S6000', dataplane: 'vpp' } },
      },
      profiles: { s1: { platform: 'p', ssh_pass: '${secret:s1_pass}', evpn: { peers: [] } } },
      raw: { 'secrets.json': '{"s1_pass": "hunter2"}', 'network.json': '{"anything": true}' },
    });
    const spec = loadSpec(dir);
    assert.equal(spec.settingsKey, 'newtlab');
    assert.equal(spec.settings.ssh_port_base, 13000);
    assert.equal(spec.profiles.s1!.data.ssh_pass, 'hunter2');
    assert.equal(spec.name, 'lab');
  });

  it('names the lab after the parent of a "specs" directory', () => {
    assert.match(loadSpec(writeSpecDir({ topology: { devices: { a: {} } } }, 'specs')).name, /^vmlab-spec-/);
  });
});
