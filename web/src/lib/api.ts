import { authHeader } from './session.js';

/**
 * The one API client. The tab's token goes with every request as a
 * Bearer header (see session.ts); an error answer becomes an ApiError carrying the server's
 * message and hint, which the UI shows as they are.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
    /** For 422: each problem with where it is (a spec's file and JSON path). */
    readonly details: Array<{ path?: string; message: string }> = [],
  ) {
    super(message);
  }
}

export const API = '/api/v1';

function detailsOf(d: unknown): Array<{ path?: string; message: string }> {
  if (!Array.isArray(d)) return [];
  return d
    .filter(
      (x): x is { path?: unknown; file?: unknown; message: string } =>
        Boolean(x) && typeof (x as { message?: unknown }).message === 'string',
    )
    .map((x) => ({
      message: x.message,
      ...(typeof x.path === 'string' || typeof x.file === 'string'
        ? { path: [x.file, x.path].filter((v) => typeof v === 'string' && v).join(': ') }
        : {}),
    }));
}

export async function errorOf(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as {
      error?: { code?: string; message?: string; hint?: string; details?: unknown };
    };
    if (body.error?.message)
      return new ApiError(
        res.status,
        body.error.code ?? 'error',
        body.error.message,
        body.error.hint,
        detailsOf(body.error.details),
      );
  } catch {
    // not JSON: a proxy or a crash page
  }
  return new ApiError(
    res.status,
    'http_error',
    `the server answered ${res.status} ${res.statusText}`,
    'is vmlab serve still running?',
  );
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(API + path, {
      method: init.method ?? 'GET',
      credentials: 'omit',
      headers: { ...authHeader(), ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  } catch {
    throw new ApiError(
      0,
      'unreachable',
      'the vmlab server does not answer',
      'is vmlab serve still running? Reload once it is.',
    );
  }
  if (!res.ok) throw await errorOf(res);
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const enc = encodeURIComponent;

/**
 * A URL for a WebSocket or an EventSource, which cannot send the token:
 * with a single-use ticket (30 s) got with it. `path` is under /api/v1.
 */
export async function withTicket(path: string): Promise<string> {
  const { ticket } = await api<{ ticket: string }>('/tickets', { method: 'POST' });
  return `${API}${path}${path.includes('?') ? '&' : '?'}ticket=${encodeURIComponent(ticket)}`;
}
