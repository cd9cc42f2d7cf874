import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Db } from '../store/database.js';
import { ImageStore, type ImageRecord, type ImageStatus, type NewImage } from '../store/imageStore.js';
import { JobStore, type JobRecord } from '../jobs/jobStore.js';
import { reapInterrupted } from '../jobs/reap.js';
import { runJob, type JobContext, type JobObserver } from '../jobs/runJob.js';
import { findChecksum, parseChecksumArg, type Checksum } from './checksums.js';
import { convertToQcow2 } from './convert.js';
import { detectOs, parseOsArg, type DetectedOs } from './detect.js';
import { downloadFile, type DownloadOptions } from './download/index.js';
import { ImageError } from './imageError.js';
import {
  checkpointKeyPath,
  checkpointPartPid,
  copyPartPath,
  downloadPath,
  imageFilePath,
  importPartPath,
  isScannableImageFile,
  tempFilesOf,
  withoutImageExtension,
} from './imageFiles.js';
import { assertSafeImageName, detectFormatByMagic, inspectImage, type Provenance } from './inspect.js';
import { findCatalogEntry, type CatalogEntry } from './catalog.js';
import { isAlive } from '../host/processes.js';
import { hashFileThreaded, type DigestAlgo, type Digests } from '../host/threadedDigest.js';
import { copyHashed } from '../host/copyIn.js';
import { removeLeftByDead } from '../host/leftovers.js';
import { VmlabError } from '../errors/vmlabError.js';

export const imagesDir = (root: string) => join(root, 'images');

export interface ScanResult {
  added: ImageRecord[];
  skipped: Array<{ file: string; why: string }>;
}

/** Image files and the images directory are private by default. */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** Codes that are a verdict on the source (nothing to resume): the record and every file go. */
const VERDICTS = new Set([
  'not_found',
  'not_an_image',
  'checksum_mismatch',
  'checksum_unavailable',
  'unsafe',
  'unsupported_format',
  'qemu_img',
  'bad_input',
]);

/** Formats an import keeps as they are (no conversion): these are copied and hashed in one pass. */
const KEPT_AS_IS = new Set(['qcow2', 'iso']);

/** How the library's downloads behave: proxies (env), attempts, backoff. */
export type LibraryDownloadOptions = Pick<
  DownloadOptions,
  'env' | 'attempts' | 'retryDelayMs' | 'idleTimeoutMs' | 'connections'
>;

export const MAX_CONNECTIONS = 16;

/** Parallel connections for one download, as given (`--connections`, an env var): a whole number from 1 to 16. */
export function checkConnections(v: unknown, what = '--connections'): number {
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_CONNECTIONS) {
    throw new ImageError(
      'bad_input',
      `${what}: expected a whole number from 1 to ${MAX_CONNECTIONS}, got ${JSON.stringify(v)}`,
      { hint: `e.g. ${what === '--connections' ? '--connections 4' : `${what}=4`}; 1 downloads in one stream` },
    );
  }
  return n;
}

/** What a reader of the library's records may call. */
export type ImageReader = Pick<ImageStore, 'find' | 'get' | 'list'>;

/** Fields a caller may correct on a record: names, OS facts, a detected device. */
export type ImageFacts = Partial<Omit<ImageRecord, 'id' | 'created_at' | 'status' | 'path' | 'sha256' | 'kind'>>;

/** What the service that opens a library hands in: who uses an image (the labs know), and its job slots. */
export interface LibraryWiring {
  imageUsers?: (path: string) => string[];
  gate?: () => Promise<() => void>;
}

/** The library: store + files under <root>/images + jobs. One per command run; the only writer of image records. */
export class ImageLibrary {
  /** The records, to read: every write goes through a method of the library. */
  readonly images: ImageReader;
  private readonly store: ImageStore;
  readonly jobs: JobStore;
  /** Applied to every download (openLibrary fills it from the environment). */
  downloadOptions: LibraryDownloadOptions = {};
  constructor(
    readonly db: Db,
    readonly root: string,
    readonly catalog: CatalogEntry[],
    wiring: LibraryWiring = {},
  ) {
    if (wiring.imageUsers) this.imageUsers = wiring.imageUsers;
    this.gate = wiring.gate;
    this.store = new ImageStore(db);
    this.images = this.store;
    this.jobs = new JobStore(db);
    const dir = imagesDir(root);
    mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    if ((statSync(dir).mode & 0o777) !== DIR_MODE) chmodSync(dir, DIR_MODE);
    // A killed vmlab leaves nothing stuck in "running" or "converting", nor a half-copied checkpoint.
    reapInterrupted(db, isAlive);
    removeLeftByDead(dir, checkpointPartPid);
  }

  /** An image by name or id, ready to use; otherwise a clear error. */
  resolve(ref: string): ImageRecord {
    const img = this.images.find(ref);
    if (!img) {
      const inCatalog = this.catalog.some((c) => c.id === ref);
      throw new ImageError('not_found', `no image "${ref}" in the library`, {
        hint: inCatalog
          ? `pull it: vmlab images pull ${ref}`
          : 'see vmlab images list; import one with vmlab images import <url|file>',
      });
    }
    if (img.status !== 'ready' || !img.path) {
      const hint =
        img.status === 'failed'
          ? `run the same vmlab images ${img.source_type === 'catalog' ? 'pull' : 'import'} again to resume it, ` +
            `or remove it: vmlab images rm ${img.name}`
          : 'it is still being fetched: see vmlab jobs list';
      throw new ImageError('not_found', `image "${ref}" is ${img.status}${img.error ? ` (${img.error})` : ''}`, {
        hint,
      });
    }
    return img;
  }

  private readonly inflight = new Map<string, Promise<ImageRecord>>();

  /**
   * Pull a catalog image: checksum file first, then the image, verified
   * while it downloads. Concurrent pulls of one image share the transfer
   * (in this process through a map, across processes through the store).
   */
  pull(id: string, observer: JobObserver = {}, opts: { connections?: number } = {}): Promise<ImageRecord> {
    if (opts.connections !== undefined) checkConnections(opts.connections);
    let p = this.inflight.get(id);
    if (!p) {
      p = this.pullOnce(id, observer, opts.connections).finally(() => this.inflight.delete(id));
      this.inflight.set(id, p);
    }
    return p;
  }

  /** Another process is pulling it: wait for its outcome (or for it to die). */
  private async waitForOther(id: string): Promise<ImageRecord> {
    for (;;) {
      reapInterrupted(this.db, isAlive);
      const img = this.images.find(id);
      if (!img)
        throw new ImageError('network', `the other pull of "${id}" gave up`, {
          hint: `run vmlab images pull ${id} again`,
        });
      if (img.status === 'ready') return img;
      if (img.status === 'failed')
        throw new ImageError('network', `the other pull of "${id}" failed: ${img.error}`, {
          hint: `run vmlab images pull ${id} again`,
        });
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  private async pullOnce(id: string, observer: JobObserver, connections: number | undefined): Promise<ImageRecord> {
    const entry = findCatalogEntry(this.catalog, id);
    const existing = this.images.find(entry.id);
    if (existing?.status === 'ready') return existing;
    if (existing && this.jobs.activeFor(existing.id, isAlive)) return this.waitForOther(entry.id);
    const os: DetectedOs = {
      family: 'linux',
      distro: entry.distro as DetectedOs['distro'],
      version: entry.version,
      arch: entry.arch,
      defaultUser: entry.defaultUser,
      cloudInit: entry.cloudInit,
    };
    try {
      return await this.fetchInto(
        entry.id,
        entry.url,
        { checksumUrl: entry.checksum.url, os, sourceType: 'catalog', source: entry.id, connections },
        observer,
      );
    } catch (err) {
      // Another process took it between our look and our claim: wait for it.
      if (err instanceof ImageError && err.code === 'busy') return this.waitForOther(entry.id);
      throw err;
    }
  }

  /**
   * Import from a URL or a local file. A failed or interrupted import of the
   * same name is taken over and resumed (its part file is kept), never in the way.
   */
  async import(
    src: string,
    opts: { name?: string; checksum?: string; os?: string; convert?: boolean; connections?: number } = {},
    observer: JobObserver = {},
  ): Promise<ImageRecord> {
    if (opts.connections !== undefined) checkConnections(opts.connections);
    const isUrl = /^https?:\/\//.test(src);
    const fileName = basename(isUrl ? new URL(src).pathname : src);
    const name = opts.name ?? withoutImageExtension(fileName);
    assertSafeImageName(name);
    const os = opts.os ? parseOsArg(opts.os) : detectOs(fileName);
    const expected = opts.checksum ? parseChecksumArg(opts.checksum) : undefined;
    if (isUrl)
      return this.fetchInto(
        name,
        src,
        { expected, os, sourceType: 'url', source: src, convert: opts.convert, connections: opts.connections },
        observer,
      );
    const path = resolve(src);
    if (!existsSync(path))
      throw new ImageError('not_found', `no such file: ${path}`, {
        hint: 'check the path; a URL must start with http:// or https://',
      });
    // A directory, an empty file, or bytes that are no disk image: refused before anything is recorded.
    await detectFormatByMagic(path);
    return this.registerFile(
      name,
      path,
      { expected, os, sourceType: 'file', source: path, copy: true, convert: opts.convert },
      observer,
    );
  }

  /**
   * Register a file streamed into uploadDir() (same filesystem): moved into
   * the library, not copied; a refused file is deleted, nothing is left.
   */
  async importUpload(
    path: string,
    opts: { name?: string; checksum?: string; os?: string } = {},
    observer: JobObserver = {},
    known: { sha256?: string } = {},
  ): Promise<ImageRecord> {
    try {
      const name = opts.name ?? 'upload';
      assertSafeImageName(name);
      const os = opts.os ? parseOsArg(opts.os) : detectOs(name);
      const expected = opts.checksum ? parseChecksumArg(opts.checksum) : undefined;
      const label = opts.name ? `upload "${opts.name}"` : 'the upload';
      await detectFormatByMagic(path, { name, label });
      return await this.registerFile(
        name,
        path,
        {
          expected,
          os,
          sourceType: 'file',
          source: 'upload',
          copy: true,
          label,
          ...(known.sha256 ? { sha256: known.sha256 } : {}),
        },
        observer,
      );
    } finally {
      rmSync(path, { force: true }); // moved in on success (then gone already), deleted on refusal
    }
  }

  /**
   * A new file name for this process's next upload. Its name starts with
   * our pid, so an upload a killed server left half-written is recognised
   * and removed here, the next time anyone uploads.
   */
  newUploadPath(): string {
    const dir = this.uploadDir();
    removeLeftByDead(dir, (f) => Number(/^(\d+)-/.exec(f)?.[1]) || undefined);
    return join(dir, `${process.pid}-${randomUUID()}.upload`);
  }

  /** Where uploads are streamed: inside the images dir, so registering one is a rename. */
  uploadDir(): string {
    const dir = join(imagesDir(this.root), '.uploads');
    mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    return dir;
  }

  /**
   * Claim `name` for a new pull/import and start its job, in one transaction:
   * a busy image always has a running job with a pid, which is what lets a
   * later command tell an interrupted one from one under way.
   */
  private begin(
    name: string,
    fields: Pick<ImageRecord, 'source_type' | 'source'> & Partial<ImageRecord>,
    status: ImageStatus,
    kind: string,
    params: Record<string, unknown>,
  ): { rec: ImageRecord; job: JobRecord } {
    return this.db
      .transaction(() => {
        const existing = this.images.find(name);
        if (existing?.status === 'ready') {
          throw new ImageError('exists', `an image named "${name}" exists already`, {
            hint: `pick another name with --name, or remove it: vmlab images rm ${name}`,
          });
        }
        const owner = existing && this.jobs.activeFor(existing.id, isAlive);
        if (owner) {
          throw new ImageError(
            'busy',
            `image "${name}" is being ${existing.status} by vmlab (pid ${owner.pid}, job ${owner.id})`,
            { hint: `wait for it (vmlab jobs show ${owner.id}), or stop it: vmlab jobs cancel ${owner.id}` },
          );
        }
        // Failed or interrupted: this command takes the record over (and the part file with it).
        const rec = existing
          ? this.store.update(existing.id, { ...fields, status, error: null })
          : this.store.add({ name, ...fields, status });
        const job = this.jobs.create(kind, rec.id, params, process.pid);
        if (!this.gate) this.jobs.start(job.id);
        return { rec, job };
      })
      .immediate();
  }

  /**
   * Run a pull's or import's job; with a gate (a server's concurrency
   * limit) the job is announced while queued and waits for its slot.
   */
  private async runGated<T>(job: JobRecord, work: (ctx: JobContext) => Promise<T>, observer: JobObserver): Promise<T> {
    if (!this.gate) return runJob(this.jobs, job, work, observer);
    observer.started?.(job);
    const release = await this.gate();
    try {
      if (this.jobs.get(job.id)?.status !== 'queued')
        throw new VmlabError('cancelled', `job ${job.id} was cancelled before it started`, { kind: 'failure' });
      return await runJob(this.jobs, job, work, { ...observer, started: undefined });
    } finally {
      release();
    }
  }

  private async fetchInto(
    name: string,
    url: string,
    o: {
      checksumUrl?: string;
      expected?: Checksum;
      os: DetectedOs | null;
      sourceType: ImageRecord['source_type'];
      source: string;
      convert?: boolean;
      connections?: number | undefined;
    },
    observer: JobObserver,
  ): Promise<ImageRecord> {
    assertSafeImageName(name);
    const { rec, job } = this.begin(
      name,
      { source_type: o.sourceType, source: o.source, ...osFields(o.os) },
      'downloading',
      'download',
      { url },
    );
    const download = downloadPath(imagesDir(this.root), name);
    try {
      return await this.runGated(
        job,
        async (ctx) => {
          let expected = o.expected;
          if (!expected && o.checksumUrl) {
            ctx.log(`fetching checksums ${o.checksumUrl}`);
            const sums = await downloadFile(o.checksumUrl, `${download}.sums`, {
              ...this.downloadOptions,
              signal: ctx.signal,
              shareInProcess: false,
              log: ctx.log,
            });
            const entry = findChecksum(readFileSync(sums.path, 'utf8'), basename(new URL(url).pathname));
            rmSync(sums.path, { force: true });
            if (!entry)
              throw new ImageError('checksum_unavailable', `${o.checksumUrl} lists no checksum for ${basename(url)}`, {
                hint: 'check the catalog entry (a mirror may be out of date)',
              });
            expected = { algo: entry.algo, hex: entry.hex };
          }
          ctx.log(
            `downloading ${url}` +
              `${expected ? ` (${expected.algo} ${expected.hex.slice(0, 16)}…)` : ' (no checksum given)'}`,
          );
          const got = await downloadFile(url, download, {
            ...this.downloadOptions,
            ...(o.connections !== undefined ? { connections: o.connections } : {}),
            expected,
            signal: ctx.signal,
            log: ctx.log,
            onProgress: (p) => ctx.progress(p.total ? p.bytes / p.total : 0, { ...p }),
          });
          if (got.resumed) ctx.log('resumed an earlier partial download');
          return this.finishFile(rec, got.path, got.sha256, o.os, o.convert ?? true, ctx, {
            from: { name: basename(new URL(url).pathname), label: url },
          });
        },
        observer,
      );
    } catch (err) {
      if (err instanceof ImageError && VERDICTS.has(err.code)) {
        // Nothing half-registered, nothing left behind.
        this.store.remove(rec.id);
        for (const f of tempFilesOf(imagesDir(this.root), name)) rmSync(f, { force: true });
      } else {
        // Cancelled, the network, the disk: keep the record and the part file; the same command resumes.
        this.store.update(rec.id, { status: 'failed', error: (err as Error).message });
      }
      throw err;
    }
  }

  private async registerFile(
    name: string,
    path: string,
    o: {
      expected?: Checksum;
      os: DetectedOs | null;
      sourceType: ImageRecord['source_type'];
      source: string;
      copy: boolean;
      convert?: boolean;
      /** How messages name the file (default: its path). */
      label?: string;
      /** Already computed while the file arrived (an upload): not hashed again. */
      sha256?: string;
    },
    observer: JobObserver,
  ): Promise<ImageRecord> {
    const { rec, job } = this.begin(
      name,
      { source_type: o.sourceType, source: o.source, ...osFields(o.os) },
      'verifying',
      'import',
      { path },
    );
    try {
      return await this.runGated(
        job,
        async (ctx) => {
          const known = o.sha256 && (!o.expected || o.expected.algo === 'sha256');
          const algos: DigestAlgo[] = o.expected ? ['sha256', o.expected.algo] : ['sha256'];
          const check = (digests: Digests) => {
            if (!o.expected) return;
            const got = digests[o.expected.algo]!;
            if (got !== o.expected.hex)
              throw new ImageError(
                'checksum_mismatch',
                `${o.label ?? path}: ${o.expected.algo} is ${got}, expected ${o.expected.hex}`,
                { hint: 'the file is not the one the checksum names' },
              );
          };
          if (!known && o.copy && (o.convert === false || KEPT_AS_IS.has(await detectFormatByMagic(path)))) {
            // One pass: copy into the library and hash the copy together (a reflink and one read where the file
            // system can).
            const staged = importPartPath(imagesDir(this.root), name);
            rmSync(staged, { force: true });
            const copied = await copyHashed(path, staged, algos, {
              mode: FILE_MODE,
              signal: ctx.signal,
              onProgress: (bytes, total) => ctx.progress(total ? bytes / total : 0, { bytes, total }),
            });
            ctx.log(`copied ${path} into the library (${copied.method}) and hashed it in one pass`);
            check(copied.digests);
            return this.finishFile(rec, staged, copied.digests.sha256!, o.os, o.convert ?? true, ctx, {
              from: { name: basename(path), label: o.label ?? path },
            });
          }
          // In place (a scan), already hashed (an upload), or to be converted (qemu-img reads the source).
          const digests = known ? { sha256: o.sha256 } : await hashFileThreaded(path, algos);
          check(digests);
          return this.finishFile(rec, path, digests.sha256!, o.os, o.convert ?? true, ctx, { inPlace: !o.copy });
        },
        observer,
      );
    } catch (err) {
      // A local file is cheap to read again: the next run starts clean.
      this.store.remove(rec.id);
      if (o.copy) for (const f of tempFilesOf(imagesDir(this.root), name)) rmSync(f, { force: true });
      throw err;
    }
  }

  /** Inspect (untrusted until then), convert to qcow2 if needed, move into the library (0600), mark ready. */
  private async finishFile(
    rec: ImageRecord,
    file: string,
    sha256: string,
    os: DetectedOs | null,
    convert: boolean,
    ctx: Pick<JobContext, 'log' | 'signal'>,
    opts: { inPlace?: boolean; from?: Provenance } = {},
  ): Promise<ImageRecord> {
    const inPlace = opts.inPlace ?? false;
    const dir = imagesDir(this.root);
    this.store.update(rec.id, { status: 'verifying' });
    const info = await inspectImage(file, opts.from);
    ctx.log(`inspected: ${info.format}, ${info.virtualSize} bytes virtual`);
    let final = inPlace ? file : imageFilePath(dir, rec.name, info.format);
    let format: string = info.format;
    let hash = sha256;
    if (info.format !== 'qcow2' && info.format !== 'iso' && convert) {
      this.store.update(rec.id, { status: 'converting' });
      final = imageFilePath(dir, rec.name, 'qcow2');
      ctx.log(`converting ${info.format} → qcow2`);
      await convertToQcow2(file, info.format, final, { signal: ctx.signal });
      if (!inPlace && file.startsWith(dir + '/') && !file.startsWith(join(dir, '.uploads') + '/'))
        rmSync(file, { force: true }); // a download or a staged copy
      format = 'qcow2';
      hash = (await hashFileThreaded(final, ['sha256'])).sha256!;
    } else if (!inPlace) {
      if (file.startsWith(dir + '/')) {
        renameSync(file, final);
      } else {
        // Copy under a temporary name: a killed copy never looks like an image.
        const part = copyPartPath(final);
        copyFileSync(file, part);
        chmodSync(part, FILE_MODE);
        renameSync(part, final);
      }
    }
    if (final.startsWith(dir + '/')) chmodSync(final, FILE_MODE);
    const actual = statSync(final).size;
    return this.store.update(rec.id, {
      status: 'ready',
      path: final,
      format,
      sha256: hash,
      virtual_size: info.virtualSize,
      actual_size: actual,
      error: null,
      ...osFields(os),
    });
  }

  /** Correct what the library records about an image (a rename, OS fields, default user, device facts). */
  setFacts(id: string, fields: ImageFacts): ImageRecord {
    return this.store.update(id, fields);
  }

  /** Record a finished checkpoint image (its file is in place, renamed from its part file). */
  addCheckpoint(img: NewImage & { source_type: 'checkpoint'; status: 'ready' }): ImageRecord {
    return this.store.add(img);
  }

  /** Record (or refresh) the Docker image a vrnetlab build made: the default for its device. */
  recordDockerImage(img: Parameters<ImageStore['upsertDocker']>[0]): ImageRecord {
    return this.store.upsertDocker(img);
  }

  /** Register images already on disk (default: the images dir), OS guessed from the file name. */
  async scan(dir = imagesDir(this.root)): Promise<ScanResult> {
    const added: ImageRecord[] = [];
    const skipped: Array<{ file: string; why: string }> = [];
    const known = new Set(this.images.list().map((i) => i.path));
    for (const f of readdirSync(dir).sort()) {
      const path = join(dir, f);
      if (!statSync(path).isFile() || known.has(path) || !isScannableImageFile(f)) continue;
      const name = withoutImageExtension(f);
      try {
        assertSafeImageName(name);
        if (this.images.find(name)) throw new ImageError('exists', `name "${name}" is taken`);
        added.push(
          await this.registerFile(
            name,
            path,
            { os: detectOs(f), sourceType: 'scan', source: path, copy: false, convert: false },
            {},
          ),
        );
      } catch (err) {
        skipped.push({ file: f, why: (err as Error).message });
      }
    }
    return { added, skipped };
  }

  /** Re-hash against the recorded sha256. */
  async verify(ref: string): Promise<{ ok: boolean; expected: string; actual: string }> {
    const img = this.resolve(ref);
    const actual = (await hashFileThreaded(img.path!, ['sha256'])).sha256!;
    return { ok: actual === img.sha256, expected: img.sha256 ?? '', actual };
  }

  /**
   * Who uses an image file (lab names): a question only the labs can
   * answer, so the service that opens the library hands the answer in.
   */
  private readonly imageUsers: (path: string) => string[] = () => [];
  /** A server's job slots: pulls and imports queue for one (none: they run at once, as in the CLI). */
  private readonly gate: (() => Promise<() => void>) | undefined;

  /** Labs whose nodes run on this image. */
  usersOf(img: ImageRecord): string[] {
    return img.path ? this.imageUsers(img.path) : [];
  }

  /** Remove an image: its record, its file in the library, and any part or temporary files a pull/import left. */
  remove(ref: string, force: boolean): ImageRecord {
    const img = this.images.find(ref);
    if (!img) throw new ImageError('not_found', `no image "${ref}" in the library`, { hint: 'see vmlab images list' });
    const owner = this.jobs.activeFor(img.id, isAlive);
    if (owner)
      throw new ImageError(
        'busy',
        `image "${img.name}" is being ${img.status} by vmlab (pid ${owner.pid}, job ${owner.id})`,
        { hint: `stop it first: vmlab jobs cancel ${owner.id}` },
      );
    const users = this.usersOf(img);
    if (users.length && !force)
      throw new ImageError('in_use', `image "${img.name}" is used by lab(s) ${users.join(', ')}`, {
        hint: `destroy them first, or remove anyway with --force`,
      });
    // Checkpoints' disks sit on their base image: --force would break them, so it does not apply.
    const over =
      img.sha256 && !img.checkpoint
        ? this.images
            .list()
            .filter(
              (i) =>
                i.checkpoint &&
                (JSON.parse(i.checkpoint) as { base?: { sha256?: string } }).base?.sha256 === img.sha256,
            )
        : [];
    if (over.length)
      throw new ImageError(
        'in_use',
        `image "${img.name}" holds the disks of checkpoint(s) ${over.map((i) => i.name).join(', ')}`,
        { hint: `remove those first: vmlab images rm ${over[0]!.name}` },
      );
    const dir = imagesDir(this.root);
    if (img.path?.startsWith(dir + '/') && img.source_type !== 'scan') rmSync(img.path, { force: true });
    if (img.checkpoint && img.path)
      for (const k of [checkpointKeyPath(img.path), `${checkpointKeyPath(img.path)}.pub`]) rmSync(k, { force: true });
    for (const f of tempFilesOf(dir, img.name)) rmSync(f, { force: true });
    this.store.remove(img.id);
    return img;
  }
}

function osFields(os: DetectedOs | null): Partial<ImageRecord> {
  if (!os) return {};
  return {
    os_family: os.family,
    os_distro: os.distro,
    os_version: os.version,
    os_arch: os.arch,
    default_user: os.defaultUser,
    cloud_init: os.cloudInit ? 1 : 0,
  };
}
