/*
 * Network-device disks and their vrnetlab builds, as the Local tab shows
 * them. Pure: the root tsc compiles this file for the unit tests too
 * (test/web/).
 */

/** The `net_device` facts the server stores on a disk image (JSON text), as far as the UI reads them. */
export interface NetDeviceFacts {
  device: string;
  label: string;
  buildable: boolean;
  reason?: string;
  version?: string;
  tag?: string;
}

/** The facts of an image's `net_device` text; undefined when there are none or they do not read. */
export function netDeviceOf(text: string | null | undefined): NetDeviceFacts | undefined {
  if (!text) return undefined;
  let d: unknown;
  try {
    d = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!d || typeof d !== 'object') return undefined;
  const o = d as Record<string, unknown>;
  if (typeof o.device !== 'string' || !o.device) return undefined;
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const reason = str(o.reason);
  const version = str(o.version);
  const tag = str(o.tag);
  return {
    device: o.device,
    label: str(o.label) ?? o.device,
    buildable: o.buildable === true,
    ...(reason ? { reason } : {}),
    ...(version ? { version } : {}),
    ...(tag ? { tag } : {}),
  };
}

/** What a library row offers for a vrnetlab build: the button, why not, or nothing (no device, or no disk). */
export type BuildOffer = { kind: 'button' } | { kind: 'reason'; reason: string } | { kind: 'none' };

export function buildOffer(img: { kind: string; net_device: string | null }): BuildOffer {
  if (img.kind === 'docker') return { kind: 'none' };
  const dev = netDeviceOf(img.net_device);
  if (!dev) return { kind: 'none' };
  if (dev.buildable) return { kind: 'button' };
  return { kind: 'reason', reason: dev.reason ?? 'vrnetlab cannot build this device' };
}

/** A build job's step as shown beside its bar: "docker build 3/7", "make"; '' when none is known. */
export function stepLabel(step: string | null | undefined, n?: number | null, of?: number | null): string {
  if (!step) return '';
  return n && of ? `${step} ${n}/${of}` : step;
}

/** The build job of a disk image still queued or running (so a reload follows it again). */
export function activeBuild<J extends { kind: string; target: string | null; status: string }>(
  imageId: string,
  jobs: readonly J[] | undefined,
): J | undefined {
  return jobs?.find(
    (j) => j.kind === 'build' && j.target === imageId && (j.status === 'queued' || j.status === 'running'),
  );
}
