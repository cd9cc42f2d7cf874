import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { LabPlan, ProfilePatch } from '../../../src/plan/labPlan.js';
import { applyProfilePatches, restoredProfileText, restoreProfiles } from '../../../src/lab/lifecycle/profiles.js';

const patch = (before: string, after: string, set: Record<string, string | number>): ProfilePatch => ({
  node: 'r1',
  path: '',
  label: 'profiles/r1.json',
  before,
  after,
  set,
});

describe('restoring a profile undoes only what this lab wrote', () => {
  it('untouched since deploy: the original bytes come back', () => {
    const p = patch('{"platform": "vs"}\n', '{"platform": "vs", "ssh_port": 40000}\n', { ssh_port: 40000 });
    assert.equal(restoredProfileText(p.after, p), p.before);
  });

  it('a field another lab wrote since (same spec dir, another VMLAB_HOME) is left alone', () => {
    const p = patch('{"platform": "vs"}\n', '{"platform": "vs", "ssh_port": 40000, "console_port": 30000}\n', {
      ssh_port: 40000,
      console_port: 30000,
    });
    // The other lab re-patched ssh_port; console_port still holds ours.
    const current = '{"platform": "vs", "ssh_port": 41000, "console_port": 30000}\n';
    const out = JSON.parse(restoredProfileText(current, p));
    assert.deepEqual(out, { platform: 'vs', ssh_port: 41000 });
  });

  it('a user edit elsewhere in the file survives', () => {
    const p = patch('{"platform": "vs", "ssh_port": 1}\n', '{"platform": "vs", "ssh_port": 40000}\n', {
      ssh_port: 40000,
    });
    const out = JSON.parse(restoredProfileText('{"platform": "vs", "ssh_port": 40000, "note": "mine"}\n', p));
    assert.deepEqual(out, { platform: 'vs', ssh_port: 1, note: 'mine' });
  });
});

describe('the lab keeps its own record of the patches', () => {
  function lab() {
    const dir = mkdtempSync(join(tmpdir(), 'vmlab-prof-'));
    const path = join(dir, 'r1.json');
    writeFileSync(path, '{"platform": "vs"}\n');
    const p = {
      ...patch('{"platform": "vs"}\n', '{"platform": "vs", "ssh_port": 40000}\n', { ssh_port: 40000 }),
      path,
    };
    const files = { profileBackups: join(dir, 'lab', 'profiles.orig') };
    return { path, files, plan: { profiles: [p], files } as unknown as LabPlan };
  }

  it('restores from it without state.json', () => {
    const t = lab();
    applyProfilePatches(t.plan);
    assert.match(readFileSync(t.path, 'utf8'), /40000/);
    assert.deepEqual(restoreProfiles(t.files), { restored: ['profiles/r1.json'] });
    assert.equal(readFileSync(t.path, 'utf8'), '{"platform": "vs"}\n');
  });

  it('a lab that never patched (its deploy failed first) restores nothing', () => {
    const t = lab();
    writeFileSync(t.path, '{"platform": "vs", "ssh_port": 40000}\n'); // written by another lab
    assert.deepEqual(restoreProfiles(t.files), { restored: [] });
    assert.match(readFileSync(t.path, 'utf8'), /40000/);
  });

  it('a corrupt record is reported, not guessed at', () => {
    const t = lab();
    applyProfilePatches(t.plan);
    writeFileSync(join(t.files.profileBackups, 'manifest.json'), '{"trunc');
    const r = restoreProfiles(t.files);
    assert.deepEqual(r.restored, []);
    assert.match(r.problem ?? '', /manifest\.json is unreadable/);
  });
});
