import assert from 'node:assert/strict';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { LabPlan, ProfilePatch } from '../../../src/plan/labPlan.js';
import { writeFileAtomic } from '../../../src/host/atomicWrite.js';
import { applyProfilePatches, restoreProfiles } from '../../../src/lab/lifecycle/profiles.js';

const BEFORE = '{\n    "platform": "vs",\n    "mgmt_ip": "PLACEHOLDER"\n}\n';
const AFTER = '{\n    "platform": "vs",\n    "mgmt_ip": "10.0.0.1"\n}\n';

const mode = (p: string) => statSync(p).mode & 0o777;

/** A spec dir with profiles/r1.json, and the smallest LabPlan the profile code reads. */
function setup() {
  const root = mkdtempSync(join(tmpdir(), 'vmlab-profiles-'));
  const profiles = join(root, 'spec', 'profiles');
  mkdirSync(profiles, { recursive: true });
  const path = join(profiles, 'r1.json');
  const patch: ProfilePatch = {
    node: 'r1',
    path,
    label: 'profiles/r1.json',
    before: BEFORE,
    after: AFTER,
    set: { mgmt_ip: '10.0.0.1' },
  };
  const plan = {
    files: { profileBackups: join(root, 'lab', 'profiles.orig') },
    profiles: [patch],
  } as unknown as LabPlan;
  return { root, profiles, path, plan };
}

describe('profiles: deploy patches them, destroy restores them', () => {
  it('a symlinked profile stays a symlink, its target is written and keeps its mode', () => {
    const { root, profiles, path, plan } = setup();
    const shared = join(root, 'shared');
    mkdirSync(shared);
    const target = join(shared, 'r1.json');
    writeFileSync(target, BEFORE);
    chmodSync(target, 0o640);
    symlinkSync('../../shared/r1.json', path);

    applyProfilePatches(plan);
    assert.ok(lstatSync(path).isSymbolicLink(), 'still a symlink after deploy');
    assert.equal(readlinkSync(path), '../../shared/r1.json');
    assert.equal(readFileSync(target, 'utf8'), AFTER);
    assert.equal(mode(target), 0o640);

    assert.deepEqual(restoreProfiles(plan.files).restored, ['profiles/r1.json']);
    assert.ok(lstatSync(path).isSymbolicLink(), 'still a symlink after destroy');
    assert.equal(readFileSync(target, 'utf8'), BEFORE);
    assert.equal(mode(target), 0o640);
    // No temp files left beside the target or the link.
    assert.deepEqual(readdirSync(shared), ['r1.json']);
    assert.deepEqual(readdirSync(profiles), ['r1.json']);
  });

  it('a chain of symlinks is followed to the real file', () => {
    const { root, profiles, path, plan } = setup();
    const real = join(root, 'real.json');
    writeFileSync(real, BEFORE);
    symlinkSync(real, join(root, 'middle.json'));
    symlinkSync(join(root, 'middle.json'), path);
    applyProfilePatches(plan);
    assert.ok(lstatSync(path).isSymbolicLink());
    assert.ok(lstatSync(join(root, 'middle.json')).isSymbolicLink());
    assert.equal(readFileSync(real, 'utf8'), AFTER);
    restoreProfiles(plan.files).restored;
    assert.equal(readFileSync(real, 'utf8'), BEFORE);
    assert.deepEqual(readdirSync(profiles), ['r1.json']);
  });

  it('a regular profile keeps its own mode', () => {
    const { path, plan } = setup();
    writeFileSync(path, BEFORE);
    chmodSync(path, 0o600);
    applyProfilePatches(plan);
    assert.equal(readFileSync(path, 'utf8'), AFTER);
    assert.equal(mode(path), 0o600);
    chmodSync(path, 0o664);
    restoreProfiles(plan.files).restored;
    assert.equal(readFileSync(path, 'utf8'), BEFORE);
    assert.equal(mode(path), 0o664);
  });

  it('keeps the original in an owner-only backup, once', () => {
    const { path, plan } = setup();
    writeFileSync(path, BEFORE);
    applyProfilePatches(plan);
    applyProfilePatches(plan);
    const backup = join(plan.files.profileBackups, 'r1.json');
    assert.equal(readFileSync(backup, 'utf8'), BEFORE);
    assert.equal(mode(backup), 0o600);
  });

  it('restores nothing that is already as it was', () => {
    const { path, plan } = setup();
    writeFileSync(path, BEFORE);
    assert.deepEqual(restoreProfiles(plan.files).restored, []);
  });
});

describe('writeFileAtomic', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'vmlab-atomic-'));

  it('applies a given mode exactly, whatever the umask', () => {
    const d = dir();
    const old = process.umask(0o077);
    try {
      writeFileAtomic(join(d, 'a'), 'x', 0o644);
    } finally {
      process.umask(old);
    }
    assert.equal(mode(join(d, 'a')), 0o644);
    writeFileAtomic(join(d, 'a'), 'y', 0o600);
    assert.equal(mode(join(d, 'a')), 0o600);
    assert.equal(readFileSync(join(d, 'a'), 'utf8'), 'y');
  });

  it('keeps the mode of a file it replaces when none is given; a new file gets 0644 less the umask', () => {
    const d = dir();
    writeFileSync(join(d, 'a'), 'x');
    chmodSync(join(d, 'a'), 0o640);
    writeFileAtomic(join(d, 'a'), 'y');
    assert.equal(mode(join(d, 'a')), 0o640);
    const old = process.umask(0o022);
    try {
      writeFileAtomic(join(d, 'b'), 'z');
    } finally {
      process.umask(old);
    }
    assert.equal(mode(join(d, 'b')), 0o644);
    assert.deepEqual(readdirSync(d).sort(), ['a', 'b']);
  });

  it('leaves no temp file when the write fails', () => {
    const d = dir();
    assert.throws(() => writeFileAtomic(join(d, 'missing', 'a'), 'x'), /ENOENT/);
    assert.deepEqual(readdirSync(d), []);
  });
});
