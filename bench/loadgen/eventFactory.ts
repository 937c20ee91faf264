import { randomBytes } from 'node:crypto';

/** An event as `POST /v1/events` takes it. */
export interface GatewayEvent {
  id: string;
  user_id: string;
  item_id: string;
  kind: 'view' | 'click' | 'cart' | 'purchase';
  event_time: string;
  price_cents: number;
}

// Roughly a shop's funnel: most events are views, few are purchases.
const KINDS_BY_WEIGHT: GatewayEvent['kind'][] = [...Array<'view'>(70).fill('view'), ...Array<'click'>(20).fill('click'), ...Array<'cart'>(7).fill('cart'), ...Array<'purchase'>(3).fill('purchase')];

export function newRunId(): string {
  return randomBytes(4).toString('hex');
}

/** Events over the seeded users and products, with ids `lg-<run id>-<n>` unique within the run. */
export class EventFactory {
  private created = 0;

  constructor(readonly runId: string, private readonly users: number, private readonly products: number) {}

  batch(size: number, now = new Date()): GatewayEvent[] {
    const eventTime = now.toISOString();
    return Array.from({ length: size }, () => ({
      id: `lg-${this.runId}-${this.created++}`,
      user_id: `user-${randomFrom1To(this.users)}`,
      item_id: `item-${randomFrom1To(this.products)}`,
      kind: KINDS_BY_WEIGHT[randomFrom1To(KINDS_BY_WEIGHT.length) - 1]!,
      event_time: eventTime,
      price_cents: randomFrom1To(100_000) - 1,
    }));
  }
}

function randomFrom1To(last: number): number {
  return 1 + Math.floor(Math.random() * last);
}
