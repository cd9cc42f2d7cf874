import { createReadStream } from 'node:fs';
import { homedir } from 'node:os';
import { captureOnHost, type LineSinks, type RemoteOptions } from '../lab/lifecycle/allHosts.js';
import { LabError } from '../lab/labError.js';
import { resolveLab } from '../plan/planLab.js';
import { LIBRARY_PREFIX } from '../plan/resolveNode.js';
import type { Spec } from '../spec/loadSpec.js';
import type { StoreHandle } from '../store/database.js';
import { ImageStore } from '../store/imageStore.js';

/** Library image names each host's nodes use. */
function namesByHost(spec: Spec): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const n of resolveLab(spec, homedir())) {
    if (!n.host || !n.image.path.startsWith(LIBRARY_PREFIX)) continue;
    if (!out.has(n.host)) out.set(n.host, new Set());
    out.get(n.host)!.add(n.image.path.slice(LIBRARY_PREFIX.length));
  }
  return out;
}

/**
 * Before an --all-hosts deploy: every library image a host's nodes use must
 * be in that host's library with the same sha256 as here. A host that lacks
 * one gets it copied from this library over the same SSH connection and
 * imported there with `--checksum sha256:…` (so it is verified on arrival);
 * one that this library lacks too is pulled there from the catalog. A host
 * holding a different image under the same name is an error, not
 * overwritten.
 */
export async function syncHostImages(
  spec: Spec,
  handle: StoreHandle,
  opts: RemoteOptions,
  sinks: LineSinks,
): Promise<void> {
  const wanted = namesByHost(spec);
  if (!wanted.size) return;
  const local = handle.exists() ? new ImageStore(handle.db()) : undefined;
  for (const [host, names] of wanted) {
    const entry = spec.hosts[host]!;
    for (const name of names) {
      const mine = local?.find(name);
      const there = await captureOnHost(entry, [opts.bin, 'images', 'show', name, '--json'], opts);
      const theirs = there.code === 0 ? (JSON.parse(there.stdout) as { sha256?: string | null }).sha256 : undefined;
      if (there.code === 255)
        throw new LabError('host_unreachable', `cannot reach host ${host} over SSH: ${there.stderr.trim()}`, {
          hint: 'check the address in vmlab.hosts, VMLAB_SSH_CONFIG and your keys',
        });
      if (theirs && mine?.sha256 && theirs === mine.sha256) continue;
      if (theirs && mine?.sha256) {
        throw new LabError(
          'image_differs',
          `host ${host} has a different image named "${name}" ` +
            `(sha256 ${theirs.slice(0, 12)}…, here ${mine.sha256.slice(0, 12)}…)`,
          {
            hint:
              `remove it there (vmlab images rm ${name}, on ${host}) and deploy again, ` +
              'or give the image another name',
          },
        );
      }
      if (theirs) continue; // not in this library: nothing to compare with
      if (mine?.status !== 'ready' || !mine.path || !mine.sha256) {
        sinks.stderr(`[${host}] image "${name}" missing: pulling it there`);
        const pull = await captureOnHost(entry, [opts.bin, 'images', 'pull', name], opts);
        if (pull.code !== 0)
          throw new LabError(
            'image_missing',
            `host ${host} lacks image "${name}" and could not pull it: ${pull.stderr.trim().split('\n').pop() ?? ''}`,
            { hint: `import it there: vmlab images import <file> --name ${name} (on ${host})` },
          );
        continue;
      }
      sinks.stderr(`[${host}] image "${name}" missing: copying it there (sha256 ${mine.sha256.slice(0, 12)}…)`);
      // One connection: receive into a temp file, import it verified, remove the temp file.
      const script = 'f=$(mktemp -t vmlab-image.XXXXXX) || exit 1; trap \'rm -f "$f"\' EXIT; cat > "$f" && "$@" "$f"';
      const importer = [
        opts.bin,
        'images',
        'import',
        '--name',
        name,
        '--checksum',
        `sha256:${mine.sha256}`,
        ...(mine.os_distro ? ['--os', `${mine.os_distro}${mine.os_version ? `-${mine.os_version}` : ''}`] : []),
      ];
      const copy = await captureOnHost(
        entry,
        ['sh', '-c', script, 'sh', ...importer],
        opts,
        createReadStream(mine.path),
      );
      if (copy.code !== 0)
        throw new LabError(
          'image_copy_failed',
          `copying image "${name}" to host ${host} failed (exit ${copy.code}): ` +
            `${copy.stderr.trim().split('\n').pop() ?? ''}`,
          { hint: `import it there yourself: vmlab images import <file> --name ${name} (on ${host})` },
        );
    }
  }
}
