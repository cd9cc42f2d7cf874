import { copyFileSync, createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import type { Db } from '../store/database.js';
import { ImageStore, type ImageRecord } from '../store/imageStore.js';
import { JobStore } from '../jobs/jobStore.js';
import { runJob, type JobObserver } from '../jobs/runJob.js';
import { findChecksum, parseChecksumArg, type Checksum } from './checksums.js';
import { convertToQcow2 } from './convert.js';
import { detectOs, parseOsArg, type DetectedOs } from './detect.js';
import { downloadFile } from './downloader.js';
import { ImageError } from './imageError.js';
import { assertSafeImageName, inspectImage } from './inspect.js';
import { findCatalogEntry, type CatalogEntry } from './catalog.js';
import { listLabs, readState } from '../lab/labState.js';
import { labDir, labFiles } from '../plan/labFiles.js';
import { isAlive } from '../lab/processes.js';

export const imagesDir = (root: string) => join(root, 'images');

/** The library: store + files under <root>/images + jobs. One per command run. */
export class ImageLibrary {
  readonly images: ImageStore;
  readonly jobs: JobStore;
  constructor(
    readonly db: Db,
    readonly root: string,
    readonly catalog: CatalogEntry[],
  ) {
    this.images = new ImageStore(db);
    this.jobs = new JobStore(db);
    mkdirSync(imagesDir(root), { recursive: true });
  }

  /** An image by name or id, ready to use; otherwise a clear error. */
  resolve(ref: string): ImageRecord {
    const img = this.images.find(ref);
    if (!img) {
      const inCatalog = this.catalog.some((c) => c.id === ref);
      throw new ImageError('not-found', `no image "${ref}" in the library`, inCatalog ? `pull it: vmlab images pull ${ref}` : 'see vmlab images list; import one with vmlab images import <url|file>');
    }
    if (img.status !== 'ready' || !img.path) throw new ImageError('not-found', `image "${ref}" is ${img.status}${img.error ? ` (${img.error})` : ''}`, `retry: vmlab images rm ${img.name} && vmlab images pull|import …`);
    return img;
  }

  private readonly inflight = new Map<string, Promise<ImageRecord>>();

  /**
   * Pull a catalog image: checksum file first, then the image, verified
   * while it downloads. Concurrent pulls of one image share the transfer
   * (in this process through a map, across processes through the store).
   */
  pull(id: string, observer: JobObserver = {}): Promise<ImageRecord> {
    let p = this.inflight.get(id);
    if (!p) {
      p = this.pullOnce(id, observer).finally(() => this.inflight.delete(id));
      this.inflight.set(id, p);
    }
    return p;
  }

  /** Another process is pulling it: wait for its outcome. */
  private async waitForOther(id: string): Promise<ImageRecord> {
    for (;;) {
      const img = this.images.find(id);
      if (!img) throw new ImageError('network', `the other pull of "${id}" gave up`, `run vmlab images pull ${id} again`);
      if (img.status === 'ready') return img;
      if (img.status === 'failed') throw new ImageError('network', `the other pull of "${id}" failed: ${img.error}`, `run vmlab images pull ${id} again`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  private async pullOnce(id: string, observer: JobObserver): Promise<ImageRecord> {
    const entry = findCatalogEntry(this.catalog, id);
    const existing = this.images.find(entry.id);
    if (existing?.status === 'ready') return existing;
    if (existing && existing.status !== 'failed' && this.jobs.list(200).some((j) => j.target === existing.id && j.status === 'running' && j.pid !== null && j.pid !== process.pid && isAlive(j.pid))) {
      return this.waitForOther(entry.id);
    }
    const os: DetectedOs = { family: 'linux', distro: entry.distro as DetectedOs['distro'], version: entry.version, arch: entry.arch, defaultUser: entry.defaultUser, cloudInit: entry.cloudInit };
    return this.fetchInto(existing ?? null, entry.id, entry.url, { checksumUrl: entry.checksum.url, os, sourceType: 'catalog', source: entry.id }, observer);
  }

  /** Import from a URL or a local file. */
  async import(src: string, opts: { name?: string; checksum?: string; os?: string; convert?: boolean } = {}, observer: JobObserver = {}): Promise<ImageRecord> {
    const isUrl = /^https?:\/\//.test(src);
    const fileName = basename(isUrl ? new URL(src).pathname : src);
    const name = opts.name ?? fileName.replace(/\.(qcow2|img|raw|vmdk|vhdx?|vpc)$/i, '');
    assertSafeImageName(name);
    if (this.images.find(name)) throw new ImageError('bad-input', `an image named "${name}" exists already`, `pick another name with --name, or remove it: vmlab images rm ${name}`);
    const os = opts.os ? parseOsArg(opts.os) : detectOs(fileName);
    const expected = opts.checksum ? parseChecksumArg(opts.checksum) : undefined;
    if (isUrl) return this.fetchInto(null, name, src, { expected, os, sourceType: 'url', source: src, convert: opts.convert }, observer);
    const path = resolve(src);
    if (!existsSync(path) || !statSync(path).isFile()) throw new ImageError('not-found', `no such file: ${path}`);
    return this.registerFile(name, path, { expected, os, sourceType: 'file', source: path, copy: true, convert: opts.convert }, observer);
  }

  private async fetchInto(
    existing: ImageRecord | null,
    name: string,
    url: string,
    o: { checksumUrl?: string; expected?: Checksum; os: DetectedOs | null; sourceType: ImageRecord['source_type']; source: string; convert?: boolean },
    observer: JobObserver,
  ): Promise<ImageRecord> {
    assertSafeImageName(name);
    const rec = existing ?? this.images.add({ name, source_type: o.sourceType, source: o.source, ...osFields(o.os) });
    const job = this.jobs.create('download', rec.id, { url });
    const download = join(imagesDir(this.root), `${name}.download`);
    try {
      return await runJob(this.jobs, job, async (ctx) => {
        this.images.update(rec.id, { status: 'downloading', error: null });
        let expected = o.expected;
        if (!expected && o.checksumUrl) {
          ctx.log(`fetching checksums ${o.checksumUrl}`);
          const sums = await downloadFile(o.checksumUrl, `${download}.sums`, { signal: ctx.signal, shareInProcess: false });
          const entry = findChecksum(readFileSync(sums.path, 'utf8'), basename(new URL(url).pathname));
          rmSync(sums.path, { force: true });
          if (!entry) throw new ImageError('checksum-unavailable', `${o.checksumUrl} lists no checksum for ${basename(url)}`, 'check the catalog entry (a mirror may be out of date)');
          expected = { algo: entry.algo, hex: entry.hex };
        }
        ctx.log(`downloading ${url}${expected ? ` (${expected.algo} ${expected.hex.slice(0, 16)}…)` : ' (no checksum given)'}`);
        const got = await downloadFile(url, download, {
          expected,
          signal: ctx.signal,
          log: ctx.log,
          onProgress: (p) => ctx.progress(p.total ? p.bytes / p.total : 0, { ...p }),
        });
        if (got.resumed) ctx.log('resumed an earlier partial download');
        return this.finishFile(rec, got.path, got.sha256, o.os, o.convert ?? true, ctx.log);
      }, observer);
    } catch (err) {
      this.images.update(rec.id, { status: 'failed', error: (err as Error).message });
      if ((err as ImageError).code !== 'cancelled' && (err as ImageError).code !== 'network') this.images.remove(rec.id); // nothing half-registered
      throw err;
    }
  }

  private async registerFile(
    name: string,
    path: string,
    o: { expected?: Checksum; os: DetectedOs | null; sourceType: ImageRecord['source_type']; source: string; copy: boolean; convert?: boolean },
    observer: JobObserver,
  ): Promise<ImageRecord> {
    const rec = this.images.add({ name, source_type: o.sourceType, source: o.source, ...osFields(o.os), status: 'verifying' });
    const job = this.jobs.create('import', rec.id, { path });
    try {
      return await runJob(this.jobs, job, async (ctx) => {
        const digests = await hashFile(path, o.expected ? ['sha256', o.expected.algo] : ['sha256']);
        const sha256 = digests.sha256!;
        if (o.expected) {
          const got = digests[o.expected.algo]!;
          if (got !== o.expected.hex) throw new ImageError('checksum-mismatch', `${path}: ${o.expected.algo} is ${got}, expected ${o.expected.hex}`, 'the file is not the one the checksum names');
        }
        return this.finishFile(rec, path, sha256, o.os, o.convert ?? true, ctx.log, !o.copy);
      }, observer);
    } catch (err) {
      this.images.remove(rec.id);
      throw err;
    }
  }

  /** Inspect (untrusted until then), convert to qcow2 if needed, move into the library, mark ready. */
  private async finishFile(rec: ImageRecord, file: string, sha256: string, os: DetectedOs | null, convert: boolean, log: (l: string) => void, inPlace = false): Promise<ImageRecord> {
    this.images.update(rec.id, { status: 'verifying' });
    const info = await inspectImage(file);
    log(`inspected: ${info.format}, ${info.virtualSize} bytes virtual`);
    let final = inPlace ? file : join(imagesDir(this.root), `${rec.name}.${info.format === 'qcow2' ? 'qcow2' : info.format}`);
    let format: string = info.format;
    let hash = sha256;
    if (info.format !== 'qcow2' && info.format !== 'iso' && convert) {
      this.images.update(rec.id, { status: 'converting' });
      final = join(imagesDir(this.root), `${rec.name}.qcow2`);
      log(`converting ${info.format} → qcow2`);
      await convertToQcow2(file, info.format, final);
      if (file.endsWith('.download')) rmSync(file, { force: true });
      format = 'qcow2';
      hash = (await hashFile(final, ['sha256'])).sha256!;
    } else if (!inPlace) {
      if (file.startsWith(imagesDir(this.root))) renameSync(file, final);
      else copyFileSync(file, final);
    }
    const actual = statSync(final).size;
    return this.images.update(rec.id, { status: 'ready', path: final, format, sha256: hash, virtual_size: info.virtualSize, actual_size: actual, ...osFields(os) });
  }

  /** Register images already on disk (default: the images dir), OS guessed from the file name. */
  async scan(dir = imagesDir(this.root)): Promise<{ added: ImageRecord[]; skipped: Array<{ file: string; why: string }> }> {
    const added: ImageRecord[] = [];
    const skipped: Array<{ file: string; why: string }> = [];
    const known = new Set(this.images.list().map((i) => i.path));
    for (const f of readdirSync(dir).sort()) {
      const path = join(dir, f);
      if (!statSync(path).isFile() || known.has(path) || /\.(part|download|json|lock|sums)$/.test(f)) continue;
      if (!/\.(qcow2|img|raw|vmdk|vhdx?)$/i.test(extname(f) || f)) continue;
      const name = f.replace(/\.(qcow2|img|raw|vmdk|vhdx?)$/i, '');
      try {
        assertSafeImageName(name);
        if (this.images.find(name)) throw new ImageError('bad-input', `name "${name}" is taken`);
        added.push(await this.registerFile(name, path, { os: detectOs(f), sourceType: 'scan', source: path, copy: false, convert: false }, {}));
      } catch (err) {
        skipped.push({ file: f, why: (err as Error).message });
      }
    }
    return { added, skipped };
  }

  /** Re-hash against the recorded sha256. */
  async verify(ref: string): Promise<{ ok: boolean; expected: string; actual: string }> {
    const img = this.resolve(ref);
    const actual = (await hashFile(img.path!, ['sha256'])).sha256!;
    return { ok: actual === img.sha256, expected: img.sha256 ?? '', actual };
  }

  /** Labs whose nodes run on this image. */
  usersOf(img: ImageRecord): string[] {
    return listLabs(this.root).filter((lab) => {
      try {
        return readState(labFiles(labDir(this.root, lab)).state).plan.nodes.some((n) => n.image.path === img.path);
      } catch {
        return false;
      }
    });
  }

  remove(ref: string, force: boolean): ImageRecord {
    const img = this.images.find(ref);
    if (!img) throw new ImageError('not-found', `no image "${ref}" in the library`, 'see vmlab images list');
    const users = this.usersOf(img);
    if (users.length && !force) throw new ImageError('bad-input', `image "${img.name}" is used by lab(s) ${users.join(', ')}`, `destroy them first, or remove anyway with --force`);
    if (img.path && img.path.startsWith(imagesDir(this.root)) && img.source_type !== 'scan') rmSync(img.path, { force: true });
    this.images.remove(img.id);
    return img;
  }
}

function osFields(os: DetectedOs | null): Partial<ImageRecord> {
  if (!os) return {};
  return { os_family: os.family, os_distro: os.distro, os_version: os.version, os_arch: os.arch, default_user: os.defaultUser, cloud_init: os.cloudInit ? 1 : 0 };
}

/** Hex digests of a file for each algorithm asked, in one read. */
export async function hashFile(path: string, algos: Array<'sha256' | 'sha512'>): Promise<Partial<Record<'sha256' | 'sha512', string>>> {
  const hashes = [...new Set(algos)].map((a) => [a, createHash(a)] as const);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) for (const [, h] of hashes) h.update(chunk as Buffer);
  return Object.fromEntries(hashes.map(([a, h]) => [a, h.digest('hex')]));
}
