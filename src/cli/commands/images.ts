import type { Command } from 'commander';
import { services } from '../services.js';
import type { ImageRecord } from '../../store/imageStore.js';
import type { JobObserver } from '../../service/index.js';
import { VmlabError } from '../../errors/vmlabError.js';
import { cliReporter } from '../reporter.js';
import { globals } from '../globals.js';
import { formatBytes, progressBar } from '../progressBar.js';
import { printJson, statusColor, style, table } from '../output.js';
import { OptionError, wholeNumberOption } from '../options.js';

const connectionsOption = () =>
  wholeNumberOption(
    '--connections <n>',
    'parallel segments from a server that takes ranges (default 4, or VMLAB_DOWNLOAD_CONNECTIONS; 1: one stream); ' +
      'files under 32 MiB, and a stream that runs at 128 MiB/s or more after its first second, stay one stream',
    { unit: 'connections', min: 1, max: 16 },
  );

/** Draw a job's progress as a bar; its log lines show with -v. */
function follow(label: string): JobObserver & { done(): void } {
  const bar = progressBar(label);
  return {
    progress: (f, d) => bar.update(f, d),
    log: (l) => cliReporter(globals.verbose).verbose(l),
    done: () => bar.done(),
  };
}

const size = (n: number | null) => (n === null ? '-' : formatBytes(n));
const osText = (i: ImageRecord) => [i.os_distro, i.os_version, i.os_arch].filter(Boolean).join(' ') || '-';
/** What runs in it: the OS of a cloud image, the device (and version) of a network device. */
const whatText = (i: ImageRecord) =>
  i.device ? [i.device, i.version].filter(Boolean).join(' ') + (i.is_default ? ' (default)' : '') : osText(i);

/**
 * Ctrl-C / SIGTERM while a build runs: cancel its job (make runs in a
 * process group of its own, so the terminal's signal does not reach it),
 * wait for make and docker to stop and the copy to go, then exit 130.
 */
async function untilBuilt<T>(jobId: string, done: Promise<T>): Promise<T> {
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    process.stderr.write(`stopping build job ${jobId} (make and docker)…\n`);
    services()
      .jobs.cancelAnywhere(jobId)
      .catch(() => undefined);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await done;
  } catch (err) {
    if (interrupted) process.exit(130);
    throw err;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/** Wait for a build this process runs (an explicit one, or the one an import queued), drawing its progress. */
async function followBuild(jobId: string, label: string): Promise<ImageRecord | undefined> {
  const done = services().builds.outcome(jobId);
  if (!done) return undefined;
  const o = follow(label);
  try {
    return await untilBuilt(jobId, done);
  } finally {
    o.done();
  }
}

async function withBar<T>(label: string, fn: (o: JobObserver) => Promise<T>): Promise<T> {
  const o = follow(label);
  try {
    return await fn(o);
  } finally {
    o.done();
  }
}

const lib = () => services().images;

interface ImportFlags {
  name?: string;
  checksum?: string;
  os?: string;
  convert: boolean;
  build: boolean;
  connections?: number;
}

function buildCommand(images: Command): void {
  images
    .command('build')
    .argument('<kind>', 'what to build: tiny (a small Linux test guest from Debian packages)')
    .description('build a guest image locally from Debian packages')
    .option('-o, --output <file>', 'where to write the qcow2 (default ~/.vmlab/images/vmlab-tiny.qcow2)')
    .addHelpText(
      'after',
      '\nThe tiny guest: kernel + busybox + dropbear, boots in seconds under TCG, DHCP on eth0,\n' +
        'SSH as root (password vmlab, or the lab key). Guest NIC N is ethN.\n\n' +
        'Examples:\n  vmlab images build tiny\n  vmlab images build tiny --output /tmp/tiny.qcow2',
    )
    .action(async (kind: string, opts: { output?: string }) => {
      if (kind !== 'tiny') {
        const hint = 'the only kind is: tiny';
        throw new VmlabError('unknown_kind', `unknown image kind "${kind}"`, { kind: 'input', hint });
      }
      const out = await lib().buildTiny(opts.output, cliReporter(globals.verbose));
      process.stdout.write(`${out}\n`);
    });
}

function catalogCommand(images: Command): void {
  images
    .command('catalog')
    .description('list the images vmlab knows how to pull (built in + ~/.vmlab/catalog.d + $VMLAB_CATALOG)')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nExamples:\n  vmlab images catalog\n' + '  VMLAB_CATALOG=mirror.yaml vmlab images catalog --json',
    )
    .action((opts: { json?: boolean }) => {
      const catalog = lib().catalog();
      if (opts.json) return printJson(catalog);
      const rows = catalog.map((c) => [c.id, c.name, c.arch, c.defaultUser, c.url]);
      process.stdout.write(table(['ID', 'NAME', 'ARCH', 'USER', 'URL'], rows) + '\n');
    });
}

function pullCommand(images: Command): void {
  images
    .command('pull')
    .argument('<id...>', 'catalog ids (vmlab images catalog)')
    .description('download catalog images, verified against their published checksums')
    .addOption(connectionsOption())
    .addHelpText(
      'after',
      '\nAn interrupted pull resumes where it stopped (each segment on its own). Examples:\n' +
        '  vmlab images pull debian-12\n  vmlab images pull ubuntu-24.04 rocky-9 --connections 8',
    )
    .action(async (ids: string[], opts: { connections?: number }) => {
      for (const id of ids) {
        const img = await withBar(id, (o) => lib().pull(id, o, opts));
        process.stdout.write(`${style.green('ready')} ${img.name} (${img.id}) ${img.path}\n`);
      }
    });
}

function importCommand(images: Command): void {
  images
    .command('import')
    .argument('<source>', 'a URL (http/https) or a local file')
    .description('add an image from a URL or file: inspected, converted to qcow2, registered')
    .option('--name <name>', 'library name (default: from the file name)')
    .option('--checksum <algo:hex>', 'expected digest: sha256:<hex> or sha512:<hex>')
    .option('--os <distro-version>', 'OS, e.g. debian-12 or ubuntu-24.04 (sets the default user and cloud-init)')
    .option(
      '--no-convert',
      'keep vmdk/vhd/vhdx/raw as they are (default: convert to qcow2; a detected vmdk device stays vmdk)',
    )
    .option('--no-build', 'do not build the vrnetlab Docker image of a detected network device')
    .addOption(connectionsOption())
    .addHelpText(
      'after',
      '\nA network-device disk (vmlab images detect) is built into its vrnetlab Docker image right after,\n' +
        'when a vrnetlab checkout is there ' +
        '(VRNETLAB_PATH, default ~/.vmlab/vrnetlab; VMLAB_AUTO_BUILD=false turns it off).\n\n' +
        'Examples:\n  vmlab images import ./router.vmdk --name vr1\n' +
        '  vmlab images import https://mirror/img.qcow2 --checksum sha256:ab12… --os debian-12 --connections 8\n' +
        '  vmlab images import ./vJunos-router-23.2R1.15.qcow2 --no-build',
    )
    .action(async (source: string, opts: ImportFlags) => {
      const img = await withBar(opts.name ?? 'import', (o) => lib().import(source, opts, o));
      process.stdout.write(`${style.green('ready')} ${img.name} (${img.id}) ${img.path}\n`);
      if (img.device && img.build_skipped) {
        process.stdout.write(`${img.device}: no vrnetlab build: ${img.build_skipped}\n`);
      }
      if (!img.build_job) return;
      const job = img.build_job;
      process.stdout.write(`building its vrnetlab image (job ${job}; cancel with vmlab jobs cancel ${job})\n`);
      const built = await followBuild(img.build_job, `build ${img.device}`);
      await services().jobs.close();
      if (built) process.stdout.write(`${style.green('built')} ${built.reference} (default for ${built.device})\n`);
    });
}

function detectCommand(images: Command): void {
  images
    .command('detect')
    .argument('<file...>', 'disk file names (the files need not exist: only the names are read)')
    .description('which network device a disk is, its vrnetlab directory and the image tag its Makefile would build')
    .option('--vrnetlab <dir>', 'the vrnetlab checkout to ask (default $VRNETLAB_PATH, else ~/.vmlab/vrnetlab)')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      "\nThe tag comes from the checkout's own Makefile; " +
        'without a checkout only the device and directory are known.\n\n' +
        'Examples:\n  vmlab images detect c8000v-universalk9_16G_serial.17.11.01a.qcow2\n' +
        '  vmlab images detect ~/Downloads/*.qcow2 --vrnetlab ~/src/vrnetlab --json',
    )
    .action(async (files: string[], opts: { vrnetlab?: string; json?: boolean }) => {
      const answers = await services().builds.detect(files, opts);
      // Exit 1 when any name cannot be built: scripts can check a download before importing it.
      if (answers.some((a) => !a.buildable)) process.exitCode = 1;
      if (opts.json) return printJson(answers);
      const checkout = answers[0]?.checkout;
      process.stdout.write(
        table(
          ['FILE', 'DEVICE', 'VRNETLAB DIR', 'TAG'],
          answers.map((a) => {
            const known = a.tag ?? (checkout ? '-' : '(no checkout)');
            const tag = a.buildable ? known : style.yellow(`not buildable: ${a.reason}`);
            return [a.file, a.device ?? '-', a.device ? (a.dir ?? '-') : '-', tag];
          }),
        ) + '\n',
      );
      for (const a of answers.filter((x) => x.device && x.buildable && x.build_file)) {
        const why = `the name ${a.dir} reads a version from`;
        process.stdout.write(`${a.file}: built from a copy named ${a.build_file} (${why})\n`);
      }
      for (const a of answers.filter((x) => x.device && x.install_phase && x.buildable)) {
        process.stdout.write(`${a.file}: the build boots the VM under KVM (install phase)\n`);
      }
      if (!checkout) {
        const none = 'no vrnetlab checkout found (--vrnetlab, VRNETLAB_PATH or ~/.vmlab/vrnetlab): tags unknown';
        process.stdout.write(style.dim(none) + '\n');
      }
    });
}

function buildDockerCommand(images: Command): void {
  images
    .command('build-docker')
    .argument('<image>', 'a disk image in the library (name or id)')
    .description('build the vrnetlab Docker image of a network-device disk and make it the default for its device')
    .option('--vrnetlab <dir>', 'the vrnetlab checkout (default $VRNETLAB_PATH, else ~/.vmlab/vrnetlab)')
    .addHelpText(
      'after',
      '\nDocker is reached as the docker CLI is (DOCKER_HOST). Time limit: 30 min (VMLAB_BUILD_TIMEOUT_S).\n\n' +
        'Examples:\n  vmlab images build-docker c8000v-universalk9_16G_serial.17.11.01a\n' +
        '  DOCKER_BUILDKIT=0 vmlab images build-docker vJunos-router-23.2R1.15 --vrnetlab ~/src/vrnetlab',
    )
    .action(async (ref: string, opts: { vrnetlab?: string }) => {
      const o = follow(`build ${ref}`);
      let built: ImageRecord;
      try {
        const { job, done } = await services().builds.startBuild(ref, opts, { progress: o.progress, log: o.log });
        const where = services().jobs.distributed ? ' (queued on Redis: a vmlab worker runs it)' : '';
        cliReporter(globals.verbose).verbose(`job ${job.id}${where}`);
        built = await untilBuilt(job.id, done);
      } finally {
        o.done();
        await services().jobs.close();
      }
      process.stdout.write(`${style.green('built')} ${built.reference} (${built.id}), default for ${built.device}\n`);
    });
}

function scanCommand(images: Command): void {
  images
    .command('scan')
    .argument('[dir]', 'directory to scan (default ~/.vmlab/images)')
    .description('register image files already on disk (OS guessed from the file name)')
    .option('--json', 'machine-readable output')
    .action(async (dir: string | undefined, opts: { json?: boolean }) => {
      const r = await lib().scan(dir);
      if (opts.json) return printJson(r);
      for (const a of r.added) process.stdout.write(`added ${a.name} (${osText(a)})\n`);
      for (const s of r.skipped) process.stdout.write(style.yellow(`skipped ${s.file}: ${s.why}`) + '\n');
      if (!r.added.length && !r.skipped.length) process.stdout.write('nothing new\n');
    });
}

function listCommand(images: Command): void {
  images
    .command('list')
    .description('the images in the library')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => {
      const list = lib().list();
      if (opts.json) return printJson(list);
      if (!list.length) {
        return void process.stdout.write('no images (vmlab images pull <id>, import <url|file>, scan)\n');
      }
      process.stdout.write(
        table(
          ['NAME', 'ID', 'KIND', 'STATUS', 'FORMAT', 'SIZE', 'OS / DEVICE', 'USER'],
          list.map((i) => {
            const status = statusColor(i.status === 'ready' ? 'running' : i.status).replace('running', 'ready');
            const docker = i.kind === 'docker';
            const [format, bytes] = [docker ? '-' : (i.format ?? '-'), size(docker ? i.actual_size : i.virtual_size)];
            return [i.name, i.id, i.kind, status, format, bytes, whatText(i), i.default_user ?? '-'];
          }),
        ) + '\n',
      );
      for (const i of list.filter((x) => x.status === 'failed')) {
        const resume = i.source_type === 'catalog' ? `pull ${i.source}` : `import ${i.source} --name ${i.name}`;
        const next = `\n  resume: vmlab images ${resume}   or remove: vmlab images rm ${i.name}\n`;
        process.stdout.write(style.yellow(`${i.name}: ${i.error ?? 'failed'}`) + next);
      }
    });
}

function showCommand(images: Command): void {
  images
    .command('show')
    .argument('<image>', 'name or id')
    .description('everything the library knows about an image')
    .option('--json', 'machine-readable output')
    .action((ref: string, opts: { json?: boolean }) => {
      const out = lib().show(ref);
      if (opts.json) return printJson(out);
      for (const [k, v] of Object.entries(out)) {
        process.stdout.write(`${k.padEnd(13)} ${Array.isArray(v) ? v.join(', ') || '-' : (v ?? '-')}\n`);
      }
    });
}

function rmCommand(images: Command): void {
  images
    .command('rm')
    .argument('<image>', 'name or id')
    .description('remove an image (refused while a lab uses it, unless --force)')
    .option('--force', 'remove even if a lab uses it')
    .option('--docker', 'for a docker entry: remove the Docker image too (docker image rm)')
    .action(async (ref: string, opts: { force?: boolean; docker?: boolean }) => {
      const img = await lib().remove(ref, Boolean(opts.force), { docker: Boolean(opts.docker) });
      process.stdout.write(`removed ${img.name}\n`);
      if (img.docker_image === 'kept') {
        const how = `remove it too with vmlab images rm --docker, or docker image rm ${img.reference}`;
        process.stdout.write(`the Docker image ${img.reference} is still there: ${how}\n`);
      }
      if (img.docker_image === 'removed') process.stdout.write(`removed the Docker image ${img.reference}\n`);
    });
}

function checkpointCommand(images: Command): void {
  images
    .command('checkpoint')
    .argument(
      '<lab/node>',
      'the running node to save, e.g. spine/r1 (the lab may be omitted when only one is deployed: r1)',
    )
    .description(
      "save a running node's booted state (RAM and disk) as a library image; nodes whose vm_image names it " +
        "start from it in seconds, each given its own hostname, MACs, host key and the lab's key",
    )
    .requiredOption('--name <image>', "the new image's name")
    .option('--json', 'print the new image record as JSON')
    .addHelpText(
      'after',
      `
Examples:
  vmlab images checkpoint demo/r1 --name tiny-booted    save r1 of lab demo
  # then in platforms.json: "vm_image": "tiny-booted" (same memory, CPUs, NIC model and NIC count)
  vmlab images list                                     the checkpoint shows with its source`,
    )
    .action(async (target: string, opts: { name: string; json?: boolean }) => {
      const svc = services();
      const [lab, node] = target.includes('/') ? target.split('/', 2) : [undefined, target];
      if (!node) throw new OptionError('bad_option', `"${target}" is not LAB/NODE`);
      const ref = svc.labs.select({ lab: lab || globals.lab });
      const img = await svc.images.checkpoint(ref, node, opts.name, { reporter: cliReporter(globals.verbose) });
      if (opts.json) return printJson(img);
      const saved = `${size(img.actual_size)} (sha256 ${img.sha256!.slice(0, 12)}…)`;
      process.stdout.write(`checkpoint ${img.name}: ${ref.name}/${node} saved, ${saved}\n`);
      process.stdout.write(
        `  start nodes from it: set "vm_image": "${img.name}" in their profile or platform and deploy\n`,
      );
    });
}

function verifyCommand(images: Command): void {
  images
    .command('verify')
    .argument('<image>', 'name or id')
    .description('re-hash the file and compare with the recorded sha256')
    .action(async (ref: string) => {
      const r = await lib().verify(ref);
      process.stdout.write(`${style.green('ok')} ${ref} sha256 ${r.sha256}\n`);
    });
}

function ensureCommand(images: Command): void {
  images
    .command('ensure')
    .description(
      'with AUTO_DOWNLOAD_IMAGES=true, pull the default images that are missing (VMLAB_DEFAULT_IMAGES), in parallel',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  AUTO_DOWNLOAD_IMAGES=true vmlab images ensure\n' +
        '  AUTO_DOWNLOAD_IMAGES=true VMLAB_DEFAULT_IMAGES=debian-12,alpine-3.23 vmlab images ensure',
    )
    .action(async () => {
      const auto = services().settings.autoDownloadImages;
      if (!auto) {
        const ids = lib().defaultIds().join(', ');
        process.stdout.write(`AUTO_DOWNLOAD_IMAGES is not "true": not downloading (${ids})\n`);
      }
      const results = await lib().ensure(auto, (id, m) => cliReporter(globals.verbose).verbose(`${id}: ${m}`));
      process.stdout.write('Image status summary:\n');
      for (const r of results) {
        const failed = `${style.red('✗')} ${r.id} (${r.error}; labs using it will fail to start)`;
        const line = r.ok ? `${style.green('✓')} ${r.id}` : failed;
        process.stdout.write(`  ${line}\n`);
      }
      if (results.some((r) => !r.ok)) process.exitCode = 1;
    });
}

/** The subcommands in the order `vmlab images --help` lists them. */
export function register(program: Command): void {
  const images = program.command('images').description('the image library: catalog, pull, import, scan, list, verify');
  buildCommand(images);
  catalogCommand(images);
  pullCommand(images);
  importCommand(images);
  detectCommand(images);
  buildDockerCommand(images);
  scanCommand(images);
  listCommand(images);
  showCommand(images);
  rmCommand(images);
  checkpointCommand(images);
  verifyCommand(images);
  ensureCommand(images);
}
