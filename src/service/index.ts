import { BuildService } from './builds.js';
import { HostService } from './host.js';
import { ImageService } from './images.js';
import { JobService } from './jobs.js';
import { LabService } from './labs.js';
import { SnapshotService } from './snapshots.js';

export interface Services {
  labs: LabService;
  images: ImageService;
  jobs: JobService;
  host: HostService;
  snapshots: SnapshotService;
  builds: BuildService;
}

/** The application both front doors call: one set per process, for one state root. */
export function createServices(env: NodeJS.ProcessEnv = process.env): Services {
  const labs = new LabService(env);
  const jobs = new JobService(labs.root, env);
  labs.jobs = jobs;
  const images = new ImageService(labs.root, env, (path) => labs.imageUsers(path), () => jobs.slot());
  const builds = new BuildService(labs.root, env, jobs);
  images.builds = builds;
  return { labs, images, jobs, host: new HostService(labs.root, env), snapshots: new SnapshotService(), builds };
}

export type { LabService, ImageService, JobService, HostService, SnapshotService, BuildService };
export type { OpContext, DeployInput, InlineSpec } from './labs.js';
export type { ImagePatch, ImportOptions, ImportedImage } from './images.js';
export type { DetectAnswer } from './builds.js';
export type { JobRecord } from '../jobs/jobStore.js';
