import {
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { LabPlan } from '../../plan/labPlan.js';
import { hashFile } from '../../host/fileDigest.js';
import { pidAfter, removeLeftByDead } from '../../host/leftovers.js';
import { writeFileAtomic } from '../../host/atomicWrite.js';
import type { Reporter } from '../../host/reporter.js';
import { run, tailLines } from '../../qemu/run.js';
import { isValidName } from '../../spec/names.js';
import { partFile, qemuImg, type OpenedArchive } from './archiveOpen.js';
import { ARCHIVE_FORMAT, type ArchiveManifest, type ArchiveNode } from './archiveParts.js';
import { LabError } from '../labError.js';
import { type LabRef } from '../state/labSelect.js';
import { withLab } from '../state/withLab.js';
import { nodeIsUp } from '../node/nodeControl.js';
import { checkSnapshotName, findSnapshot, markPaused, overlayInfo, qemuImgSnapshot, qmp, resumeAbandoned, resumeAll } from './snapshot.js';
import { snapshotMismatches } from '../state/snapshotFacts.js';

// Opening an archive lives in archiveOpen.ts, its format in archiveParts.ts; callers keep these names here.
export { ARCHIVE_FORMAT, qemuImg };
export type { ArchiveManifest, ArchiveNode, OpenedArchive };

/*
 * A snapshot as one portable file (seed 002's "image with an embedded
 * checkpoint", for a whole lab): a tar of each node's overlay (holding the
 * internal snapshot with its RAM), seed, host key, the lab's key, and a
 * manifest with the snapshot's facts and the sha256 of every part. Base
 * images are referenced by sha256; --with-base carries them too. The file
 * holds private keys: it is written 0600.
 */

/** Where `vmlab snapshot --export` puts a lab's snapshot when no file is named, and where a warm deploy finds it by name. */
export const storedArchivePath = (root: string, lab: string, name: string) => join(root, 'snapshots', lab, `${name}.tar`);

/** A bare name (no "/", no ".") means the store, as lima and docker tell a name from a path. */
export const isStoreName = (arg: string) => isValidName(arg) && !/[./]/.test(arg);

/** The state root of a lab's dir (<root>/labs/<lab>). */
const rootOf = (labDirPath: string) => dirname(dirname(labDirPath));

export interface ExportResult {
  file: string;
  bytes: number;
  parts: number;
  base_included: boolean;
  paused_ms: number;
  took_ms: number;
}

/** The snapshot's base images' digests, each file hashed once. */
async function baseDigests(plan: LabPlan): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of new Set(plan.nodes.map((n) => n.image.path))) out.set(p, (await hashFile(p, ['sha256'])).sha256!);
  return out;
}

export const copyFast = (from: string, to: string) => copyFileSync(from, to, constants.COPYFILE_FICLONE);

/**
 * Write snapshot `name` of a lab into one file. Running nodes are paused
 * while their overlays are copied (QEMU flushes its disks on pause, and
 * a reflink makes the copy O(1) where the filesystem can), then resumed.
 */
export async function exportSnapshot(ref: LabRef, name: string, file: string, opts: { withBase: boolean }, reporter: Reporter): Promise<ExportResult> {
  checkSnapshotName(name);
  const t0 = Date.now();
  const out = resolve(isStoreName(file) ? storedArchivePath(rootOf(ref.dir), ref.name, file) : file);
  if (existsSync(out) && statSync(out).isDirectory()) throw new LabError(`${out} is a directory`, 'give the file to write, e.g. --export lab.tar', 'input', 'invalid_path');
  mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
  // Beside the target, named with our pid: what a killed export left there goes first.
  for (const kind of ['parts', 'tmp']) removeLeftByDead(dirname(out), pidAfter(`${basename(out)}.${kind}-`));
  const staging = `${out}.parts-${process.pid}`;
  return withLab(ref, {}, async (state) => {
    await resumeAbandoned(state, reporter);
    const plan = state.plan;
    const rec = findSnapshot(state, name);
    if (rec.kind !== 'full') throw new LabError(`"${name}" is a disk-only snapshot: an export is for starting warm, which needs the RAM state`, `take a full snapshot of the running lab: vmlab snapshot --name <name> ${ref.name}`, 'conflict', 'snapshot_disk_only');
    rmSync(staging, { recursive: true, force: true });
    let pausedMs = 0;
    try {
      for (const d of ['disks', 'seeds', 'keys', 'base']) mkdirSync(join(staging, d), { recursive: true, mode: 0o700 });
      const digests = await baseDigests(plan);

      const up = plan.nodes.filter((n) => nodeIsUp(state, n.name));
      const paused: typeof up = [];
      const pausedAt = Date.now();
      markPaused(state);
      try {
        for (const n of up) {
          await qmp(n, 'stop');
          paused.push(n);
        }
        for (const n of plan.nodes) copyFast(n.files.overlay, join(staging, 'disks', `${n.name}.qcow2`));
      } finally {
        await resumeAll(state, paused, reporter);
        pausedMs = paused.length ? Date.now() - pausedAt : 0;
      }

      const nodes: Record<string, ArchiveNode> = {};
      for (const n of plan.nodes) {
        const sha = digests.get(n.image.path)!;
        const baseName = `${sha}.${n.image.format}`;
        const overlay = `disks/${n.name}.qcow2`;
        // Only this snapshot travels; the copy names its base by digest (the importing host points it at its own copy).
        for (const o of (await overlayInfo(join(staging, overlay))).snapshots) if (o.name !== name) await qemuImgSnapshot('-d', o.name, join(staging, overlay));
        await qemuImg(['rebase', '-u', '-b', baseName, '-F', n.image.format, join(staging, overlay)], `${n.name}'s overlay`);
        const hostKey = `keys/${basename(n.files.hostKey)}`;
        copyFileSync(n.files.hostKey, join(staging, hostKey));
        copyFileSync(`${n.files.hostKey}.pub`, join(staging, `${hostKey}.pub`));
        let seed: string | undefined;
        if (n.seed) {
          seed = `seeds/${n.name}.iso`;
          copyFileSync(n.seed.path, join(staging, seed));
        }
        let included: string | undefined;
        if (opts.withBase) {
          included = `base/${baseName}`;
          if (!existsSync(join(staging, included))) copyFast(n.image.path, join(staging, included));
        }
        nodes[n.name] = { overlay, host_key: hostKey, ...(seed ? { seed } : {}), base: { name: basename(n.image.path), format: n.image.format, sha256: sha, bytes: statSync(n.image.path).size, ...(included ? { included } : {}) } };
      }
      copyFileSync(plan.files.labKey, join(staging, 'keys/lab.key'));
      copyFileSync(plan.files.labKeyPub, join(staging, 'keys/lab.key.pub'));

      const paths = ['disks', 'seeds', 'keys', 'base'].flatMap((d) => readdirSync(join(staging, d)).map((f) => `${d}/${f}`));
      const parts = await Promise.all(paths.map(async (p) => ({ path: p, sha256: (await hashFile(join(staging, p), ['sha256'])).sha256!, bytes: statSync(join(staging, p)).size })));
      const manifest: ArchiveManifest = { format: ARCHIVE_FORMAT, lab: ref.name, exported: new Date().toISOString(), snapshot: rec, lab_key: 'keys/lab.key', nodes, parts };
      writeFileAtomic(join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n', 0o600);

      const tmp = `${out}.tmp-${process.pid}`;
      const r = await run(['tar', '-cf', tmp, '-C', staging, 'manifest.json', ...paths], { timeoutMs: 3_600_000 });
      if (r.exitCode !== 0) {
        rmSync(tmp, { force: true });
        throw new LabError(`writing ${out} failed: ${tailLines(r.stderr, 3)}`, 'is there room on that filesystem?');
      }
      chmodSync(tmp, 0o600);
      renameSync(tmp, out);
      reporter.verbose(`exported "${name}" of lab ${ref.name}: ${parts.length} parts into ${out}`);
      return { file: out, bytes: statSync(out).size, parts: parts.length, base_included: opts.withBase, paused_ms: pausedMs, took_ms: Date.now() - t0 };
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  });
}

/** `FILE`, or NAME: a snapshot exported into the store for this lab. */
export function findArchive(root: string, lab: string, fileOrName: string): string {
  const stored = storedArchivePath(root, lab, fileOrName);
  if (isStoreName(fileOrName) && existsSync(stored)) return stored;
  if (!isStoreName(fileOrName) && existsSync(fileOrName)) return resolve(fileOrName);
  const dir = dirname(stored);
  const have = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.tar')).map((f) => f.slice(0, -4)) : [];
  throw new LabError(
    `no snapshot file "${fileOrName}", and lab "${lab}" has no exported snapshot of that name${have.length ? ` (it has: ${have.join(', ')})` : ''}`,
    `export one from the running lab: vmlab snapshot --name <snapshot> --export ${isStoreName(fileOrName) ? fileOrName : 'FILE'} ${lab}`,
    'not_found',
    'snapshot_not_found',
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
  const diffs = snapshotMismatches(rec, plan.nodes.map((n) => ({ plan: n, accel: plan.accel, qemu_version: qemuVersion })));
  const digests = await baseDigests(plan);
  const bases: WarmBases = {};
  for (const n of plan.nodes) {
    const want = archive.manifest.nodes[n.name];
    if (!want) continue; // a node set mismatch is reported by snapshotMismatches
    if (digests.get(n.image.path) === want.base.sha256) bases[n.name] = { path: n.image.path, format: n.image.format };
    else if (want.base.included) bases[n.name] = { path: partFile(archive, want.base.included), format: want.base.format };
    else diffs.push(`${n.name} base image: the snapshot was taken on ${want.base.name} (sha256 ${want.base.sha256.slice(0, 12)}…), the spec gives ${n.image.path} (sha256 ${digests.get(n.image.path)!.slice(0, 12)}…)`);
  }
  if (diffs.length) {
    throw new LabError(
      `snapshot "${rec.name}" (${archive.file}) cannot start lab "${plan.name}": ${diffs.join('; ')}`,
      'deploy it with the spec, images, QEMU and accelerator it was taken with (a snapshot taken under KVM does not load under TCG, nor the other way round); export with --with-base to carry the base images',
      'conflict',
      'snapshot_mismatch',
    );
  }
  return bases;
}

/** What a warm deploy starts from: the checked archive and each node's base. */
export interface WarmStart {
  archive: OpenedArchive;
  bases: WarmBases;
}

/** rename, or copy where the two are on different filesystems. */
function moveFile(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    copyFast(from, to);
    rmSync(from, { force: true });
  }
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
    await qemuImg(['rebase', '-u', '-b', base.path, '-F', base.format, n.files.overlay], `${n.name}'s overlay`);
  }
}
