import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { patchProfileText } from '../../../src/plan/profilePatch.js';
import { restoredProfileText } from '../../../src/lab/lifecycle/profiles.js';

const before =
  '{\n    "loopback_ip": "10.0.0.11",\n    "mgmt_ip": "PLACEHOLDER",\n    "evpn": {"peers": ["s2"]},\n    "platform": "sonic-vpp"\n}';
const set = { mgmt_ip: '127.0.0.1', ssh_port: 40000, console_port: 30000 };

describe('profile patching', () => {
  it('keeps key order, formatting and unknown fields; appends new keys', () => {
    assert.equal(
      patchProfileText(before, set),
      '{\n    "loopback_ip": "10.0.0.11",\n    "mgmt_ip": "127.0.0.1",\n    "evpn": {"peers": ["s2"]},\n    "platform": "sonic-vpp",\n    "ssh_port": 40000,\n    "console_port": 30000\n}',
    );
  });

  it('restores the original bytes, or only undoes its own fields after a user edit', () => {
    const after = patchProfileText(before, set);
    const patch = { node: 'l1', path: '', label: '', before, after, set };
    assert.equal(restoredProfileText(after, patch), before);
    const edited = after.replace('10.0.0.11', '10.0.0.99');
    assert.deepEqual(JSON.parse(restoredProfileText(edited, patch)), {
      loopback_ip: '10.0.0.99',
      mgmt_ip: 'PLACEHOLDER',
      evpn: { peers: ['s2'] },
      platform: 'sonic-vpp',
    });
  });
});
