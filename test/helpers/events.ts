import type { Event } from '../../lib/contract/loadContract.js';

let serial = 0;

/** `count` small valid events with ids unique within this process. */
export function makeEvents(count: number): Event[] {
  return Array.from({ length: count }, () => {
    serial += 1;
    return { id: `e${serial}`, userId: `u${serial % 7}`, itemId: `i${serial % 11}`, kind: 'view', eventTimeMs: 1_700_000_000_000 + serial, priceCents: 100 };
  });
}
