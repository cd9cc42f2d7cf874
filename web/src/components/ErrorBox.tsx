import { ApiError } from '../lib/api.js';

/** An API error as the server worded it: the message, and the hint (the next step) under it. */
export function ErrorBox({ error, onDismiss }: { error: unknown; onDismiss?: () => void }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const hint = error instanceof ApiError ? error.hint : undefined;
  // Each detail keyed by what it says (a repeated one by its repeat's number too).
  const seen = new Map<string, number>();
  const keyOf = (d: { path?: string; message: string }) => {
    const base = `${d.path ?? ''}\n${d.message}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return `${base}\n${n}`;
  };
  return (
    <div className="error" role="alert">
      <strong>{message}</strong>
      {error instanceof ApiError && error.details.length > 1 ? (
        <ul className="details">
          {error.details.map((d) => (
            <li key={keyOf(d)}>
              {d.path ? <code>{d.path}</code> : null} {d.message}
            </li>
          ))}
        </ul>
      ) : null}
      {hint ? <div className="hint">{hint}</div> : null}
      {onDismiss ? (
        <button type="button" className="link" onClick={onDismiss} aria-label="dismiss the error">
          dismiss
        </button>
      ) : null}
    </div>
  );
}
