import { chmodSync, copyFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { hashFile } from '../host/fileDigest.js';
import { ImageError } from '../images/imageError.js';
import { assertSafeImageName } from '../images/inspect.js';
import { checkpointKeyPath, checkpointPartPath } from '../images/imageFiles.js';
import { imagesDir, type ImageLibrary } from '../images/library.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_SNAPSHOT,
  saveCheckpoint,
  type CheckpointFacts,
} from '../lab/snapshot/checkpoint.js';
import { LabError } from '../lab/labError.js';
import { loadLab, nodeOf, type LabRef } from '../lab/state/labSelect.js';
import type { ImageRecord } from '../store/imageStore.js';
import type { OpContext } from './labs.js';

/**
 * `vmlab images checkpoint LAB/NODE --name IMG`: a running node's booted
 * state becomes a library image. Its disk must sit on a library image
 * (the checkpoint names it by digest); the lab's key goes beside it, since
 * the saved guest trusts only that key until a new lab gives it its own.
 */
export async function checkpointNode(
  lib: ImageLibrary,
  root: string,
  ref: LabRef,
  nodeName: string,
  name: string,
  op: OpContext,
): Promise<ImageRecord> {
  if (op.signal?.aborted) throw new LabError('cancelled', 'cancelled before it began', { hint: 'run it again' });
  assertSafeImageName(name);
  if (lib.images.find(name))
    throw new ImageError('exists', `the library already has an image "${name}"`, {
      hint: `pick another --name, or remove it first: vmlab images rm ${name}`,
    });
  const state = loadLab(ref);
  const n = nodeOf(state, nodeName);
  const basePath = n.checkpoint?.base.path ?? n.image.path;
  const base = lib.images.list().find((i) => i.path === basePath && i.status === 'ready' && !i.checkpoint);
  if (!base?.sha256 || !base.path) {
    throw new ImageError(
      'bad_input',
      `${n.name} runs on ${basePath}, which is not in the image library: ` +
        "a checkpoint's disk must sit on a library image",
      {
        hint:
          `import it (vmlab images import ${basePath} --name <name>), ` +
          "set the node's vm_image to that name, deploy again and checkpoint then",
      },
    );
  }
  const final = join(imagesDir(root), `${name}.qcow2`);
  const part = checkpointPartPath(final); // a kill -9 leaves it to the next library open
  const key = checkpointKeyPath(final);
  const saved = await saveCheckpoint(
    ref,
    n.name,
    part,
    { name: basename(base.path), format: base.format ?? 'qcow2' },
    op.reporter,
  );
  try {
    const sha256 = (await hashFile(part, ['sha256'])).sha256!;
    for (const [from, to] of [
      [state.plan.files.labKey, key],
      [state.plan.files.labKeyPub, `${key}.pub`],
    ] as const) {
      copyFileSync(from, to);
      chmodSync(to, 0o600);
    }
    const facts: CheckpointFacts = {
      format: CHECKPOINT_FORMAT,
      snapshot: CHECKPOINT_SNAPSHOT,
      source: { lab: ref.name, node: n.name },
      created: new Date().toISOString(),
      saved: saved.saved,
      base: { name: base.name, sha256: base.sha256, format: base.format ?? 'qcow2' },
      user: n.credentials.user,
      hostname: n.name,
    };
    renameSync(part, final);
    return lib.addCheckpoint({
      name,
      kind: 'qcow2',
      source_type: 'checkpoint',
      source: `${ref.name}/${n.name}`,
      format: 'qcow2',
      sha256,
      path: final,
      status: 'ready',
      virtual_size: base.virtual_size,
      actual_size: statSync(final).size,
      os_family: base.os_family,
      os_distro: base.os_distro,
      os_version: base.os_version,
      os_arch: base.os_arch,
      default_user: base.default_user,
      cloud_init: base.cloud_init,
      checkpoint: JSON.stringify(facts),
    });
  } catch (err) {
    for (const f of [part, final, key, `${key}.pub`]) rmSync(f, { force: true });
    throw err;
  }
}
