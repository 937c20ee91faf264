import type { Event, Event__Output } from '../../lib/contract/loadContract.js';
import { isEventKind, isEventTime, isPrice, kindRule, textProblem } from '../../lib/contract/eventRules.js';

/**
 * The events of a producer's batch as the HTTP edge would take them, or why not: the first event
 * that breaks a field rule (ids within `maxFieldBytes`) or repeats an id of the batch. The fields
 * the mesh sets (accepted time, intake id, profile, product, dead letter, class, key) are the
 * mesh's own: whatever a producer put there is dropped.
 */
export function producerEvents(events: readonly Event__Output[], maxFieldBytes: number): { events: Event[] } | { problem: string } {
  const taken: Event[] = [];
  const seen = new Set<string>();
  for (const [index, event] of events.entries()) {
    const problem = fieldProblem(event, maxFieldBytes) ?? (seen.has(event.id) ? 'id: repeats an earlier event of this batch' : undefined);
    if (problem) return { problem: `event ${index} of the batch: ${problem}` };
    seen.add(event.id);
    taken.push({ id: event.id, userId: event.userId, itemId: event.itemId, kind: event.kind, eventTimeMs: event.eventTimeMs, priceCents: event.priceCents });
  }
  return { events: taken };
}

function fieldProblem(event: Event__Output, maxFieldBytes: number): string | undefined {
  for (const [field, value] of [['id', event.id], ['user_id', event.userId], ['item_id', event.itemId]] as const) {
    const reason = textProblem(value, maxFieldBytes);
    if (reason) return `${field}: ${reason}`;
  }
  if (!isEventKind(event.kind)) return `kind: ${kindRule}`;
  if (!isEventTime(event.eventTimeMs)) return 'event_time_ms: a positive integer of milliseconds since the epoch';
  if (!isPrice(event.priceCents)) return 'price_cents: an integer >= 0';
  return undefined;
}
