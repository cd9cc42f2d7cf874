import { percent } from '../lib/format.js';

export function ProgressBar({
  progress,
  label,
  tone,
}: {
  progress: number;
  label: string;
  tone?: 'ok' | 'bad' | 'busy';
}) {
  const pct = percent(progress);
  return (
    <div className="progress">
      <div
        className="bar"
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
        aria-label={label}
      >
        <div className={`fill ${tone ?? 'busy'}`} style={{ width: `${pct}%` }} />
      </div>
      <div className="progress-text">{label}</div>
    </div>
  );
}
