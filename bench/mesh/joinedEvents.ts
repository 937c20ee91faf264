import type { Event__Output } from '../../lib/contract/loadContract.js';
import { productOf, profileOf } from '../../tools/seed.js';
import { EventFactory, newRunId } from '../loadgen/eventFactory.js';

/**
 * Events as the sink receives them from the mesh: what the load generator posts, with the intake
 * time the source stamps, the profile enrichment adds and the product the join adds (the seeded ones).
 */
export class JoinedEventFactory {
  private readonly posted: EventFactory;
  private intakeSequence = 0;

  constructor(users: number, products: number) {
    this.posted = new EventFactory(newRunId(), users, products);
  }

  batch(size: number): Event__Output[] {
    const nowMs = Date.now();
    return this.posted.batch(size, new Date(nowMs)).map((event) => ({
      id: event.id,
      userId: event.user_id,
      itemId: event.item_id,
      kind: event.kind,
      eventTimeMs: Date.parse(event.event_time),
      priceCents: event.price_cents,
      acceptedAtMs: nowMs,
      intakeId: `${nowMs}-${this.intakeSequence++}`,
      profile: { found: true, degraded: false, ...profileOf(indexIn(event.user_id)) },
      product: { found: true, ...productWithoutId(indexIn(event.item_id)) },
      deadLetter: null,
      priorityClass: '',
      producerKey: '',
    }));
  }
}

/** 17 of "user-17" or "item-17". */
function indexIn(id: string): number {
  return Number(id.slice(id.lastIndexOf('-') + 1));
}

function productWithoutId(index: number): { name: string; category: string; listPriceCents: number } {
  const { name, category, priceCents } = productOf(index);
  return { name, category, listPriceCents: priceCents };
}
