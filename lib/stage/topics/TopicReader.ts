import type { Breaker } from '../../breaker.js';
import { decodeUpstream } from '../../contract/batchDecoder.js';
import type { Delivery } from '../../flow/LinkReceiver.js';
import { createLogger } from '../../log.js';
import { ConsumerGroup, type StreamEntry } from '../../storage/ConsumerGroup.js';
import type { Redis } from '../../storage/redis.js';
import type { InboundLinkFigures } from '../../telemetry/HopPressure.js';
import type { Inbound } from '../Inbound.js';

const log = createLogger('topic');
const blockMs = 1_000;
/** Entries read at once, as a consumer polls many records: the most a reader holds beyond what it processes. */
const readCount = 16;

/**
 * The decoupled mode's inbound: a stage's topic, read through a consumer group
 * at the stage's own pace, one batch an entry, a few entries a read. An entry is deleted once the
 * stage has passed its batch on (or committed it); after a restart, or a batch
 * that failed, the entries still pending are read again first.
 */
export class TopicReader implements Inbound {
  #taken = 0;
  #entriesRead = 0;
  /** Entries in the topic (each a batch), as last read. */
  #length = 0;
  #replayFrom: string | undefined = '0';
  readonly #buffered: Array<{ id: string; batch: ReturnType<typeof decodeUpstream>['batch'] & object }> = [];
  readonly #timer: NodeJS.Timeout;
  readonly #consumerGroup: ConsumerGroup;

  constructor(
    redis: Redis,
    /** A connection of its own: the blocking read would stall every other call on a shared one. */
    blockingRedis: Redis,
    breaker: Breaker,
    private readonly key: string,
    group: string,
    consumer: string,
    readonly link: string,
  ) {
    this.#consumerGroup = new ConsumerGroup(redis, blockingRedis, breaker, key, group, consumer);
    this.#timer = setInterval(() => {
      breaker.fire('XLEN', () => redis.xlen(key)).then((length) => { this.#length = length; }, () => undefined);
    }, 1_000);
  }

  createGroup(): Promise<void> {
    return this.#consumerGroup.createGroup();
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

  async next(maxEvents: number, signal: AbortSignal): Promise<Delivery | undefined> {
    while (!signal.aborted) {
      if (this.#buffered.length > 0) return this.#deliver(maxEvents);
      const entries = await this.#read(signal).catch((error: unknown) => {
        if (signal.aborted) return [];
        throw error;
      });
      for (const { id, fields } of entries) this.#buffered.push({ id, batch: decodeUpstream(fields[1]!).batch! });
    }
    return undefined;
  }

  /** A failed batch: read the pending entries again, from the first. */
  resetAll(details: string): void {
    log.warn('re-reading the pending entries of the topic', { key: this.key, details });
    this.#buffered.length = 0;
    this.#replayFrom = '0';
  }

  close(): void {
    clearInterval(this.#timer);
  }

  /** The pending entries while replaying them, then new ones. */
  async #read(signal: AbortSignal): Promise<Array<StreamEntry<Buffer>>> {
    if (this.#replayFrom === undefined) return this.#consumerGroup.readNewBuffers(readCount, blockMs, { signal });
    const { entries, lastId } = await this.#consumerGroup.readPendingBuffers(this.#replayFrom, readCount, signal);
    this.#replayFrom = lastId;
    return entries;
  }

  /** Whole entries from the head of what was read, as many as fit in `maxEvents` (at least one), as one delivery. */
  #deliver(maxEvents: number): Delivery {
    const taken = [this.#buffered.shift()!];
    let events = taken[0]!.batch.events.length;
    while (this.#buffered.length > 0 && events + this.#buffered[0]!.batch.events.length <= maxEvents) {
      const next = this.#buffered.shift()!;
      taken.push(next);
      events += next.batch.events.length;
    }
    // One reader is one link: its offsets are the events taken so far.
    const offset = this.#taken;
    this.#taken += events;
    this.#entriesRead += taken.length;
    const ids = taken.map((entry) => entry.id);
    return {
      link: this.link,
      offset,
      events: taken.length === 1 ? taken[0]!.batch.events : taken.flatMap((entry) => entry.batch.events),
      traceContext: taken.find((entry) => Object.keys(entry.batch.traceContext).length > 0)?.batch.traceContext ?? {},
      receivedAtMs: Date.now(),
      abandoned: false,
      acknowledge: () => {
        this.#consumerGroup.remove(ids).catch((error: unknown) => log.error('could not remove processed entries; they will be processed again', { ids: ids.length, error: String(error) }));
      },
      reject: (details) => this.resetAll(details),
    };
  }
}
