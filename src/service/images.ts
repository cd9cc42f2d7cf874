import { isValidUser, USER_RULE } from '../spec/names.js';
import { VmlabError } from '../errors/vmlabError.js';
import type { Reporter } from '../host/reporter.js';
import type { CatalogEntry } from '../images/catalog.js';
import { ImageError } from '../images/imageError.js';
import type { ImageLibrary, ScanResult } from '../images/library.js';
import { buildTinyGuest, defaultTinyImagePath } from '../images/tinyGuest.js';
import type { JobObserver } from '../jobs/runJob.js';
import type { JobHandler } from '../jobs/queue.js';
import type { JobRecord } from '../jobs/jobStore.js';
import { assertSafeImageName } from '../images/inspect.js';
import type { StoreHandle } from '../store/database.js';
import type { Settings } from '../host/settings.js';
import type { ImageRecord } from '../store/imageStore.js';
import { detectDevice } from '../builds/vrnetlab/detect.js';
import type { BuildService } from './builds.js';
import { createWriteStream, rmSync } from 'node:fs';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ThreadedDigest } from '../host/threadedDigest.js';
import { withoutImageExtension } from '../images/imageFiles.js';
import type { LabRef } from '../lab/state/labSelect.js';
import { checkpointNode } from './checkpoints.js';
import type { OpContext } from './labs.js';

export interface ImportOptions {
  name?: string;
  checksum?: string;
  os?: string;
  convert?: boolean;
  /** false: do not queue a vrnetlab build for a detected device (`--no-build`). */
  build?: boolean;
  /** Parallel segments for a URL (`--connections`; default 4, or VMLAB_DOWNLOAD_CONNECTIONS). */
  connections?: number;
}

/** An imported image, with the vrnetlab build it queued (or why none). */
export type ImportedImage = ImageRecord & { build_job?: string; build_skipped?: string };

export interface ImagePatch {
  name?: string;
  os_distro?: string | null;
  os_version?: string | null;
  os_arch?: string | null;
  default_user?: string | null;
  cloud_init?: boolean;
}

/** The library name an uploaded file gets by default: its file name without the image extension. */
export function uploadName(fileName: string | undefined): string | undefined {
  const name = withoutImageExtension(fileName ?? '');
  return /^[A-Za-z0-9][\w.-]*$/.test(name) ? name : undefined;
}

/** What the image service is built with: the store, the process's one library (see createServices), the builds. */
export interface ImageServiceDeps {
  store: StoreHandle;
  /** The one library of this process (opened on first use), shared with the builds. */
  library: () => ImageLibrary;
  /** Imports of a detected network device queue its vrnetlab build. */
  builds: BuildService;
}

export interface EnsureResult {
  id: string;
  ok: boolean;
  error?: string;
}

/**
 * The image library as both front doors use it. The library is handed in
 * (createServices opens it, wired with who uses an image: the labs know).
 */
export class ImageService {
  private readonly root: string;

  constructor(
    private readonly settings: Settings,
    private readonly deps: ImageServiceDeps,
  ) {
    this.root = settings.root;
  }

  /** The detected device facts go on the image; its build is queued when a checkout is configured. */
  private async afterImport(img: ImageRecord, fileName: string, build: boolean | undefined): Promise<ImportedImage> {
    return this.deps.builds.afterImport(img, fileName, build === undefined ? {} : { build });
  }

  /** One library per process: concurrent pulls of one image share a transfer. */
  private library(): ImageLibrary {
    return this.deps.library();
  }

  /**
   * Start a job and answer with it as soon as it exists (what a server
   * replies 202 with); the work goes on. A pull of an image already in the
   * library makes no job: a finished one is recorded so the answer has the
   * same shape.
   */
  private startJob(kind: string, run: (observer: JobObserver) => Promise<ImageRecord>): Promise<JobRecord> {
    return new Promise((resolve, reject) => {
      let started = false;
      run({
        started: (job) => {
          started = true;
          resolve(job);
        },
      }).then(
        (img) => {
          if (started) return;
          const jobs = this.library().jobs;
          const job = jobs.create(kind, img.id, { note: 'already in the library' });
          jobs.finish(job.id, 'succeeded');
          resolve(jobs.get(job.id)!);
        },
        (err) => (started ? undefined : reject(err)),
      );
    });
  }

  startPull(id: string): Promise<JobRecord> {
    return this.startJob('download', (o) => this.pull(id, o));
  }

  startImport(source: string, opts: ImportOptions): Promise<JobRecord> {
    return this.startJob('import', (o) => this.import(source, opts, o));
  }

  /** A directory on the library's filesystem to stream an upload into (then importUpload moves it in). */
  uploadDir(): string {
    return this.library().uploadDir();
  }

  /** Where to stream the next upload (half files a killed server left are cleared first). */
  newUploadPath(): string {
    return this.library().newUploadPath();
  }

  /**
   * Stream an upload into a new file beside the library while it is hashed
   * (on a worker thread), so the file is never read twice. A failed stream
   * leaves nothing; the caller owns the file once this resolves.
   */
  async receiveUpload(body: Readable): Promise<{ path: string; sha256: string }> {
    const path = this.newUploadPath();
    const hashing = new ThreadedDigest('sha256');
    try {
      // A deep write buffer: the socket keeps being read while the kernel writes earlier chunks.
      await pipeline(body, hashing, createWriteStream(path, { flags: 'wx', mode: 0o600, highWaterMark: 4 << 20 }));
      return { path, sha256: await hashing.digest() };
    } catch (err) {
      rmSync(path, { force: true });
      throw err;
    }
  }

  /**
   * `sha256`: the digest computed while the upload streamed in, so the file
   * is not read twice. `fileName`: the client's name for the file; without
   * `opts.name` the image is named after it (less its image extension).
   */
  importUpload(
    tempPath: string,
    opts: Omit<ImportOptions, 'convert' | 'connections'>,
    observer?: JobObserver,
    known: { sha256?: string; fileName?: string } = {},
  ): Promise<ImportedImage> {
    const { build, ...rest } = opts;
    const base = known.fileName?.split(/[\\/]/).pop() || undefined;
    const name = rest.name ?? uploadName(base);
    const fileName = base ?? opts.name ?? 'upload';
    return this.library()
      .importUpload(
        tempPath,
        { ...rest, ...(name ? { name } : {}) },
        observer,
        known.sha256 ? { sha256: known.sha256 } : {},
      )
      .then((img) => this.afterImport(img, fileName, build));
  }

  /** Rename an image or correct what the library believes about it (OS, default user, cloud-init). */
  update(ref: string, patch: ImagePatch): ImageRecord {
    const lib = this.library();
    const img = lib.images.find(ref);
    if (!img) throw new ImageError('not_found', `no image "${ref}" in the library`, { hint: 'see vmlab images list' });
    if (img.status !== 'ready')
      throw new ImageError('busy', `image "${img.name}" is ${img.status}`, { hint: 'wait until it is ready' });
    if (patch.name !== undefined && patch.name !== img.name) {
      assertSafeImageName(patch.name);
      const other = lib.images.find(patch.name);
      if (other && other.id !== img.id)
        throw new VmlabError('name_taken', `an image named "${patch.name}" exists already`, {
          kind: 'conflict',
          hint: 'pick another name',
        });
    }
    // The user reaches cloud-init's user-data and ssh_config as a spec's vm_credentials.user does.
    if (typeof patch.default_user === 'string' && !isValidUser(patch.default_user)) {
      throw new VmlabError(
        'invalid_default_user',
        `default_user: expected ${USER_RULE}, got ${JSON.stringify(patch.default_user)}`,
        {
          kind: 'input',
          hint: 'give the user the image\'s cloud-init creates (e.g. "debian"), or null',
        },
      );
    }
    const fields = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    if ('cloud_init' in fields) fields.cloud_init = fields.cloud_init ? 1 : 0;
    return lib.setFacts(img.id, fields);
  }

  /** The store file: its size and mtime change with every commit (a front door may key a cache on them). */
  storeFile(): string {
    return this.deps.store.path;
  }

  /** A running node's booted state as a library image: nodes whose vm_image names it start warm. */
  checkpoint(ref: LabRef, node: string, name: string, op: OpContext): Promise<ImageRecord> {
    return checkpointNode(this.library(), this.root, ref, node, name, op);
  }

  catalog(): CatalogEntry[] {
    return this.library().catalog;
  }

  list(): ImageRecord[] {
    return this.library().images.list();
  }

  /** An image with the labs that use it. */
  show(ref: string): ImageRecord & { used_by: string[] } {
    const lib = this.library();
    const img = lib.images.find(ref);
    if (!img) throw new ImageError('not_found', `no image "${ref}" in the library`, { hint: 'see vmlab images list' });
    return { ...img, used_by: lib.usersOf(img) };
  }

  /** What `vmlab worker` runs for `download` jobs taken from a queue: a catalog pull into this library. */
  handlers(): Record<string, JobHandler> {
    return {
      download: async (params, ctx) => {
        const img = await this.pull(String(params.id ?? ''), {
          progress: (f, d) => ctx.progress(f, d),
          log: (l) => ctx.log(l),
        });
        return { id: img.id, name: img.name };
      },
    };
  }

  pull(id: string, observer?: JobObserver, opts: { connections?: number } = {}): Promise<ImageRecord> {
    return this.library().pull(id, observer, opts);
  }

  async import(source: string, opts: ImportOptions, observer?: JobObserver): Promise<ImportedImage> {
    const { build, ...rest } = opts;
    const fileName = basename(/^https?:\/\//.test(source) ? new URL(source).pathname : source);
    // vrnetlab builds some devices (vEOS, RouterOS) from a vmdk: a detected one stays vmdk unless asked otherwise.
    const keepVmdk = detectDevice(fileName)?.format === 'vmdk';
    const img = await this.library().import(source, { ...rest, convert: opts.convert ?? !keepVmdk }, observer);
    return this.afterImport(img, fileName, build);
  }

  /**
   * Register files already on disk; a network-device disk gets its `net_device` facts (no build: a scan may find
   * many).
   */
  async scan(dir?: string): Promise<ScanResult> {
    const r = await this.library().scan(dir);
    const added = await Promise.all(
      r.added.map(async (img) => (img.path ? this.afterImport(img, basename(img.path), false) : img)),
    );
    return { ...r, added: added.map(({ build_skipped: _s, build_job: _j, ...img }: ImportedImage) => img) };
  }

  /**
   * Remove an image. A docker entry's Docker image stays unless `docker`
   * (then `docker image rm` first: the record goes only if that worked).
   */
  async remove(
    ref: string,
    force: boolean,
    opts: { docker?: boolean } = {},
  ): Promise<ImageRecord & { docker_image?: 'removed' | 'absent' | 'kept' }> {
    const lib = this.library();
    const img = lib.images.find(ref);
    if (img?.kind === 'docker' && img.reference) {
      if (!opts.docker) return { ...lib.remove(ref, force), docker_image: 'kept' };
      const outcome = await this.deps.builds.removeDockerImage(img.reference);
      return { ...lib.remove(ref, force), docker_image: outcome };
    }
    return lib.remove(ref, force);
  }

  /** Re-hash the file; a mismatch is an error (the file changed under the library). */
  async verify(ref: string): Promise<{ sha256: string }> {
    const r = await this.library().verify(ref);
    if (!r.ok)
      throw new VmlabError(
        'checksum_changed',
        `${ref}: sha256 is ${r.actual}, recorded ${r.expected}: the file changed`,
        { hint: 're-pull or re-import it' },
      );
    return { sha256: r.actual };
  }

  /** Seed 001: pull the default images that are missing (only when `auto`), all at once; never throws. */
  async ensure(auto: boolean, log: (id: string, line: string) => void = () => undefined): Promise<EnsureResult[]> {
    const ids = [...this.settings.defaultImages];
    const lib = this.library();
    const results = await Promise.allSettled(
      ids.map(async (id) => {
        const have = lib.images.find(id);
        if (have?.status === 'ready') return have;
        if (!auto) throw new Error('missing');
        return lib.pull(id, { log: (m) => log(id, m) });
      }),
    );
    return results.map((r, i) =>
      r.status === 'fulfilled'
        ? { id: ids[i]!, ok: true }
        : { id: ids[i]!, ok: false, error: (r.reason as Error).message },
    );
  }

  defaultIds(): string[] {
    return [...this.settings.defaultImages];
  }

  buildTiny(output: string | undefined, reporter: Reporter): Promise<string> {
    return buildTinyGuest(output ?? defaultTinyImagePath(this.root), reporter, this.settings.childEnv);
  }
}
