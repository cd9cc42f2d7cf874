import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { BuildError } from '../builds/buildError.js';
import { dockerServerVersion, inspectDockerImage, removeDockerImage } from '../builds/docker.js';
import { askMakefile } from '../builds/vrnetlab/askMakefile.js';
import { buildInDeviceDir, type BuildPlan } from '../builds/vrnetlab/build.js';
import type { StepUpdate } from '../builds/vrnetlab/buildOutput.js';
import { detectDevice, type NetDevice } from '../builds/vrnetlab/detect.js';
import { familyById } from '../builds/vrnetlab/families.js';
import { resolveTag } from '../builds/vrnetlab/resolveTag.js';
import { accelFacts } from '../host/accel.js';
import type { Settings } from '../host/settings.js';
import type { JobContext, JobObserver } from '../jobs/runJob.js';
import type { JobHandler } from '../jobs/queue.js';
import type { JobRecord } from '../jobs/jobStore.js';
import type { ImageLibrary, ImageReader } from '../images/library.js';
import type { ImageRecord } from '../store/imageStore.js';
import type { JobService } from './jobs.js';

/** One answer of `vmlab images detect`: a known device (buildable or why not), or unknown. */
export type DetectAnswer = (NetDevice | UnknownDevice) & { checkout: string | null };
type UnknownDevice = { file: string; device: null; buildable: false; reason: string } & Partial<
  Record<'dir' | 'tag' | 'version' | 'build_file' | 'install_phase', undefined>
>;

interface Prepared {
  img: ImageRecord;
  dev: NetDevice & { tag: string; version: string; dir: string };
  plan: BuildPlan;
}

/**
 * Where progress stands at each step of a build (docker build steps fill the
 * middle). vrnetlab cleans its build context before and after a build, so
 * `clean` keeps the fraction where it was.
 */
function fractionOf(s: StepUpdate, last: number): number {
  if (s.step === 'copy') return 0.02;
  if (s.step === 'make') return Math.max(last, 0.05);
  if (s.step === 'docker build') return Math.max(last, s.n && s.of ? 0.1 + (0.75 * s.n) / s.of : 0.1);
  if (s.step.startsWith('install')) return 0.87;
  if (s.step === 'commit') return 0.95;
  return last;
}

/**
 * vrnetlab builds: detect a device disk, ask the checkout's Makefile for its
 * tag, build the Docker image as a `build` job, record it in the library as
 * the device's default `docker` image. Both front doors call this.
 */
export class BuildService {
  private readonly done = new Map<string, Promise<ImageRecord>>();
  private readonly root: string;
  /** For the children a build runs (docker, make): DOCKER_HOST, PATH, DOCKER_REGISTRY… */
  private readonly env: Readonly<NodeJS.ProcessEnv>;

  constructor(
    private readonly settings: Settings,
    private readonly jobs: JobService,
    /** The one library of this process: records are read and written through it. */
    private readonly library: () => ImageLibrary,
  ) {
    this.root = settings.root;
    this.env = settings.childEnv;
  }

  private images(): ImageReader {
    return this.library().images;
  }

  /** The vrnetlab checkout: `--vrnetlab`, else VRNETLAB_PATH, else ~/.vmlab/vrnetlab (under the vmlab root). */
  checkoutPath(override?: string): string {
    if (override) return resolve(override);
    if (this.settings.vrnetlabPath) return this.settings.vrnetlabPath;
    return join(this.root, 'vrnetlab');
  }

  /** Auto-builds on import/upload: on unless VMLAB_AUTO_BUILD=false, and only with a checkout in place. */
  autoBuildEnabled(): boolean {
    return this.settings.autoBuild && existsSync(this.checkoutPath());
  }

  /** Facts for a file name: family from our table, version and tag from the checkout's Makefile (when there is one). */
  async facts(fileName: string, checkout: string | null): Promise<NetDevice | undefined> {
    const dev = detectDevice(fileName);
    if (!dev?.buildable || !dev.dir || !checkout) return dev;
    const dir = join(checkout, dev.dir);
    if (!existsSync(join(dir, 'Makefile'))) {
      return {
        ...dev,
        buildable: false,
        reason:
          `the vrnetlab checkout ${checkout} has no ${dev.dir}/Makefile: ` +
          `update it (git -C ${checkout} pull) or point --vrnetlab at a newer one`,
      };
    }
    return resolveTag(dev, (name) => askMakefile(dir, name, this.env));
  }

  /** `vmlab images detect FILE…`: each name's device, vrnetlab dir and tag, or why it cannot be built. */
  async detect(files: string[], opts: { vrnetlab?: string } = {}): Promise<DetectAnswer[]> {
    const path = this.checkoutPath(opts.vrnetlab);
    if (opts.vrnetlab && !existsSync(path))
      throw new BuildError('no_checkout', `--vrnetlab ${opts.vrnetlab}: no such directory`, {
        hint: 'point it at a clone of srl-labs/vrnetlab',
      });
    const checkout = existsSync(path) ? path : null;
    return Promise.all(
      files.map(async (f): Promise<DetectAnswer> => {
        const dev = await this.facts(f, checkout);
        if (!dev)
          return {
            file: basename(f),
            device: null,
            buildable: false,
            reason: 'no network device vmlab knows by this file name (see the README for the families)',
            checkout,
          };
        return { ...dev, checkout };
      }),
    );
  }

  /** Everything checked before a build touches anything: device, checkout, format, tag, Docker, KVM. */
  private async prepare(ref: string, checkoutOverride?: string): Promise<Prepared> {
    const img = this.images().find(ref);
    if (!img)
      throw new BuildError('image_not_found', `no image "${ref}" in the library`, { hint: 'see vmlab images list' });
    if (img.kind !== 'qcow2' || !img.path)
      throw new BuildError(
        'not_buildable',
        `image "${img.name}" is a ${img.kind} image: only a disk image builds a vrnetlab image`,
        { hint: 'pick the disk it was built from: vmlab images list' },
      );
    if (img.status !== 'ready')
      throw new BuildError('not_buildable', `image "${img.name}" is ${img.status}`, {
        hint: 'wait until it is ready: vmlab jobs list',
      });
    const known = img.net_device ? (JSON.parse(img.net_device) as Partial<NetDevice>) : undefined;
    const fileName = known?.file ?? basename(img.path);
    const checkout = this.checkoutPath(checkoutOverride);
    const dev = detectDevice(fileName);
    if (!dev)
      throw new BuildError('not_buildable', `"${fileName}" (image ${img.name}) is no network device vmlab knows`, {
        hint: "vmlab images detect <file> lists what it recognises; vendors' original file names work best",
      });
    if (!dev.buildable) throw new BuildError('not_buildable', `${fileName}: ${dev.reason}`);
    if (!existsSync(checkout)) {
      throw new BuildError('no_checkout', `no vrnetlab checkout at ${checkout}`, {
        hint:
          `clone it (git clone https://github.com/srl-labs/vrnetlab ${checkout}), ` +
          'run ./install.sh --with-vrnetlab, or set VRNETLAB_PATH / --vrnetlab',
      });
    }
    if (img.format !== dev.format) {
      throw new BuildError(
        'wrong_format',
        `vrnetlab's ${dev.dir} builds from ${dev.format}, and image "${img.name}" is ${img.format}`,
        { hint: `import the vendor's ${dev.format} file with --no-convert` },
      );
    }
    const facts = await this.facts(fileName, checkout);
    if (!facts?.buildable || !facts.tag || !facts.version || !facts.dir)
      throw new BuildError('not_buildable', `${fileName}: ${facts?.reason ?? 'cannot be built'}`);
    await dockerServerVersion(this.env);
    if (facts.install_phase) {
      const accel = await accelFacts({ qemuBinary: this.settings.qemuBinary, env: this.env });
      if (accel.accel !== 'kvm') {
        throw new BuildError(
          'kvm_required',
          `${facts.label}: vrnetlab's build boots the VM under KVM (install phase), ` +
            `and this host has no working KVM: ${accel.reason}`,
          { hint: 'build it on a host with KVM (vmlab doctor shows why not here)' },
        );
      }
    }
    const family = familyById(facts.device)!;
    const timeoutS = this.settings.buildTimeoutS;
    const plan: BuildPlan = {
      deviceDir: join(checkout, facts.dir),
      source: img.path,
      buildFile: facts.build_file ?? facts.file,
      goal: family.makeGoal === undefined ? 'docker-image' : family.makeGoal,
      allowHardLink: !family.writesDisk,
      lockDir: join(this.root, 'locks'),
      timeoutMs: timeoutS * 1000,
      env: this.env,
    };
    return { img, dev: facts as Prepared['dev'], plan };
  }

  /**
   * Check everything, then queue the build job (answered at once). A
   * problem found before the job exists (not a device, no checkout, Docker
   * down, no KVM for an install phase) is thrown here; nothing was copied.
   */
  async startBuild(
    ref: string,
    opts: { vrnetlab?: string } = {},
    observer: JobObserver = {},
  ): Promise<{ job: JobRecord; done: Promise<ImageRecord> }> {
    const prepared = await this.prepare(ref, opts.vrnetlab);
    if (this.jobs.distributed) return this.enqueue(prepared.img, opts);
    return this.queue(prepared.img, opts, observer, prepared);
  }

  private queue(
    img: ImageRecord,
    opts: { vrnetlab?: string },
    observer: JobObserver,
    prepared?: Prepared,
  ): { job: JobRecord; done: Promise<ImageRecord> } {
    const { job, done } = this.jobs.run(
      'build',
      img.id,
      { image: img.id, ...(opts.vrnetlab ? { vrnetlab: opts.vrnetlab } : {}) },
      (ctx) => {
        observer.started?.(ctx.job);
        return this.runBuild(img, opts, prepared, ctx, observer);
      },
    );
    this.done.set(job.id, done);
    done.finally(() => this.done.delete(job.id)).catch(() => undefined);
    return { job, done };
  }

  /**
   * With VMLAB_REDIS_URL the build goes to the queue and a `vmlab worker`
   * (sharing this library: same VMLAB_HOME) runs it; `done` follows the
   * queued job and answers with the docker record the worker wrote.
   */
  private async enqueue(
    img: ImageRecord,
    opts: { vrnetlab?: string },
  ): Promise<{ job: JobRecord; done: Promise<ImageRecord> }> {
    const queue = this.jobs.queue();
    const job = await queue.enqueue('build', img.id, {
      image: img.id,
      ...(opts.vrnetlab ? { vrnetlab: opts.vrnetlab } : {}),
    });
    const done = queue.wait(job.id, 500).then((j) => {
      if (j.status !== 'succeeded')
        throw new BuildError(
          j.status === 'cancelled' ? 'cancelled' : 'make_failed',
          `build job ${j.id} ${j.status}: ${j.error ?? 'no reason given'}`,
          { hint: `its log: vmlab jobs show ${j.id}` },
        );
      const tag = (JSON.parse(j.detail) as { tag?: string }).tag;
      const rec = tag ? this.images().find(tag) : undefined;
      if (!rec)
        throw new BuildError(
          'image_missing',
          `build job ${j.id} succeeded, but the library has no record of ${tag ?? 'its image'}`,
          { hint: 'the worker must share this library (the same VMLAB_HOME)' },
        );
      return rec;
    });
    this.done.set(job.id, done);
    done.finally(() => this.done.delete(job.id)).catch(() => undefined);
    return { job, done };
  }

  /** What `vmlab worker` runs for `build` jobs taken from the queue. */
  handlers(): Record<string, JobHandler> {
    return {
      build: async (params, ctx) => {
        const ref = String(params.image ?? '');
        const img = this.images().find(ref);
        if (!img)
          throw new BuildError('image_not_found', `no image "${ref}" in this worker's library (${this.root})`, {
            hint: 'run the worker with the same VMLAB_HOME as the server',
          });
        const rec = await this.runBuild(
          img,
          typeof params.vrnetlab === 'string' ? { vrnetlab: params.vrnetlab } : {},
          undefined,
          ctx,
          {},
        );
        return { reference: rec.reference, id: rec.id };
      },
    };
  }

  /** One build, wherever it runs: make's log lines are written to the job in batches (each write is a store commit). */
  private async runBuild(
    img: ImageRecord,
    opts: { vrnetlab?: string },
    prepared: Prepared | undefined,
    ctx: JobContext,
    observer: JobObserver,
  ): Promise<ImageRecord> {
    let pending: string[] = [];
    const flush = () => {
      if (pending.length) ctx.log(pending.join('\n'));
      pending = [];
    };
    const flusher = setInterval(flush, 250);
    const log = (line: string) => {
      observer.log?.(line);
      pending.push(line);
    };
    try {
      return await this.work(img, opts, prepared, ctx, log, observer);
    } finally {
      clearInterval(flusher);
      flush();
    }
  }

  /** The build job's work: check (again, for a queued auto-build), build, confirm with Docker, record. */
  private async work(
    img: ImageRecord,
    opts: { vrnetlab?: string },
    prepared: Prepared | undefined,
    ctx: JobContext,
    log: (line: string) => void,
    observer: JobObserver,
  ): Promise<ImageRecord> {
    const p = prepared ?? (await this.prepare(img.id, opts.vrnetlab));
    log(
      `building ${p.dev.tag} from ${p.img.name} (${p.dev.label}) with vrnetlab ${p.dev.dir}` +
        `${p.dev.build_file ? `, copy named ${p.dev.build_file} (the name that directory reads a version from)` : ''}`,
    );
    // Progress writes are throttled (250 ms): a step reached just after another is written again shortly after, so the
    // record never lags behind a long step.
    let trailing: NodeJS.Timeout | undefined;
    let last = 0;
    const out = await buildInDeviceDir(p.plan, {
      log,
      signal: ctx.signal,
      step: (s) => {
        const f = (last = fractionOf(s, last));
        ctx.progress(f, { ...s });
        observer.progress?.(f, { ...s });
        clearTimeout(trailing);
        trailing = setTimeout(() => ctx.progress(f, { ...s }), 300);
      },
    }).finally(() => clearTimeout(trailing));
    if (out.tag !== p.dev.tag) log(`note: make built ${out.tag}, the Makefile's variables said ${p.dev.tag}`);
    const facts = await inspectDockerImage(out.tag, this.env);
    if (!facts)
      throw new BuildError('image_missing', `make reported ${out.tag}, but docker image inspect finds no such image`, {
        hint: 'check the daemon the build talked to (DOCKER_HOST)',
      });
    const dev = { ...p.dev, tag: out.tag };
    this.library().setFacts(p.img.id, { net_device: JSON.stringify(dev), device: dev.device, version: dev.version });
    const rec = this.library().recordDockerImage({
      reference: out.tag,
      device: dev.device,
      version: dev.version,
      built_from: p.img.id,
      sha256: facts.id.replace(/^sha256:/, ''),
      actual_size: facts.size,
      net_device: JSON.stringify(dev),
    });
    log(
      `built ${out.tag} (${facts.id.slice(0, 19)}) in ${(out.make.durationMs / 1000).toFixed(1)} s; ` +
        `${out.copy.method}, ${out.copy.bytesCopied} bytes copied; default for ${dev.device}`,
    );
    ctx.progress(1, {
      step: 'done',
      tag: out.tag,
      image_id: rec.id,
      copy: out.copy.method,
      bytes_copied: out.copy.bytesCopied,
    });
    return rec;
  }

  /** The outcome of a build this process runs (the CLI waits for an auto-build this way). */
  outcome(jobId: string): Promise<ImageRecord> | undefined {
    return this.done.get(jobId);
  }

  /**
   * After an import or upload: the detected facts go on the image
   * (`net_device`); a buildable device with a checkout in place gets its
   * build queued. Never throws: the import succeeded whatever happens here.
   */
  async afterImport(
    img: ImageRecord,
    fileName: string,
    opts: { build?: boolean } = {},
  ): Promise<ImageRecord & { build_job?: string; build_skipped?: string }> {
    try {
      const checkout = existsSync(this.checkoutPath()) ? this.checkoutPath() : null;
      const dev = await this.facts(fileName, checkout);
      if (!dev) return img;
      const rec = this.library().setFacts(img.id, {
        net_device: JSON.stringify(dev),
        device: dev.device,
        ...(dev.version ? { version: dev.version } : {}),
      });
      if (opts.build === false || !this.settings.autoBuild) return { ...rec, build_skipped: 'auto-build is off' };
      if (!checkout) return { ...rec, build_skipped: `no vrnetlab checkout at ${this.checkoutPath()}` };
      if (!dev.buildable) return { ...rec, build_skipped: dev.reason ?? 'not buildable' };
      if (rec.format !== dev.format)
        return {
          ...rec,
          build_skipped: `vrnetlab's ${dev.dir} builds from ${dev.format}, this image is ${rec.format}`,
        };
      const { job } = this.jobs.distributed ? await this.enqueue(rec, {}) : this.queue(rec, {}, {});
      return { ...rec, build_job: job.id };
    } catch (err) {
      return { ...img, build_skipped: (err as Error).message };
    }
  }

  /** Remove a docker entry's Docker image (for `images rm --docker`). */
  removeDockerImage(reference: string): Promise<'removed' | 'absent'> {
    return removeDockerImage(reference, this.env);
  }
}
