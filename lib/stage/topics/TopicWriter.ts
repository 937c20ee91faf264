import { EventEmitter } from 'node:events';
import type { Breaker } from '../../breaker.js';
import { flowService, type Event } from '../../contract/loadContract.js';
import type { SendResult, SenderStats } from '../../flow/LinkSender.js';
import type { Redis } from '../../storage/redis.js';
import type { Downstream } from '../Downstream.js';
import { unlimitedCredit } from '../meshMode.js';

const encodeFrame = flowService.Exchange.requestSerialize;

/**
 * The decoupled mode's downstream: each batch is appended to the next stage's
 * topic (a Redis Stream, one entry per batch, holding the Batch frame the link
 * would have carried) and counts as acknowledged once it is there. There is no
 * credit: the topic takes whatever comes.
 */
export class TopicWriter extends EventEmitter implements Downstream {
  #sent = 0;
  #acknowledged = 0;

  constructor(private readonly redis: Redis, private readonly breaker: Breaker, private readonly key: string, readonly link: string) {
    super();
  }

  get connected(): boolean { return true; }

  stats(): SenderStats {
    return {
      generation: 1, connected: true, capacity: unlimitedCredit, availableCredit: unlimitedCredit,
      sent: this.#sent, acknowledged: this.#acknowledged, totalSent: this.#sent, creditWaitMs: 0, drainWaitMs: 0,
    };
  }

  async waitForCredit(): Promise<number> { return unlimitedCredit; }

  async send(events: readonly Event[], traceContext: Record<string, string> = {}): Promise<SendResult> {
    const offset = this.#sent;
    const frame = encodeFrame({ batch: { offset, events: events as Event[], traceContext } });
    await this.breaker.hold('XADD', () => this.redis.xadd(this.key, '*', 'b', frame));
    this.#sent += events.length;
    const acknowledged = this.#sent;
    // After the caller has recorded what it sent, as a link's acknowledgement would come.
    setImmediate(() => {
      this.#acknowledged = acknowledged;
      this.emit('ack', { generation: 1, offset: acknowledged });
    });
    return { generation: 1, offset, count: events.length, frames: 1, creditWaitMs: 0, drainWaitMs: 0 };
  }

  async close(): Promise<void> {}
}
