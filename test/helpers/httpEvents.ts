import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';

export interface WireEvent { id: string; user_id: string; item_id: string; kind: string; event_time: string; price_cents: number }

export function wireEvents(count: number, runId: string, options: { users?: number; products?: number; from?: number } = {}): WireEvent[] {
  const from = options.from ?? 0;
  const now = new Date().toISOString();
  return Array.from({ length: count }, (_, i) => ({
    id: `${runId}-${from + i}`,
    user_id: `user-${((from + i) % (options.users ?? 200)) + 1}`,
    item_id: `item-${((from + i) % (options.products ?? 100)) + 1}`,
    kind: ['view', 'click', 'cart', 'purchase'][(from + i) % 4]!,
    event_time: now,
    price_cents: 100 + ((from + i) % 50),
  }));
}

export async function postEvents(gatewayUrl: string, body: string, contentType = 'application/json'): Promise<{ status: number; body: any; retryAfter: string | null }> {
  const response = await fetch(`${gatewayUrl}/v1/events`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: response.status, body: await response.json().catch(() => undefined), retryAfter: response.headers.get('retry-after') };
}

/** Posts until accepted, honouring 429's Retry-After (capped) as a polite client does; resolves with the number of 429s seen. */
export async function postUntilAccepted(gatewayUrl: string, events: WireEvent[], maxWaitMs = 500): Promise<number> {
  let rejected = 0;
  for (;;) {
    const answer = await postEvents(gatewayUrl, JSON.stringify(events));
    if (answer.status === 202) return rejected;
    if (answer.status !== 429 && answer.status !== 503) throw new Error(`gateway answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    rejected += 1;
    await sleep(Math.min(maxWaitMs, Number(answer.retryAfter ?? 1) * 1000));
  }
}

/** Posts `events` (until accepted) and waits, up to `timeoutMs`, until all are committed; resolves with how many were. */
export async function postAndAwaitCommit(gatewayUrl: string, pool: pg.Pool, events: WireEvent[], timeoutMs = 20_000): Promise<number> {
  await postUntilAccepted(gatewayUrl, events);
  const deadline = Date.now() + timeoutMs;
  const ids = events.map((event) => event.id);
  let committed = 0;
  while (Date.now() < deadline && committed < events.length) {
    committed = Number((await pool.query<{ count: string }>('SELECT count(*) FROM events WHERE id = ANY($1)', [ids])).rows[0]!.count);
    if (committed < events.length) await sleep(100);
  }
  return committed;
}
