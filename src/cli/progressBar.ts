/** Bytes as people read them. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

const eta = (s: number | null) =>
  s === null || !Number.isFinite(s)
    ? '--:--'
    : `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(Math.round(s % 60)).padStart(2, '0')}`;

export interface Progress {
  bytes?: number;
  total?: number | null;
  bytesPerSec?: number;
  etaSec?: number | null;
}

/**
 * One progress line for long work on stderr: redrawn in place on a
 * terminal; on a pipe or CI log, a plain line every 10 %.
 */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr) {
  let lastDecile = -1;
  let lastDraw = 0;
  return {
    update(fraction: number, p: Progress = {}) {
      const pct = Math.max(0, Math.min(1, fraction));
      const text =
        `${label} ${(pct * 100).toFixed(0).padStart(3)}%` +
        `${p.bytes !== undefined ? ` ${formatBytes(p.bytes)}${p.total ? ` / ${formatBytes(p.total)}` : ''}` : ''}` +
        `${p.bytesPerSec ? ` ${formatBytes(p.bytesPerSec)}/s` : ''}` +
        `${p.etaSec !== undefined ? ` ETA ${eta(p.etaSec)}` : ''}`;
      if (stream.isTTY) {
        const now = Date.now();
        if (now - lastDraw < 100 && pct < 1) return;
        lastDraw = now;
        const width = 24;
        const filled = Math.round(pct * width);
        stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
      } else {
        const decile = Math.floor(pct * 10);
        if (decile > lastDecile) {
          lastDecile = decile;
          stream.write(text + '\n');
        }
      }
    },
    done() {
      if (stream.isTTY) stream.write('\n');
    },
  };
}
