import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import {
  checkCheckpoints,
  CHECKPOINT_FORMAT,
  identityScript,
  macChanges,
  type CheckpointFacts,
} from '../../../src/lab/snapshot/checkpoint.js';
import { devicesOf } from '../../../src/lab/state/snapshotFacts.js';
import type { NodeCheckpoint } from '../../../src/plan/labPlan.js';
import { planFor } from '../../helpers/planFor.js';
import { writeSpecDir } from '../../helpers/specDir.js';

/** A 2-node lab on library image "booted" (r1:eth1 — r2:eth1), planned with a checkpoint saved from `saved`. */
function planOn(memory: number, saved: Partial<CheckpointFacts['saved']> = {}) {
  const dir = writeSpecDir({
    topology: { devices: { r1: { interfaces: { eth1: { link: 'r2:eth1' } } }, r2: {} }, vmlab: { name: 'cp' } },
    platforms: {
      platforms: {
        t: {
          vm_image: 'booted',
          vm_memory: memory,
          vm_cpus: 1,
          vm_nic_driver: 'virtio-net-pci',
          vm_interface_map: 'linux',
        },
      },
    },
    profiles: { r1: { platform: 't' }, r2: { platform: 't' } },
  });
  const plain = planFor(dir);
  const r1 = plain.nodes[0]!;
  const facts: CheckpointFacts = {
    format: CHECKPOINT_FORMAT,
    snapshot: 'vmlab-checkpoint',
    source: { lab: 'src', node: 's1' },
    created: '2026-11-22T00:00:00Z',
    saved: {
      ...devicesOf({ ...r1, memoryMb: 128 }),
      accel: 'tcg',
      qemu_version: '7.2.22',
      vm_state_bytes: 1,
      overlay_bytes: 1,
      ...saved,
    },
    base: { name: 'tiny', sha256: 'a'.repeat(64), format: 'qcow2' },
    user: 'root',
    hostname: 's1',
  };
  const checkpoint: NodeCheckpoint = {
    name: 'booted',
    snapshot: 'vmlab-checkpoint',
    base: { path: '/lib/tiny.qcow2', format: 'qcow2' },
    key: '/lib/booted.key',
    user: 'root',
    nics: facts.saved.nics.length,
    facts: JSON.stringify(facts),
  };
  return { plan: planFor(dir, () => ({ format: 'qcow2', path: '/lib/booted.qcow2', checkpoint })), facts };
}

describe('library checkpoints (pure parts)', () => {
  it('a node on a checkpoint carries it, with at least the NICs it was saved with', () => {
    const { plan } = planOn(128, {
      nics: [
        { index: 0, mac: '52:54:00:00:00:01' },
        { index: 1, mac: '52:54:00:00:00:02' },
        { index: 2, mac: '52:54:00:00:00:03' },
      ],
    });
    const r2 = plan.nodes.find((n) => n.name === 'r2')!;
    assert.equal(r2.checkpoint?.name, 'booted');
    assert.equal(r2.image.path, '/lib/booted.qcow2');
    // r2 wires only eth1, but the checkpoint was saved with eth2 too: an unwired NIC keeps the device set.
    assert.deepEqual(
      r2.nics.map((n) => [n.index, n.backend.kind]),
      [
        [0, 'user'],
        [1, 'unix-connect'],
        [2, 'unwired'],
      ],
    );
  });

  it('matching devices pass; MACs may differ; every other difference is named', () => {
    const same = planOn(128);
    assert.doesNotThrow(() => checkCheckpoints(same.plan, '7.2.22'));
    const bad = planOn(256);
    assert.throws(
      () => checkCheckpoints(bad.plan, '8.0.0'),
      (err: Error) => {
        assert.match(err.message, /r1 \(checkpoint "booted"\) memory: expected 128 MiB, got 256 MiB/);
        assert.match(err.message, /r2 \(checkpoint "booted"\) QEMU version: expected 7\.2\.22, got 8\.0\.0/);
        assert.doesNotMatch(err.message, /NICs/);
        return true;
      },
    );
  });

  it('data NICs get the planned MACs; management keeps its own', () => {
    const { plan, facts } = planOn(128);
    const r2 = plan.nodes.find((n) => n.name === 'r2')!;
    const changes = macChanges(facts.saved, r2);
    assert.deepEqual(
      changes,
      [{ from: facts.saved.nics[1]!.mac, to: r2.nics[1]!.mac }].filter((c) => c.from !== c.to),
    );
    assert.ok(changes.every((c) => c.from !== facts.saved.nics[0]!.mac));
  });

  it('the identity script is valid sh with every value quoted', () => {
    const script = identityScript({
      hostname: 'r1',
      labKeyPub: "ssh-ed25519 AAAAC3new vmlab-lab's key",
      oldKeyPub: 'ssh-ed25519 AAAAC3old vmlab-src',
      hostKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n',
      hostKeyPub: 'ssh-ed25519 AAAAC3host r1@vmlab-cp',
      macs: [{ from: '52:54:00:aa:bb:01', to: '52:54:00:aa:bb:02' }],
    });
    const parsed = spawnSync('sh', ['-n'], { input: script });
    assert.equal(parsed.status, 0, parsed.stderr.toString());
    assert.match(script, /echo 'ssh-ed25519 AAAAC3new vmlab-lab'\\''s key' >> "\$f\.vmlab"/);
    assert.match(script, /grep -v -F AAAAC3old/);
    assert.match(script, /setmac 52:54:00:aa:bb:01 52:54:00:aa:bb:02/);
    assert.match(
      script,
      /<<'VMLAB_HOST_KEY'\n-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\nVMLAB_HOST_KEY\n/,
    );
  });
});
