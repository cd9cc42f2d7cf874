import type { Settings } from '../host/settings.js';
import type { ImageLibrary } from '../images/library.js';
import { openLibrary } from '../images/openLibrary.js';
import { storeHandle, type StoreHandle } from '../store/database.js';
import { AccessService } from './access.js';
import { BuildService } from './builds.js';
import { HostService } from './host.js';
import { ImageService } from './images.js';
import { JobService } from './jobs.js';
import { LabService } from './labs.js';
import { SnapshotService } from './snapshots.js';

export interface Services {
  readonly settings: Settings;
  labs: LabService;
  images: ImageService;
  jobs: JobService;
  host: HostService;
  snapshots: SnapshotService;
  builds: BuildService;
  /** ssh and serial consoles of running nodes. */
  access: AccessService;
}

/**
 * The application both front doors call: one set per process, for one state
 * root, sharing one store handle. Built in dependency order, each service
 * whole by its constructor: jobs, then labs and builds (which queue jobs),
 * then images (builds after imports). Images and builds share one library,
 * opened on first use, whose records only it writes.
 */
export function createServices(settings: Settings): Services {
  const store = storeHandle(settings.root);
  const jobs = new JobService(settings, store);
  const labs = new LabService(settings, jobs, store);
  const library = oneLibrary(settings, store, labs, jobs);
  const builds = new BuildService(settings, jobs, library);
  const images = new ImageService(settings, { store, library, builds });
  const access = new AccessService(settings);
  const snapshots = new SnapshotService(settings);
  return { settings, labs, images, jobs, host: new HostService(settings), snapshots, builds, access };
}

/** The library of this process: the labs answer who uses an image (images/ never imports lab/); jobs lend slots. */
function oneLibrary(settings: Settings, store: StoreHandle, labs: LabService, jobs: JobService): () => ImageLibrary {
  let lib: ImageLibrary | undefined;
  const wiring = { imageUsers: (path: string) => labs.imageUsers(path), gate: () => jobs.slot() };
  return () => (lib ??= openLibrary(settings.root, settings.childEnv, { db: store.db(), ...wiring }));
}

export type { LabService, ImageService, JobService, HostService, SnapshotService, BuildService, AccessService };
export type { SshIo, ConsoleTerminal } from './access.js';
export type { OpContext, DeployInput, InlineSpec } from './labs.js';
export type { ImagePatch, ImportOptions, ImportedImage } from './images.js';
export type { DetectAnswer } from './builds.js';
export type { JobRecord } from '../jobs/jobStore.js';
export type { JobObserver } from '../jobs/runJob.js';
