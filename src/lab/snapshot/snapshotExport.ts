import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { NodePlan } from '../../plan/labPlan.js';
import { hashFile } from '../../host/fileDigest.js';
import { pidAfter, removeLeftByDead } from '../../host/leftovers.js';
import { writeFileAtomic } from '../../host/atomicWrite.js';
import type { Reporter } from '../../host/reporter.js';
import { keepOnlySnapshot, rebaseUnsafe } from '../../qemu/qemuImg.js';
import { run, tailLines } from '../../host/subprocess.js';
import { LabError } from '../labError.js';
import type { LabRef } from '../state/labSelect.js';
import type { LabState } from '../state/labState.js';
import { withLab } from '../state/withLab.js';
import type { SnapshotRecord } from '../state/snapshotFacts.js';
import { nodeIsUp } from '../node/nodeControl.js';
import { ARCHIVE_FORMAT, type ArchiveManifest, type ArchiveNode } from './archiveParts.js';
import { copyFast } from './fileCopy.js';
import { resumeAbandoned, withPaused } from './pause.js';
import { isStoreName } from '../../spec/names.js';
import { baseDigests, storedArchivePath } from './snapshotArchive.js';
import { checkSnapshotName, findSnapshot } from './snapshotRecord.js';

/*
 * `vmlab snapshot --export`: a full snapshot as one portable file (see
 * snapshotArchive.ts for what it holds). Parts are staged beside the
 * target, hashed into the manifest, then tarred into place atomically.
 */

export interface ExportResult {
  file: string;
  bytes: number;
  parts: number;
  base_included: boolean;
  paused_ms: number;
  took_ms: number;
}

const PART_DIRS = ['disks', 'seeds', 'keys', 'base'];

/** The state root of a lab's dir (<root>/labs/<lab>). */
const rootOf = (labDirPath: string) => dirname(dirname(labDirPath));

/**
 * Write snapshot `name` of a lab into one file. Running nodes are paused
 * while their overlays are copied (QEMU flushes its disks on pause, and
 * a reflink makes the copy O(1) where the filesystem can), then resumed.
 */
export async function exportSnapshot(
  ref: LabRef,
  name: string,
  file: string,
  opts: { withBase: boolean },
  reporter: Reporter,
): Promise<ExportResult> {
  checkSnapshotName(name);
  const t0 = Date.now();
  const out = resolve(isStoreName(file) ? storedArchivePath(rootOf(ref.dir), ref.name, file) : file);
  if (existsSync(out) && statSync(out).isDirectory()) {
    const hint = 'give the file to write, e.g. --export lab.tar';
    throw new LabError('invalid_path', `${out} is a directory`, { hint });
  }
  mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
  // Beside the target, named with our pid: what a killed export left there goes first.
  for (const kind of ['parts', 'tmp']) removeLeftByDead(dirname(out), pidAfter(`${basename(out)}.${kind}-`));
  const staging = `${out}.parts-${process.pid}`;
  return withLab(ref, {}, async (state) => {
    await resumeAbandoned(state, reporter);
    const rec = findSnapshot(state, name);
    if (rec.kind !== 'full') {
      throw new LabError(
        'snapshot_disk_only',
        `"${name}" is a disk-only snapshot: an export is for starting warm, which needs the RAM state`,
        { hint: `take a full snapshot of the running lab: vmlab snapshot --name <name> ${ref.name}` },
      );
    }
    rmSync(staging, { recursive: true, force: true });
    try {
      for (const d of PART_DIRS) mkdirSync(join(staging, d), { recursive: true, mode: 0o700 });
      const digests = await baseDigests(state.plan);
      const pausedMs = await copyOverlays(state, staging, reporter);
      const nodes: Record<string, ArchiveNode> = {};
      for (const n of state.plan.nodes) {
        nodes[n.name] = await stageNode(n, staging, name, digests.get(n.image.path)!, opts.withBase);
      }
      copyFileSync(state.plan.files.labKey, join(staging, 'keys/lab.key'));
      copyFileSync(state.plan.files.labKeyPub, join(staging, 'keys/lab.key.pub'));
      const parts = await writeArchive(staging, out, { ref, rec, nodes });
      reporter.verbose(`exported "${name}" of lab ${ref.name}: ${parts} parts into ${out}`);
      const [bytes, tookMs] = [statSync(out).size, Date.now() - t0];
      return { file: out, bytes, parts, base_included: opts.withBase, paused_ms: pausedMs, took_ms: tookMs };
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  });
}

/** Every overlay copied into the staging dir while the running VMs are paused; how long they were. */
async function copyOverlays(state: LabState, staging: string, reporter: Reporter): Promise<number> {
  const up = state.plan.nodes.filter((n) => nodeIsUp(state, n.name));
  const pausedAt = Date.now();
  const onFail = { hint: 'nothing was exported; try again', code: 'export_failed' as const };
  await withPaused(state, up, reporter, onFail, async () => {
    for (const n of state.plan.nodes) copyFast(n.files.overlay, join(staging, 'disks', `${n.name}.qcow2`));
  });
  return up.length ? Date.now() - pausedAt : 0;
}

/** One node's parts staged: its overlay trimmed to the snapshot, host key, seed and (--with-base) base. */
async function stageNode(
  n: NodePlan,
  staging: string,
  name: string,
  sha: string,
  withBase: boolean,
): Promise<ArchiveNode> {
  const baseName = `${sha}.${n.image.format}`;
  const overlay = `disks/${n.name}.qcow2`;
  // Only this snapshot travels; the copy names its base by digest (the importing host points it at its own copy).
  await keepOnlySnapshot(join(staging, overlay), name);
  await rebaseUnsafe(join(staging, overlay), baseName, n.image.format, `${n.name}'s overlay`);
  const hostKey = `keys/${basename(n.files.hostKey)}`;
  copyFileSync(n.files.hostKey, join(staging, hostKey));
  copyFileSync(`${n.files.hostKey}.pub`, join(staging, `${hostKey}.pub`));
  let seed: string | undefined;
  if (n.seed) {
    seed = `seeds/${n.name}.iso`;
    copyFileSync(n.seed.path, join(staging, seed));
  }
  let included: string | undefined;
  if (withBase) {
    included = `base/${baseName}`;
    if (!existsSync(join(staging, included))) copyFast(n.image.path, join(staging, included));
  }
  const bytes = statSync(n.image.path).size;
  const base = { name: basename(n.image.path), format: n.image.format, sha256: sha, bytes };
  return { overlay, host_key: hostKey, ...(seed ? { seed } : {}), base: included ? { ...base, included } : base };
}

/** The manifest (every staged part hashed) and the tar, renamed into `out` once whole; the number of parts. */
async function writeArchive(
  staging: string,
  out: string,
  what: { ref: LabRef; rec: SnapshotRecord; nodes: Record<string, ArchiveNode> },
): Promise<number> {
  const paths = PART_DIRS.flatMap((d) => readdirSync(join(staging, d)).map((f) => `${d}/${f}`));
  const parts = await Promise.all(
    paths.map(async (p) => {
      const full = join(staging, p);
      return { path: p, sha256: (await hashFile(full, ['sha256'])).sha256!, bytes: statSync(full).size };
    }),
  );
  const manifest: ArchiveManifest = {
    format: ARCHIVE_FORMAT,
    lab: what.ref.name,
    exported: new Date().toISOString(),
    snapshot: what.rec,
    lab_key: 'keys/lab.key',
    nodes: what.nodes,
    parts,
  };
  writeFileAtomic(join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n', 0o600);
  const tmp = `${out}.tmp-${process.pid}`;
  const r = await run(['tar', '-cf', tmp, '-C', staging, 'manifest.json', ...paths], { timeoutMs: 3_600_000 });
  if (r.exitCode !== 0) {
    rmSync(tmp, { force: true });
    const why = `writing ${out} failed: ${tailLines(r.stderr, 3)}`;
    throw new LabError('export_write_failed', why, { hint: 'is there room on that filesystem?' });
  }
  chmodSync(tmp, 0o600);
  renameSync(tmp, out);
  return parts.length;
}
