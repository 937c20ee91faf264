import type { Event } from '../../lib/contract/loadContract.js';

export const BATCH_SIZE = 100;
const POOL_BATCHES = 100;
const KINDS = ['view', 'view', 'view', 'view', 'view', 'click', 'click', 'cart', 'purchase'];
const FIRST_EVENT_TIME_MS = 1_718_000_000_000;

/** mulberry32: seeded, so every process builds the very same events and all modes send the same bytes. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Events as the source sends them to enrichment: intake fields set, no profile or product yet. */
export function buildEventBatches(): Event[][] {
  const random = seededRandom(42);
  const integer = (below: number) => Math.floor(random() * below);
  const hex = (digits: number) => Array.from({ length: digits }, () => integer(16).toString(16)).join('');
  const batches: Event[][] = [];
  for (let batch = 0; batch < POOL_BATCHES; batch += 1) {
    const events: Event[] = [];
    for (let index = 0; index < BATCH_SIZE; index += 1) {
      const eventTimeMs = FIRST_EVENT_TIME_MS + (batch * BATCH_SIZE + index) * 7;
      const acceptedAtMs = eventTimeMs + 5 + integer(200);
      events.push({
        id: `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`,
        userId: `u-${100_000 + integer(900_000)}`,
        itemId: `sku-${String(integer(50_000)).padStart(6, '0')}`,
        kind: KINDS[integer(KINDS.length)],
        eventTimeMs,
        priceCents: 199 + integer(49_800),
        acceptedAtMs,
        intakeId: `${acceptedAtMs}-${index}`,
      });
    }
    batches.push(events);
  }
  return batches;
}
