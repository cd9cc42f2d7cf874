import type { Db } from '../store/database.js';
import { ImageStore, type ImageRecord } from '../store/imageStore.js';
import { JobStore, type JobRecord } from './jobStore.js';

/**
 * Finish what a dead process left behind: jobs still `running` whose pid is
 * gone, then image records still busy with no live job. Every command that
 * reads the store calls this first, so a `kill -9` never leaves an entry
 * stuck in `running` or `converting`. `isAlive` is handed in (the OS
 * boundary lives above this folder).
 */
export function reapInterrupted(
  db: Db,
  isAlive: (pid: number) => boolean,
): { jobs: JobRecord[]; images: ImageRecord[] } {
  const jobs = new JobStore(db).reapDead(isAlive);
  const images = new ImageStore(db).reapInterrupted();
  return { jobs, images };
}
