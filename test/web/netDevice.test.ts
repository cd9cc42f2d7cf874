import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activeBuild, buildOffer, netDeviceOf, stepLabel } from '../../web/src/lib/netDevice.js';

const c8k = JSON.stringify({
  device: 'c8000v',
  label: 'Cisco Catalyst 8000v',
  file: 'c8000v-universalk9_16G_serial.17.11.01a.qcow2',
  dir: 'cisco/c8000v',
  buildable: true,
  install_phase: true,
  format: 'qcow2',
  version: '17.11.01a',
});
const xrv9k = JSON.stringify({
  device: 'xrv9k',
  label: 'Cisco XRv 9000',
  file: 'xrv9k.iso',
  dir: 'cisco/xrv9k',
  buildable: false,
  reason: "vrnetlab's cisco/xrv9k builds from a .qcow2 file, got .iso",
  install_phase: true,
  format: 'qcow2',
});

describe('web: network-device facts and vrnetlab builds on the Local tab', () => {
  it('reads the net_device text; nothing, broken or device-less text is no device', () => {
    assert.deepEqual(netDeviceOf(c8k), {
      device: 'c8000v',
      label: 'Cisco Catalyst 8000v',
      buildable: true,
      version: '17.11.01a',
    });
    for (const t of [null, undefined, '', 'not json', '42', '{}', '{"device":""}'])
      assert.equal(netDeviceOf(t), undefined, String(t));
    assert.equal(netDeviceOf('{"device":"x"}')?.label, 'x', 'the label falls back to the device id');
    assert.equal(netDeviceOf('{"device":"x","buildable":"yes"}')?.buildable, false, 'only true is buildable');
  });

  it('offers the button for a buildable disk, the reason for one vrnetlab cannot build, nothing otherwise', () => {
    assert.deepEqual(buildOffer({ kind: 'qcow2', net_device: c8k }), { kind: 'button' });
    assert.deepEqual(buildOffer({ kind: 'qcow2', net_device: xrv9k }), {
      kind: 'reason',
      reason: "vrnetlab's cisco/xrv9k builds from a .qcow2 file, got .iso",
    });
    assert.deepEqual(buildOffer({ kind: 'qcow2', net_device: '{"device":"x","buildable":false}' }), {
      kind: 'reason',
      reason: 'vrnetlab cannot build this device',
    });
    assert.deepEqual(buildOffer({ kind: 'qcow2', net_device: null }), { kind: 'none' });
    assert.deepEqual(buildOffer({ kind: 'docker', net_device: c8k }), { kind: 'none' }, 'a built image builds nothing');
  });

  it('labels a build step, with docker build’s n of m', () => {
    assert.equal(stepLabel('docker build', 3, 7), 'docker build 3/7');
    assert.equal(stepLabel('make'), 'make');
    assert.equal(stepLabel('make', null, null), 'make');
    assert.equal(stepLabel(null), '');
  });

  it('finds the running build of an image among the jobs, not a finished one or another kind', () => {
    const jobs = [
      { id: 'a', kind: 'build', target: 'img1', status: 'succeeded' },
      { id: 'b', kind: 'download', target: 'img1', status: 'running' },
      { id: 'c', kind: 'build', target: 'img2', status: 'running' },
      { id: 'd', kind: 'build', target: 'img1', status: 'queued' },
    ];
    assert.equal(activeBuild('img1', jobs)?.id, 'd');
    assert.equal(activeBuild('img3', jobs), undefined);
    assert.equal(activeBuild('img1', undefined), undefined);
  });
});
