import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildSpec,
  catalogChoice,
  catalogPulls,
  checkWizard,
  portBases,
  wire,
  type WizardInput,
} from '../../web/src/lib/wizardSpec.js';

const input = (over: Partial<WizardInput> = {}): WizardInput => ({
  lab: 'demo',
  nodes: [
    { name: 'a', image: 'tiny', memory: 256, cpus: 1 },
    { name: 'b', image: 'tiny', memory: 256, cpus: 1 },
    { name: 'c', image: 'deb', memory: 1024, cpus: 2 },
  ],
  wiring: 'chain',
  cloudInit: { importSshKeys: false, packages: '', runcmd: '' },
  ...over,
});

describe('web: the new-lab wizard → inline spec', () => {
  it('wirings: none, chain, star; interfaces numbered per node', () => {
    assert.deepEqual(wire(['a', 'b', 'c'], 'none'), []);
    assert.deepEqual(wire(['a', 'b', 'c'], 'chain'), [
      { a: 'a:eth1', z: 'b:eth1' },
      { a: 'b:eth2', z: 'c:eth1' },
    ]);
    assert.deepEqual(wire(['a', 'b', 'c'], 'star'), [
      { a: 'a:eth1', z: 'b:eth1' },
      { a: 'a:eth2', z: 'c:eth1' },
    ]);
  });

  it('problems by field: bad lab name, duplicate node, no image, too little memory', () => {
    const p = checkWizard(
      input({
        lab: '-x',
        nodes: [
          { name: 'a', image: 'tiny', memory: 256, cpus: 1 },
          { name: 'a', image: '', memory: 16, cpus: 0 },
        ],
      }),
    );
    assert.deepEqual(Object.keys(p).sort(), ['lab', 'nodes.1.cpus', 'nodes.1.image', 'nodes.1.memory', 'nodes.1.name']);
    assert.match(p['nodes.1.name']!, /used twice/);
    assert.deepEqual(checkWizard(input()), {});
    assert.ok(checkWizard(input({ nodes: [] })).nodes);
  });

  it('the spec: devices, links, a profile per node with image, memory, CPUs and cloud-init', () => {
    const s = buildSpec(
      input({
        cloudInit: { importSshKeys: true, packages: 'tcpdump, iperf3  curl', runcmd: 'echo hi\n\n  touch /x  ' },
      }),
    );
    assert.equal(s.name, 'demo');
    assert.deepEqual(Object.keys(s.topology.devices), ['a', 'b', 'c']);
    assert.equal(s.topology.links.length, 2);
    assert.deepEqual(s.profiles.c, {
      vm_image: 'deb',
      vm_memory: 1024,
      vm_cpus: 2,
      vm_nic_driver: 'virtio-net-pci',
      vm_interface_map: 'linux',
      cloud_init: {
        packages: ['tcpdump', 'iperf3', 'curl'],
        runcmd: ['echo hi', 'touch /x'],
        ssh_import_user_keys: true,
      },
    });
    assert.equal(buildSpec(input()).profiles.a!.cloud_init, undefined);
    assert.deepEqual(buildSpec(input()).topology.vmlab, { name: 'demo' });
  });

  it('one port base: links, consoles and SSH in blocks that do not overlap', () => {
    assert.deepEqual(buildSpec(input({ portBase: 29200 })).topology.vmlab, {
      name: 'demo',
      link_port_base: 29200,
      console_port_base: 29210,
      ssh_port_base: 29220,
    });
    assert.deepEqual(portBases(29000, 12, 11), {
      link_port_base: 29000,
      console_port_base: 29030,
      ssh_port_base: 29060,
    });
    assert.match(checkWizard(input({ portBase: 80 })).portBase!, /1024/);
    assert.ok(checkWizard(input({ portBase: 65530 })).portBase);
    assert.deepEqual(checkWizard(input({ portBase: null })), {});
  });

  it('catalog images are pulled first, each once, and the spec names them as the library will', () => {
    const w = input({
      nodes: [
        { name: 'a', image: catalogChoice('debian-12'), memory: 512, cpus: 1 },
        { name: 'b', image: catalogChoice('debian-12'), memory: 512, cpus: 1 },
        { name: 'c', image: 'tiny', memory: 256, cpus: 1 },
      ],
    });
    assert.deepEqual(catalogPulls(w), ['debian-12']);
    assert.equal(buildSpec(w).profiles.a!.vm_image, 'debian-12');
    assert.equal(buildSpec(w).profiles.c!.vm_image, 'tiny');
    assert.deepEqual(catalogPulls(input()), []);
  });
});
