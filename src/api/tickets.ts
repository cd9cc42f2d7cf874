import { randomBytes } from 'node:crypto';

/** How long a ticket may wait for its one use. */
export const TICKET_TTL_MS = 30_000;
/** Outstanding tickets kept at most: a client asking in a loop only pushes out its own oldest. */
const MAX_OUTSTANDING = 1024;

/**
 * Single-use, short-lived stand-ins for the token where a browser cannot
 * send a header: a WebSocket's URL and an EventSource's. A ticket is got
 * with the token (POST /api/v1/tickets, Bearer) and is worth one GET of
 * /api/v1 within 30 s; in a URL it may reach a log or a history, where it
 * is already spent.
 */
export class Tickets {
  private readonly live = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  issue(): { ticket: string; expiresInMs: number } {
    this.sweep();
    while (this.live.size >= MAX_OUTSTANDING) this.live.delete(this.live.keys().next().value!);
    const ticket = randomBytes(24).toString('base64url');
    this.live.set(ticket, this.now() + TICKET_TTL_MS);
    return { ticket, expiresInMs: TICKET_TTL_MS };
  }

  /** True once for a live ticket; it is spent either way. */
  redeem(ticket: string): boolean {
    const until = this.live.get(ticket);
    this.live.delete(ticket);
    return until !== undefined && until >= this.now();
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, until] of this.live) if (until < t) this.live.delete(k);
  }
}
