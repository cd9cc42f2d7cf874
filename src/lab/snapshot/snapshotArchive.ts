import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { LabPlan } from '../../plan/labPlan.js';
import { hashFile } from '../../host/fileDigest.js';
import { rebaseUnsafe } from '../../qemu/qemuImg.js';
import { isStoreName } from '../../spec/names.js';
import { LabError } from '../labError.js';
import { snapshotMismatches } from '../state/snapshotFacts.js';
import { partFile, type OpenedArchive } from './archiveOpen.js';
import { moveFile } from './fileCopy.js';

/*
 * A snapshot as one portable file (seed 002's "image with an embedded
 * checkpoint", for a whole lab): a tar of each node's overlay (holding the
 * internal snapshot with its RAM), seed, host key, the lab's key, and a
 * manifest with the snapshot's facts and the sha256 of every part. Base
 * images are referenced by sha256; --with-base carries them too. The file
 * holds private keys: it is written 0600. Here: where archives are kept,
 * and a warm deploy's checks and files; writing one is snapshotExport.ts.
 */

/** Where `vmlab snapshot --export` puts a snapshot when no file is named; where a warm deploy finds it by name. */
export const storedArchivePath = (root: string, lab: string, name: string) =>
  join(root, 'snapshots', lab, `${name}.tar`);

/** The snapshot's base images' digests, each file hashed once. */
export async function baseDigests(plan: LabPlan): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of new Set(plan.nodes.map((n) => n.image.path))) out.set(p, (await hashFile(p, ['sha256'])).sha256!);
  return out;
}

/** `FILE`, or NAME: a snapshot exported into the store for this lab. */
export function findArchive(root: string, lab: string, fileOrName: string): string {
  const stored = storedArchivePath(root, lab, fileOrName);
  if (isStoreName(fileOrName) && existsSync(stored)) return stored;
  if (!isStoreName(fileOrName) && existsSync(fileOrName)) return resolve(fileOrName);
  const dir = dirname(stored);
  const have = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.tar'))
        .map((f) => f.slice(0, -4))
    : [];
  throw new LabError(
    'snapshot_not_found',
    `no snapshot file "${fileOrName}", and lab "${lab}" has no exported snapshot of that name` +
      (have.length ? ` (it has: ${have.join(', ')})` : ''),
    {
      hint:
        'export one from the running lab: ' +
        `vmlab snapshot --name <snapshot> --export ${isStoreName(fileOrName) ? fileOrName : 'FILE'} ${lab}`,
    },
  );
}

/** Which base image each node's overlay goes on top of. */
export type WarmBases = Record<string, { path: string; format: string }>;

/**
 * Can this plan start from this snapshot? The nodes, devices, accelerator
 * and QEMU version must be those it was saved with, and each base image
 * the one it was taken on (by sha256), or carried in the file.
 */
export async function checkWarmStart(plan: LabPlan, archive: OpenedArchive, qemuVersion: string): Promise<WarmBases> {
  const rec = archive.manifest.snapshot;
  const now = plan.nodes.map((n) => ({ plan: n, accel: plan.accel, qemu_version: qemuVersion }));
  const diffs = snapshotMismatches(rec, now);
  const digests = await baseDigests(plan);
  const bases: WarmBases = {};
  for (const n of plan.nodes) {
    const want = archive.manifest.nodes[n.name];
    if (!want) continue; // a node set mismatch is reported by snapshotMismatches
    if (digests.get(n.image.path) === want.base.sha256) bases[n.name] = { path: n.image.path, format: n.image.format };
    else if (want.base.included) {
      bases[n.name] = { path: partFile(archive, want.base.included), format: want.base.format };
    } else {
      const taken = `${want.base.name} (sha256 ${want.base.sha256.slice(0, 12)}…)`;
      const given = `${n.image.path} (sha256 ${digests.get(n.image.path)!.slice(0, 12)}…)`;
      diffs.push(`${n.name} base image: the snapshot was taken on ${taken}, the spec gives ${given}`);
    }
  }
  if (diffs.length) {
    throw new LabError(
      'snapshot_mismatch',
      `snapshot "${rec.name}" (${archive.file}) cannot start lab "${plan.name}": ${diffs.join('; ')}`,
      {
        hint:
          'deploy it with the spec, images, QEMU and accelerator it was taken with ' +
          '(a snapshot taken under KVM does not load under TCG, nor the other way round); ' +
          'export with --with-base to carry the base images',
      },
    );
  }
  return bases;
}

/** What a warm deploy starts from: the checked archive and each node's base. */
export interface WarmStart {
  archive: OpenedArchive;
  bases: WarmBases;
}

/**
 * Put a warm start's files where the lab's plan expects them: the lab's key
 * and host keys the guests already trust, each overlay (re-pointed at this
 * host's base image) and the seeds the guests booted with.
 */
export async function placeWarmFiles(plan: LabPlan, warm: WarmStart): Promise<void> {
  const { dir, manifest } = warm.archive;
  // Only listed, checked parts, each a plain file inside the unpack dir (partFile refuses anything else).
  const put = (part: string, to: string) => {
    mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
    copyFileSync(partFile(warm.archive, part), to);
    chmodSync(to, 0o600);
  };
  put(manifest.lab_key, plan.files.labKey);
  put(`${manifest.lab_key}.pub`, plan.files.labKeyPub);
  for (const n of plan.nodes) {
    const a = manifest.nodes[n.name]!;
    put(a.host_key, n.files.hostKey);
    put(`${a.host_key}.pub`, `${n.files.hostKey}.pub`);
    if (n.seed && a.seed) put(a.seed, n.seed.path);
    let base = warm.bases[n.name]!;
    if (base.path.startsWith(`${dir}/`)) {
      // A base carried in the file lives with the lab from now on.
      const kept = join(dirname(n.files.overlay), `base-${basename(base.path)}`);
      if (!existsSync(kept)) moveFile(partFile(warm.archive, a.base.included!), kept);
      base = { ...base, path: kept };
    }
    moveFile(partFile(warm.archive, a.overlay), n.files.overlay);
    await rebaseUnsafe(n.files.overlay, base.path, base.format, `${n.name}'s overlay`);
  }
}
