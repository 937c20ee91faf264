import type { Breaker } from '../../lib/breaker.js';
import type { StageClock } from '../../lib/telemetry/StageClock.js';
import type { Event, Event__Output } from '../../lib/contract/loadContract.js';
import { ConsumerGroup, type StreamEntry } from '../../lib/storage/ConsumerGroup.js';
import { runPipeline, type Redis } from '../../lib/storage/redis.js';
import type { Context } from '../../lib/telemetry/batchSpans.js';

export interface IntakeEntry {
  id: string;
  event: Event__Output;
  /** The W3C trace context of the batch that brought it in, so its trace goes on when it is read. */
  traceContext: Record<string, string> | undefined;
}

/**
 * The durable intake: a Redis Stream read through a consumer group, so an
 * entry stays pending until the source deletes it after the sink committed it.
 * Every call goes through the Redis breaker and holds while Redis is down.
 */
export class Intake {
  readonly #consumerGroup: ConsumerGroup;

  constructor(
    private readonly redis: Redis,
    /** A connection of its own: a blocking read would stall every other call on a shared one. */
    blockingRedis: Redis,
    private readonly breaker: Breaker,
    readonly key: string,
    readonly group: string,
    readonly consumer: string,
    /** Where the writes and removals count as the source's work (a call to its own dependency). */
    private readonly clock?: StageClock,
  ) {
    this.#consumerGroup = new ConsumerGroup(redis, blockingRedis, breaker, key, group, consumer);
  }

  createGroup(): Promise<void> {
    return this.#consumerGroup.createGroup();
  }

  length(): Promise<number> {
    return this.breaker.hold('XLEN', () => this.redis.xlen(this.key));
  }

  /** Entries in the stream, and of those the ones delivered to a consumer and not yet removed. */
  async figures(): Promise<{ length: number; pending: number }> {
    return this.breaker.fire('XLEN XPENDING', async () => {
      const [length, pendingSummary] = await runPipeline(this.redis.pipeline().xlen(this.key).xpending(this.key, this.group));
      return { length: length as number, pending: (pendingSummary as [number, ...unknown[]])[0] };
    });
  }

  /** Appends `events`, each keeping `traceContext` (sampled batches only: see carrierOf) for the read that continues its trace. */
  async append(events: Event[], traceContext: Record<string, string> = {}, batchTrace?: Context): Promise<void> {
    const trace = traceContext.traceparent ? JSON.stringify(traceContext) : undefined;
    const endCall = this.clock?.begin('dependency');
    await this.breaker.hold('XADD', async () => {
      const pipeline = this.redis.pipeline();
      for (const event of events) {
        if (trace) pipeline.xadd(this.key, '*', 'e', JSON.stringify(event), 't', trace);
        else pipeline.xadd(this.key, '*', 'e', JSON.stringify(event));
      }
      await runPipeline(pipeline);
    }, { trace: batchTrace }).finally(endCall);
  }

  #uncertainReads = 0;

  /**
   * Reads of new entries of which an attempt failed or timed out: Redis may have delivered
   * entries to this consumer whose reply never arrived (the connection dropped on the way back).
   * Those entries are pending, and only a read of the pending entries (`readPending`) finds them again.
   */
  get uncertainReads(): number { return this.#uncertainReads; }

  /** Entries never delivered to any consumer, waiting up to `blockMs` for some. */
  async readNew(count: number, blockMs: number): Promise<IntakeEntry[]> {
    let attempts = 0;
    let answered = false;
    try {
      const read = await this.#consumerGroup.readNew(count, blockMs, { onAttempt: () => { attempts += 1; }, noWaitWhileProbing: true });
      answered = true;
      return read.map(toEntry);
    } finally {
      if (attempts > 1 || !answered) this.#uncertainReads += 1;
    }
  }

  /** Entries delivered to this consumer and not yet deleted, after `afterId`: what a restart or a reset re-delivers. */
  async readPending(afterId: string, count: number): Promise<IntakeEntry[]> {
    return (await this.#consumerGroup.readPending(afterId, count)).entries.map(toEntry);
  }

  /**
   * Takes over the entries that another source read and has left unacknowledged for `minIdleMs`
   * (it died, or lost its link for good): they become this consumer's pending entries, which its
   * replay re-delivers. Returns how many it took.
   */
  async claimIdle(minIdleMs: number): Promise<number> {
    let claimed = 0;
    let cursor = '0-0';
    do {
      const [next, entries] = await this.breaker.hold('XAUTOCLAIM', () => this.redis.xautoclaim(this.key, this.group, this.consumer, minIdleMs, cursor, 'COUNT', 500, 'JUSTID') as Promise<[string, string[]]>);
      claimed += entries.length;
      cursor = next;
    } while (cursor !== '0-0');
    return claimed;
  }

  /** Acknowledged end to end: gone from the group and from the stream. */
  remove(ids: string[]): Promise<void> {
    const endCall = this.clock?.begin('dependency');
    return this.#consumerGroup.remove(ids).finally(endCall);
  }
}

function toEntry({ id, fields }: StreamEntry<string>): IntakeEntry {
  return { id, event: { ...parseEvent(fields[1]!), intakeId: id }, traceContext: parseTraceContext(fields[3]) };
}

function parseTraceContext(stored: string | undefined): Record<string, string> | undefined {
  if (stored === undefined) return undefined;
  try {
    return JSON.parse(stored) as Record<string, string>;
  } catch {
    return undefined;
  }
}

/** An entry that is not an event still flows on, dead-lettered, so the sink records it and the stream does not block on it. */
function parseEvent(stored: string): Event__Output {
  try {
    return JSON.parse(stored) as Event__Output;
  } catch (error) {
    return {
      id: '', userId: '', itemId: '', kind: '', eventTimeMs: 0, priceCents: 0, acceptedAtMs: 0, intakeId: '', profile: null, product: null,
      deadLetter: { stage: 'source', reason: `intake entry is not a valid event: ${(error as Error).message}` },
    };
  }
}
