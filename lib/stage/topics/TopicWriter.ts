import { EventEmitter } from 'node:events';
import type { Breaker } from '../../breaker.js';
import { encodeUpstream } from '../../contract/batchEncoder.js';
import type { Event } from '../../contract/loadContract.js';
import { CreditWindow } from '../../flow/CreditWindow.js';
import { releaseReservation, type Outbound, type OutboundEvents, type OutboundStats, type Reservation, type SendResult } from '../../flow/Outbound.js';
import type { Redis } from '../../storage/redis.js';
import { unlimitedCredit } from '../meshMode.js';

/**
 * The decoupled mode's outbound: each batch is appended to the next stage's
 * topic (a Redis Stream, one entry per batch, holding the Batch frame the link
 * would have carried) and counts as acknowledged once it is there. There is no
 * credit: the topic takes whatever comes, so every reservation is granted whole.
 */
export class TopicWriter extends EventEmitter<OutboundEvents> implements Outbound {
  #sent = 0;
  // Reservations need a window to come from; this one never runs short.
  readonly #window = new CreditWindow();

  constructor(private readonly redis: Redis, private readonly breaker: Breaker, private readonly key: string, readonly link: string) {
    super();
  }

  get connected(): boolean { return true; }

  stats(): OutboundStats {
    return {
      connected: true, capacity: unlimitedCredit, receiverWindow: unlimitedCredit, availableCredit: unlimitedCredit, freeCredit: unlimitedCredit,
      sent: this.#sent, acknowledged: this.#sent, totalSent: this.#sent, creditWaitMs: 0, drainWaitMs: 0,
    };
  }

  async reserve(max: number): Promise<Reservation> { return { events: max, window: this.#window }; }
  tryReserve(count: number): Reservation { return { events: count, window: this.#window }; }
  release(reservation: Reservation, count = reservation.events): void { releaseReservation(reservation, count); }

  async send(events: readonly Event[], traceContext: Record<string, string> = {}): Promise<SendResult> {
    const offset = this.#sent;
    const frame = encodeUpstream({ batch: { offset, events: events as Event[], traceContext } });
    await this.breaker.hold('XADD', () => this.redis.xadd(this.key, '*', 'b', frame));
    this.#sent += events.length;
    return { offset, count: events.length, frames: 1, creditWaitMs: 0, drainWaitMs: 0, acknowledged: Promise.resolve() };
  }

  async close(): Promise<void> {}
}
