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
}

/** The application both front doors call: one set per process, for one state root. */
export function createServices(env: NodeJS.ProcessEnv = process.env): Services {
  const labs = new LabService(env);
  const jobs = new JobService(labs.root, env);
  labs.jobs = jobs;
  return { labs, images: new ImageService(labs.root, env, (path) => labs.imageUsers(path), () => jobs.slot()), jobs, host: new HostService(labs.root, env), snapshots: new SnapshotService() };
}

export type { LabService, ImageService, JobService, HostService, SnapshotService };
export type { OpContext, DeployInput, InlineSpec } from './labs.js';
export type { ImagePatch, ImportOptions } from './images.js';
export type { JobRecord } from '../jobs/jobStore.js';
