import { existsSync } from 'node:fs';
import { isValidUser, USER_RULE } from '../spec/names.js';
import { ImageError } from '../images/imageError.js';
import { inspectImage } from '../images/inspect.js';
import type { ImageFacts } from '../plan/planLab.js';
import { LIBRARY_PREFIX } from '../plan/resolveNode.js';
import type { StoreHandle } from '../store/database.js';
import { ImageStore, type ImageRecord } from '../store/imageStore.js';
import { checkpointKeyPath } from '../images/imageFiles.js';
import { parseCheckpoint } from '../lab/snapshot/checkpoint.js';

/**
 * cloud-init facts of a library record. Its default_user lands in user-data
 * and ssh_config: a store edited behind vmlab's back must not smuggle lines.
 */
function cloudInitOf(record: ImageRecord | undefined): Pick<ImageFacts, 'cloudInit' | 'problem' | 'hint'> {
  if (!record?.cloud_init || !record.default_user) return {};
  if (isValidUser(record.default_user)) return { cloudInit: { user: record.default_user } };
  return {
    problem: `library image "${record.name}" has default_user ${JSON.stringify(record.default_user)}, not ${USER_RULE}`,
    hint: `set it right: PATCH /api/v1/images/${record.name} {"default_user": "<user>"}`,
  };
}

/** Inspect a file as untrusted input; a problem becomes a fact the planner reports against the spec field. */
async function fileFacts(path: string, record: ImageRecord | undefined): Promise<ImageFacts> {
  if (!existsSync(path))
    return {
      problem: 'image file not found',
      hint:
        'point vm_image at an existing qcow2 file or a library image ' +
        '(build the test guest with `vmlab images build tiny`)',
    };
  try {
    const info = await inspectImage(path);
    return { format: info.format, ...cloudInitOf(record) };
  } catch (err) {
    if (err instanceof ImageError) return { problem: err.message, ...(err.hint ? { hint: err.hint } : {}) };
    throw err;
  }
}

/**
 * A checkpoint made by this vmlab from a running node (not an untrusted
 * file): its disk sits on a library image, found by digest.
 */
function checkpointFacts(img: ImageRecord, all: ImageRecord[]): ImageFacts {
  const f = parseCheckpoint(img.checkpoint);
  if (!f)
    return {
      problem: `library image "${img.name}" is a checkpoint this vmlab cannot read`,
      hint: 'save it again with this vmlab: vmlab images checkpoint LAB/NODE --name <name>',
    };
  const base = all.find((i) => i.sha256 === f.base.sha256 && i.status === 'ready' && i.path && !i.checkpoint);
  if (!base)
    return {
      problem:
        `checkpoint "${img.name}" sits on image ${f.base.name} (sha256 ${f.base.sha256.slice(0, 12)}…), ` +
        'which is no longer in the library',
      hint: `import that image again, or save a new checkpoint`,
    };
  const key = checkpointKeyPath(img.path!);
  return {
    format: 'qcow2',
    path: img.path!,
    ...cloudInitOf(img),
    checkpoint: {
      name: img.name,
      snapshot: f.snapshot,
      base: { path: base.path!, format: base.format ?? f.base.format },
      key,
      user: f.user,
      nics: f.saved.nics.length,
      facts: img.checkpoint!,
    },
  };
}

/**
 * What the lab planner needs to know of each image a spec names, for the
 * labs (which never import images/): library names resolved through the
 * store, every file inspected before QEMU opens it.
 */
export function imageFactsResolver(handle: StoreHandle): (keys: string[]) => Promise<Record<string, ImageFacts>> {
  return async (keys) => {
    const needStore = keys.some((k) => k.startsWith(LIBRARY_PREFIX)) || handle.exists();
    const store = needStore ? new ImageStore(handle.db()) : undefined;
    const byPath = new Map((store?.list() ?? []).filter((i) => i.path).map((i) => [i.path!, i]));
    const factsFor = async (key: string): Promise<ImageFacts> => {
      if (!key.startsWith(LIBRARY_PREFIX)) return fileFacts(key, byPath.get(key));
      const ref = key.slice(LIBRARY_PREFIX.length);
      const img = store!.find(ref);
      if (!img)
        return {
          problem: `no image "${ref}" in the library`,
          hint: `pull or import it (vmlab images pull ${ref}; vmlab images list shows what is there)`,
        };
      if (img.status !== 'ready' || !img.path)
        return { problem: `library image "${ref}" is ${img.status}`, hint: 'vmlab images list' };
      if (img.checkpoint) return checkpointFacts(img, store!.list());
      return { ...(await fileFacts(img.path, img)), path: img.path };
    };
    const facts = await Promise.all(keys.map(factsFor));
    return Object.fromEntries(keys.map((k, i) => [k, facts[i]!]));
  };
}
