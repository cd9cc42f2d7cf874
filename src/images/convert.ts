import { chmod, rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { qemuImgConvert } from '../qemu/untrustedImg.js';
import { ImageError } from './imageError.js';
import { inspectImage, type ImageFormat, type ImageInfo } from './inspect.js';

/** Formats `convertToQcow2` accepts as input (`vpc` is VHD). */
export const CONVERTIBLE_FORMATS = ['qcow2', 'vmdk', 'vpc', 'vhdx', 'raw'] as const;
export type ConvertibleFormat = (typeof CONVERTIBLE_FORMATS)[number];

export interface ConvertOptions {
  /** Called with 0..100 as qemu-img reports progress (`-p`). */
  onProgress?(percent: number): void;
  /** Aborting kills qemu-img and removes the partial output. */
  signal?: AbortSignal;
}

/** Every `(NN.NN/100%)` in a chunk of `qemu-img convert -p` output. */
export function parseProgress(chunk: string): number[] {
  return [...chunk.matchAll(/\((\d+(?:\.\d+)?)\/100%\)/g)].map((m) => Number(m[1]));
}

/**
 * Convert an image to a self-contained qcow2: `qemu-img convert -p -f <fmt>
 * -O qcow2 src dest.part`, then rename to `dest`. The source is inspected
 * first (its bytes must say `srcFormat` and it must name no other file), and
 * the result is inspected again. Returns the facts about `dest`.
 */
export async function convertToQcow2(
  src: string,
  srcFormat: ImageFormat,
  dest: string,
  opts: ConvertOptions = {},
): Promise<ImageInfo> {
  if (!(CONVERTIBLE_FORMATS as readonly string[]).includes(srcFormat)) {
    throw new ImageError(
      'unsupported_format',
      `cannot convert ${src}: ${srcFormat} images are not disk images vmlab converts`,
      { hint: `vmlab converts ${CONVERTIBLE_FORMATS.join(', ')}` },
    );
  }
  const cancelled = () =>
    new ImageError('cancelled', `converting ${src} to qcow2 was cancelled`, {
      hint: 'run the command again to convert it',
    });
  if (opts.signal?.aborted) throw cancelled();

  const source = await inspectImage(src);
  if (source.format !== srcFormat) {
    throw new ImageError('unsafe', `${src} was expected to be ${srcFormat} but its bytes say ${source.format}`, {
      hint: `convert it as ${source.format}, or check that it is the right file`,
    });
  }

  const out = resolve(dest);
  const part = `${out}.part`;
  await rm(part, { force: true });

  let last = -1;
  const r = await qemuImgConvert(resolve(src), srcFormat, part, {
    ...(opts.signal ? { signal: opts.signal } : {}),
    onStdout: (text) => {
      for (const p of parseProgress(text)) {
        if (p !== last) {
          last = p;
          opts.onProgress?.(p);
        }
      }
    },
  });
  const result = { code: r.exitCode, stderr: r.stderr, aborted: r.aborted };

  if (result.aborted) {
    await rm(part, { force: true });
    throw cancelled();
  }
  if (result.code !== 0) {
    await rm(part, { force: true });
    const why = result.stderr.trim().split('\n').slice(-2).join(' ') || `exit code ${result.code}`;
    throw new ImageError('qemu_img', `qemu-img convert of ${src} (${srcFormat}) to qcow2 failed: ${why}`, {
      hint: /ENOENT|spawn/.test(why)
        ? 'install qemu-utils (qemu-img), e.g. with ./install.sh'
        : 'check free disk space next to the destination, and that the source is not damaged',
    });
  }
  await chmod(part, 0o600); // images are private by default
  await rename(part, out);

  let info: ImageInfo;
  try {
    info = await inspectImage(out);
  } catch (err) {
    await rm(out, { force: true });
    throw err;
  }
  if (info.format !== 'qcow2' || info.warnings.length > 0) {
    await rm(out, { force: true });
    throw new ImageError(
      'qemu_img',
      `converting ${src} did not produce a clean qcow2 ` +
        `(${info.format}${info.warnings.length ? '; ' + info.warnings.join('; ') : ''})`,
      { hint: 'report this: qemu-img convert output should always be clean' },
    );
  }
  return info;
}
