import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectDevice } from '../../../src/builds/vrnetlab/detect.js';
import { PRINT_MAKEFILE, parseMakeVars, tagFromVars, type TagAnswer } from '../../../src/builds/vrnetlab/makeVars.js';
import { resolveTag } from '../../../src/builds/vrnetlab/resolveTag.js';

/** A stand-in for a device dir's Makefile: answers for the names it can parse. */
const makefile =
  (parses: Record<string, string>, tagBase: string) =>
  async (name: string): Promise<TagAnswer> =>
    parses[name]
      ? { ok: true, version: parses[name]!, tag: `${tagBase}:${parses[name]}` }
      : {
          ok: false,
          versionless: true,
          why: 'Incorrect version string: the Makefile cannot read a version from this file name',
        };

describe('builds/vrnetlab/makeVars', () => {
  it('the print target prints every variable with a prefix', () => {
    assert.match(PRINT_MAKEFILE, /^vmlab-print-vars:\n\t@printf /);
    assert.match(PRINT_MAKEFILE, /'VERSION' '\$\(VERSION\)'/);
  });

  it('parses the printed variables and ignores other output', () => {
    const v = parseMakeVars(
      'Install mode enabled\nVMLAB_VAR IMAGE=a.qcow2\nVMLAB_VAR VERSION=17.11.01a\nVMLAB_VAR REGISTRY=vrnetlab/\nVMLAB_VAR IMG_VENDOR=cisco\nVMLAB_VAR IMG_NAME=c8000v\n',
    );
    assert.deepEqual(tagFromVars(v), { ok: true, version: '17.11.01a', tag: 'vrnetlab/cisco_c8000v:17.11.01a' });
  });

  it('VERSION equal to IMAGE, or empty, is their "Incorrect version string"', () => {
    assert.equal(tagFromVars({ IMAGE: 'x.qcow2', VERSION: 'x.qcow2', IMG_NAME: 'n' }).ok, false);
    assert.equal(tagFromVars({ IMAGE: 'chr.vmdk', VERSION: '', IMG_NAME: 'routeros' }).ok, false);
  });

  it('older directories with only VR_NAME tag vr-<name>', () => {
    assert.deepEqual(
      tagFromVars({ IMAGE: 'fortios-v7.0.14.qcow2', VERSION: '7.0.14', REGISTRY: 'vrnetlab/', VR_NAME: 'fortios' }),
      { ok: true, version: '7.0.14', tag: 'vrnetlab/vr-fortios:7.0.14' },
    );
  });
});

describe('builds/vrnetlab/resolveTag', () => {
  it('a name the Makefile parses: its version and tag, the copy keeps the name', async () => {
    const dev = await resolveTag(
      detectDevice('vJunos-router-23.2R1.15.qcow2')!,
      makefile({ 'vJunos-router-23.2R1.15.qcow2': '23.2R1.15' }, 'vrnetlab/juniper_vjunos-router'),
    );
    assert.equal(dev.buildable, true);
    assert.equal(dev.tag, 'vrnetlab/juniper_vjunos-router:23.2R1.15');
    assert.equal(dev.build_file, undefined);
  });

  it('a name it does not parse: the copy is named the way the directory expects, when the Makefile agrees', async () => {
    const dev = await resolveTag(
      detectDevice('nexus9300v64.10.5.2.F.qcow2')!,
      makefile({ 'n9kv-9300-10.5.2.qcow2': '9300-10.5.2' }, 'vrnetlab/cisco_n9kv'),
    );
    assert.equal(dev.buildable, true);
    assert.equal(dev.build_file, 'n9kv-9300-10.5.2.qcow2');
    assert.equal(dev.tag, 'vrnetlab/cisco_n9kv:9300-10.5.2');
  });

  it('no rename works: not buildable, saying which rename would', async () => {
    const dev = await resolveTag(detectDevice('vios-adventerprisek9-m.spa.159-3.m6.qcow2')!, makefile({}, 'x'));
    assert.equal(dev.buildable, false);
    assert.equal(
      dev.reason,
      'cisco/vios/Makefile: Incorrect version string: the Makefile cannot read a version from this file name ("vios-adventerprisek9-m.spa.159-3.m6.qcow2"), nor from "cisco_vios-159-3.m6.qcow2": rename the file to the form that directory expects (for example cisco_vios-159-3.M6.qcow2)',
    );
  });

  it('no version of our own either: says the form', async () => {
    const dev = await resolveTag(detectDevice('vJunos-router-latest.qcow2')!, makefile({}, 'x'));
    assert.equal(dev.buildable, false);
    assert.match(
      dev.reason!,
      /\("vJunos-router-latest\.qcow2"\): rename it to the form that directory expects \(for example vJunos-router-23\.2R1\.15\.qcow2\)$/,
    );
  });

  it('a Makefile that fails for another reason: that reason, no rename proposed', async () => {
    const dev = await resolveTag(detectDevice('c8000v-universalk9_16G_serial.17.11.01a.qcow2')!, async () => ({
      ok: false,
      why: 'IMG_NAME is empty',
    }));
    assert.equal(dev.reason, 'cisco/c8000v/Makefile: IMG_NAME is empty');
  });

  it('a name make cannot take is refused before make runs', async () => {
    let asked = false;
    const dev = await resolveTag(
      { ...detectDevice('vJunos-router-23.2R1.15.qcow2')!, file: 'vJunos-router-23.2R1.15 (1).qcow2' },
      async () => {
        asked = true;
        return { ok: true, version: 'x', tag: 'y' };
      },
    );
    assert.equal(asked, false);
    assert.match(dev.reason!, /has characters vrnetlab's Makefile cannot take/);
  });

  it('an unbuildable family is left as it is (no Makefile asked)', async () => {
    const fmc = detectDevice('Cisco_Secure_FW_Mgmt_Center_Virtual_KVM-7.2.5-208.qcow2')!;
    assert.deepEqual(await resolveTag(fmc, async () => assert.fail('asked')), fmc);
  });
});
