import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectDevice } from '../../../src/builds/vrnetlab/detect.js';
import { FAMILIES } from '../../../src/builds/vrnetlab/families.js';

/** Real vendor file names (as downloaded, or as users name them in vrnetlab's issue tracker) → device id and dir. */
const real: Array<[string, string, string | null]> = [
  ['c8000v-universalk9_16G_serial.17.11.01a.qcow2', 'c8000v', 'cisco/c8000v'],
  ['c8000v-universalk9_8G_serial.17.16.01a.qcow2', 'c8000v', 'cisco/c8000v'],
  ['cat9kv-prd-17.12.01prd9.qcow2', 'cat9kv', 'cisco/cat9kv'],
  ['C9800-CL-universalk9.17.15.04b.qcow2', 'c9800cl', 'cisco/cat9kv'],
  ['cat9800-universalk9.17.09.05.qcow2', 'c9800cl', 'cisco/cat9kv'],
  ['Cisco_Secure_Firewall_Threat_Defense_Virtual-7.2.5-208.qcow2', 'ftdv', 'cisco/ftdv'],
  ['Cisco_Secure_Firewall_Threat_Defense_Virtual-7.4.1-172.qcow2', 'ftdv', 'cisco/ftdv'],
  ['ftdv-7.2.5-208.qcow2', 'ftdv', 'cisco/ftdv'],
  ['Cisco_Secure_FW_Mgmt_Center_Virtual_KVM-7.2.5-208.qcow2', 'fmcv', null],
  ['viptela_vmanage_20_16_1_gen.qcow2', 'cat-sdwan-manager', 'cisco/sdwan-components'],
  ['viptela-vmanage-genericx86-64-20.12.4.qcow2', 'cat-sdwan-manager', 'cisco/sdwan-components'],
  ['viptela-smart-20.16.1-genericx86-64.qcow2', 'cat-sdwan-controller', 'cisco/sdwan-components'],
  ['viptela-bond-20.16.1-genericx86-64.qcow2', 'cat-sdwan-validator', 'cisco/sdwan-components'],
  ['viptela-edge-20.9.3-genericx86-64.qcow2', 'cat-sdwan-vedge', 'cisco/sdwan-components'],
  ['csr1000v-universalk9.17.03.02-serial.qcow2', 'csr1000v', 'cisco/csr1000v'],
  ['csr1000v-universalk9.16.12.03-serial.qcow2', 'csr1000v', 'cisco/csr1000v'],
  ['cisco_vios-159-3.M6.qcow2', 'vios', 'cisco/vios'],
  ['vios-adventerprisek9-m.spa.159-3.m6.qcow2', 'vios', 'cisco/vios'],
  ['cisco_viosl2-15.2.2020.qcow2', 'viosl2', 'cisco/viosl2'],
  ['vios_l2-adventerprisek9-m.ssa.high_iron_20200929.qcow2', 'viosl2', 'cisco/viosl2'],
  ['xrv9k-fullk9-x-7.11.1.qcow2', 'xrv9k', 'cisco/xrv9k'],
  ['iosxrv9000-fullk9-x-7.7.1.qcow2', 'xrv9k', 'cisco/xrv9k'],
  ['asav9-18-2.qcow2', 'asav', 'cisco/asav'],
  ['asav9-20-2.qcow2', 'asav', 'cisco/asav'],
  ['n9kv-9300-10.5.2.qcow2', 'n9kv', 'cisco/n9kv'],
  ['nexus9300v64.10.5.2.F.qcow2', 'n9kv', 'cisco/n9kv'],
  ['nexus9500v64.10.3.1.F.qcow2', 'n9kv', 'cisco/n9kv'],
  ['vJunos-router-23.2R1.15.qcow2', 'vjunos-router', 'juniper/vjunosrouter'],
  ['vJunos-router-24.2R1-S2.2.qcow2', 'vjunos-router', 'juniper/vjunosrouter'],
  ['vJunos-switch-23.2R1.14.qcow2', 'vjunos-switch', 'juniper/vjunosswitch'],
  ['vjunos-switch-23.1R1.8.qcow2', 'vjunos-switch', 'juniper/vjunosswitch'],
  ['vJunosEvolved-23.2R1-S1.8-EVO.qcow2', 'vjunos-evolved', 'juniper/vjunosevolved'],
  ['junos-vsrx3-x86-64-23.2R1.13.qcow2', 'vsrx', 'juniper/vsrx'],
  ['media-vsrx-vmdisk-20.1R1.11.qcow2', 'vsrx', 'juniper/vsrx'],
  ['vmx-bundle-20.2R1.10.tgz', 'vmx', 'juniper/vmx'],
  ['vEOS64-lab-4.25.2F.vmdk', 'veos', 'arista/veos'],
  ['vEOS-lab-4.32.0F.vmdk', 'veos', 'arista/veos'],
  ['sros-vm-23.3.R1.qcow2', 'sros', 'nokia/sros'],
  ['sros-vm-24.10.R2.qcow2', 'sros', 'nokia/sros'],
  ['PA-VM-KVM-10.2.10-h12.qcow2', 'pan', 'paloalto/pan'],
  ['PA-VM-KVM-11.1.0.qcow2', 'pan', 'paloalto/pan'],
  ['chr-7.16.2.vmdk', 'routeros', 'mikrotik/routeros'],
  ['chr-7.17rc3.vmdk', 'routeros', 'mikrotik/routeros'],
  ['fortios-v7.0.14.qcow2', 'fortigate', 'fortinet/fortigate'],
  ['FGT_VM64_KVM-v7.4.3.F-build2573-FORTINET.qcow2', 'fortigate', 'fortinet/fortigate'],
];

describe('builds/vrnetlab/detect', () => {
  for (const [file, device, dir] of real) {
    it(file, () => {
      const d = detectDevice(file);
      assert.ok(d, `${file}: not detected`);
      assert.equal(d.device, device);
      assert.equal(d.dir, dir);
      assert.equal(d.buildable, dir !== null, d.reason);
    });
  }

  it('says why FMCv cannot be built', () => {
    const d = detectDevice('Cisco_Secure_FW_Mgmt_Center_Virtual_KVM-7.2.5-208.qcow2')!;
    assert.equal(d.buildable, false);
    assert.match(d.reason!, /vrnetlab has no directory for FMCv/);
  });

  it('install-phase families are the ones vrnetlab boots under KVM', () => {
    const install = FAMILIES.filter((f) => f.installPhase)
      .map((f) => f.id)
      .sort();
    assert.deepEqual(install, ['asav', 'c8000v', 'csr1000v', 'ftdv', 'vmx', 'xrv9k']);
    assert.equal(detectDevice('c8000v-universalk9_16G_serial.17.11.01a.qcow2')!.install_phase, true);
    assert.equal(detectDevice('vJunos-router-23.2R1.15.qcow2')!.install_phase, false);
  });

  it('a vmdk family given another format is detected but not buildable, with the conversion to make', () => {
    const d = detectDevice('chr-7.16.2.img')!;
    assert.equal(d.device, 'routeros');
    assert.equal(d.buildable, false);
    assert.match(d.reason!, /builds from a \.vmdk file, got \.img: convert it \(qemu-img convert -O vmdk\)/);
  });

  it('ignores directories and knows nothing of cloud images', () => {
    assert.equal(detectDevice('/srv/images/vJunos-router-23.2R1.15.qcow2')?.file, 'vJunos-router-23.2R1.15.qcow2');
    for (const n of [
      'debian-12-genericcloud-amd64.qcow2',
      'vmlab-tiny.qcow2',
      'disk.qcow2',
      'ubuntu-24.04-server-cloudimg-amd64.img',
    ])
      assert.equal(detectDevice(n), undefined, n);
  });

  it('every family has an id, a label, an example its own patterns match, and a reason when not buildable', () => {
    const ids = new Set<string>();
    for (const f of FAMILIES) {
      assert.ok(!ids.has(f.id), `duplicate id ${f.id}`);
      ids.add(f.id);
      assert.equal(detectDevice(f.example)?.device, f.id, `${f.id}: example ${f.example}`);
      if (!f.dir) assert.ok(f.reason, `${f.id}: no reason`);
      if (f.dir && f.canonical && f.version)
        assert.equal(detectDevice(f.canonical(f.version(f.example) ?? 'x'))?.device, f.id, `${f.id}: canonical name`);
    }
  });
});
