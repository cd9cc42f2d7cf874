import { VmlabError } from '../errors/vmlabError.js';
import type { Reporter } from '../host/reporter.js';
import type { CatalogEntry } from '../images/catalog.js';
import { ImageError } from '../images/imageError.js';
import type { ImageLibrary, ScanResult } from '../images/library.js';
import { defaultImageIds, openLibrary } from '../images/openLibrary.js';
import { buildTinyGuest, defaultTinyImagePath } from '../images/tinyGuest.js';
import type { JobObserver } from '../jobs/runJob.js';
import type { JobRecord } from '../jobs/jobStore.js';
import { assertSafeImageName } from '../images/inspect.js';
import { storePath } from '../store/database.js';
import type { ImageRecord } from '../store/imageStore.js';

export interface ImportOptions {
  name?: string;
  checksum?: string;
  os?: string;
  convert?: boolean;
}

export interface ImagePatch {
  name?: string;
  os_distro?: string | null;
  os_version?: string | null;
  os_arch?: string | null;
  default_user?: string | null;
  cloud_init?: boolean;
}

export interface EnsureResult {
  id: string;
  ok: boolean;
  error?: string;
}

/**
 * The image library as both front doors use it. Who uses an image is a
 * question for the labs: `imageUsers` is handed in, so images/ never
 * imports lab/.
 */
export class ImageService {
  constructor(
    private readonly root: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly imageUsers: (path: string) => string[],
    /** Job slots shared with the other jobs of this process (pulls and imports wait for one). */
    private readonly slot?: () => Promise<() => void>,
  ) {}

  private lib: ImageLibrary | undefined;

  /** One library per service: concurrent pulls of one image in this process share a transfer. */
  private library(): ImageLibrary {
    if (!this.lib) {
      this.lib = openLibrary(this.root, this.env);
      this.lib.imageUsers = this.imageUsers;
      this.lib.gate = this.slot;
    }
    return this.lib;
  }

  /**
   * Start a job and answer with it as soon as it exists (what a server
   * replies 202 with); the work goes on. A pull of an image already in the
   * library makes no job: a finished one is recorded so the answer has the
   * same shape.
   */
  private startJob(kind: string, target: string, run: (observer: JobObserver) => Promise<ImageRecord>): Promise<JobRecord> {
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
    return this.startJob('download', id, (o) => this.pull(id, o));
  }

  startImport(source: string, opts: ImportOptions): Promise<JobRecord> {
    return this.startJob('import', source, (o) => this.import(source, opts, o));
  }

  /** A directory on the library's filesystem to stream an upload into (then importUpload moves it in). */
  uploadDir(): string {
    return this.library().uploadDir();
  }

  /** Where to stream the next upload (half files a killed server left are cleared first). */
  newUploadPath(): string {
    return this.library().newUploadPath();
  }

  /** `sha256`: the digest computed while the upload streamed in, so the file is not read twice. */
  importUpload(tempPath: string, opts: Omit<ImportOptions, 'convert'>, observer?: JobObserver, known: { sha256?: string } = {}): Promise<ImageRecord> {
    return this.library().importUpload(tempPath, opts, observer, known);
  }

  /** Rename an image or correct what the library believes about it (OS, default user, cloud-init). */
  update(ref: string, patch: ImagePatch): ImageRecord {
    const lib = this.library();
    const img = lib.images.find(ref);
    if (!img) throw new ImageError('not-found', `no image "${ref}" in the library`, 'see vmlab images list');
    if (img.status !== 'ready') throw new ImageError('busy', `image "${img.name}" is ${img.status}`, 'wait until it is ready');
    if (patch.name !== undefined && patch.name !== img.name) {
      assertSafeImageName(patch.name);
      const other = lib.images.find(patch.name);
      if (other && other.id !== img.id) throw new VmlabError('name_taken', `an image named "${patch.name}" exists already`, { kind: 'conflict', hint: 'pick another name' });
    }
    const fields = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    if ('cloud_init' in fields) fields.cloud_init = fields.cloud_init ? 1 : 0;
    return lib.images.update(img.id, fields);
  }

  /** The store file: its size and mtime change with every commit (a front door may key a cache on them). */
  storeFile(): string {
    return storePath(this.root);
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
    if (!img) throw new ImageError('not-found', `no image "${ref}" in the library`, 'see vmlab images list');
    return { ...img, used_by: lib.usersOf(img) };
  }

  pull(id: string, observer?: JobObserver): Promise<ImageRecord> {
    return this.library().pull(id, observer);
  }

  import(source: string, opts: ImportOptions, observer?: JobObserver): Promise<ImageRecord> {
    return this.library().import(source, { ...opts, convert: opts.convert ?? true }, observer);
  }

  scan(dir?: string): Promise<ScanResult> {
    return this.library().scan(dir);
  }

  remove(ref: string, force: boolean): ImageRecord {
    return this.library().remove(ref, force);
  }

  /** Re-hash the file; a mismatch is an error (the file changed under the library). */
  async verify(ref: string): Promise<{ sha256: string }> {
    const r = await this.library().verify(ref);
    if (!r.ok) throw new VmlabError('checksum_changed', `${ref}: sha256 is ${r.actual}, recorded ${r.expected}: the file changed`, { hint: 're-pull or re-import it' });
    return { sha256: r.actual };
  }

  /** Seed 001: pull the default images that are missing (only when `auto`), all at once; never throws. */
  async ensure(auto: boolean, log: (id: string, line: string) => void = () => undefined): Promise<EnsureResult[]> {
    const ids = defaultImageIds(this.env);
    const lib = this.library();
    const results = await Promise.allSettled(
      ids.map(async (id) => {
        const have = lib.images.find(id);
        if (have?.status === 'ready') return have;
        if (!auto) throw new Error('missing');
        return lib.pull(id, { log: (m) => log(id, m) });
      }),
    );
    return results.map((r, i) => (r.status === 'fulfilled' ? { id: ids[i]!, ok: true } : { id: ids[i]!, ok: false, error: (r.reason as Error).message }));
  }

  defaultIds(): string[] {
    return defaultImageIds(this.env);
  }

  buildTiny(output: string | undefined, reporter: Reporter): Promise<string> {
    return buildTinyGuest(output ?? defaultTinyImagePath(this.root), reporter);
  }
}
