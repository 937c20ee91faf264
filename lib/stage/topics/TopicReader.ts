import type { Breaker } from '../../breaker.js';
import { flowService } from '../../contract/loadContract.js';
import type { Delivery } from '../../flow/LinkReceiver.js';
import { createLogger } from '../../log.js';
import { createConsumerGroup, type Redis } from '../../storage/redis.js';
import type { InboundLinkFigures } from '../../telemetry/HopPressure.js';
import type { Inbound } from '../Inbound.js';

const decodeFrame = flowService.Exchange.requestDeserialize;
const log = createLogger('topic');
const blockMs = 1_000;

type BufferReply = Array<[Buffer, Array<[Buffer, Buffer[]]>]> | null;

/**
 * The decoupled mode's inbound: a stage's topic, read through a consumer group
 * at the stage's own pace, one batch an entry. An entry is deleted once the
 * stage has passed its batch on (or committed it); after a restart, or a batch
 * that failed, the entries still pending are read again first.
 */
export class TopicReader implements Inbound {
  #taken = 0;
  #entriesRead = 0;
  #offset = 0;
  /** Entries in the topic (each a batch), as last read. */
  #length = 0;
  #replayFrom: string | undefined = '0';
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    /** A connection of its own: the blocking read would stall every other call on a shared one. */
    private readonly blockingRedis: Redis,
    private readonly breaker: Breaker,
    private readonly key: string,
    private readonly group: string,
    private readonly consumer: string,
    readonly link: string,
  ) {
    this.#timer = setInterval(() => {
      this.breaker.fire('XLEN', () => this.redis.xlen(this.key)).then((length) => { this.#length = length; }, () => undefined);
    }, 1_000);
  }

  async createGroup(): Promise<void> {
    await this.breaker.hold('XGROUP CREATE', () => createConsumerGroup(this.redis, this.key, this.group));
  }

  get taken(): number { return this.#taken; }
  get takenByLink(): ReadonlyMap<string, number> { return new Map([[this.link, this.#taken]]); }
  /** Events waiting in the topic: its entries, at the mean size of the batches read so far. */
  get queueDepth(): number {
    return Math.round(this.#length * (this.#entriesRead > 0 ? this.#taken / this.#entriesRead : 1));
  }

  figures(): InboundLinkFigures[] {
    return [{ link: this.link, direction: 'in', sender: 'topic', queue_depth: this.queueDepth, capacity: 0 }];
  }

  async next(_maxEvents: number, signal: AbortSignal): Promise<Delivery | undefined> {
    while (!signal.aborted) {
      const replaying = this.#replayFrom !== undefined;
      const reply = await this.breaker.hold('XREADGROUP', () => (replaying
        ? this.redis.xreadgroupBuffer('GROUP', this.group, this.consumer, 'COUNT', 1, 'STREAMS', this.key, this.#replayFrom!)
        : this.blockingRedis.xreadgroupBuffer('GROUP', this.group, this.consumer, 'COUNT', 1, 'BLOCK', blockMs, 'STREAMS', this.key, '>')) as Promise<BufferReply>, { signal }).catch((error: unknown) => {
        if (signal.aborted) return null;
        throw error;
      });
      const entry = reply?.[0]?.[1]?.[0];
      if (replaying) this.#replayFrom = entry ? entry[0].toString() : undefined;
      // A pending entry deleted meanwhile comes back with no fields.
      if (!entry || entry[1].length < 2) continue;
      return this.#deliver(entry[0].toString(), entry[1][1]!);
    }
    return undefined;
  }

  /** A failed batch: read the pending entries again, from the first. */
  resetAll(details: string): void {
    log.warn('re-reading the pending entries of the topic', { key: this.key, details });
    this.#replayFrom = '0';
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #deliver(id: string, frame: Buffer): Delivery {
    const batch = decodeFrame(frame).batch!;
    const offset = this.#offset;
    this.#offset += batch.events.length;
    this.#taken += batch.events.length;
    this.#entriesRead += 1;
    return {
      link: this.link,
      offset,
      events: batch.events,
      traceContext: batch.traceContext,
      receivedAtMs: Date.now(),
      abandoned: false,
      acknowledge: () => {
        this.breaker.hold('XACK XDEL', async () => {
          const results = await this.redis.pipeline().xack(this.key, this.group, id).xdel(this.key, id).exec();
          const failed = results?.find(([error]) => error);
          if (failed) throw failed[0];
        }).catch((error: unknown) => log.error('could not remove a processed entry; it will be processed again', { id, error: String(error) }));
      },
      reject: (details) => this.resetAll(details),
    };
  }
}
