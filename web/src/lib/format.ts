/*
 * How sizes, speeds and progress read in the UI. Pure: the root tsc
 * compiles this file for the unit tests too (test/web/).
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB"; null/negative → "—". */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n) || n < 0) return '—';
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${UNITS[i]}`;
}

/** Seconds as "45 s", "3 min 05 s", "1 h 02 min". */
export function formatDuration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec) || sec < 0) return '—';
  const s = Math.round(sec);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

export interface Transfer {
  /** 0 … 1 */
  progress: number;
  bytes: number | null;
  total: number | null;
  bytesPerSec: number | null;
  etaSec: number | null;
}

/** Whole percent, clamped; 99.6 % shows 99 % until the job says it is done. */
export function percent(progress: number): number {
  if (!Number.isFinite(progress)) return 0;
  return Math.max(0, Math.min(100, Math.floor(progress * 100)));
}

/** "42 % · 21 MiB of 50 MiB · 5.0 MiB/s · 6 s left", leaving out what is unknown. */
export function progressLine(t: Transfer): string {
  const parts = [`${percent(t.progress)} %`];
  if (t.bytes !== null)
    parts.push(t.total ? `${formatBytes(t.bytes)} of ${formatBytes(t.total)}` : formatBytes(t.bytes));
  if (t.bytesPerSec !== null && t.bytesPerSec > 0) parts.push(`${formatBytes(t.bytesPerSec)}/s`);
  if (t.etaSec !== null && t.progress < 1) parts.push(`${formatDuration(t.etaSec)} left`);
  return parts.join(' · ');
}

/** The first 12 hex digits of a digest, for tables. */
export const shortSha = (sha: string | null | undefined) => (sha ? sha.slice(0, 12) : '—');
