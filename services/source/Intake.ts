import type { Breaker } from '../../lib/breaker.js';
import type { StageClock } from '../../lib/telemetry/StageClock.js';
import type { Event } from '../../lib/contract/loadContract.js';
import { ConsumerGroup, type StreamEntry } from '../../lib/storage/ConsumerGroup.js';
import { runPipeline, type Redis } from '../../lib/storage/redis.js';
import type { Context } from '../../lib/telemetry/batchSpans.js';
import { decodeIntakeEntry, intakeEntryFields, storedCount, type IntakeEntry } from './intakeEntry.js';

export type { IntakeEntry } from './intakeEntry.js';

/** The intake's contents in events and in entries: all of it, and of it what was delivered to a consumer and not yet removed. */
export interface IntakeCounts {
  length: number;
  pending: number;
  lengthEntries: number;
  pendingEntries: number;
}

/** Entries a page of the count at start-up reads. */
const countPage = 1_000;

/**
 * The durable intake: a Redis Stream read through a consumer group, one entry
 * per accepted delivery (see intakeEntry), so an entry stays pending until the
 * source deletes it once all its events are committed by the sink.
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

  /** Entries in the stream, and of those the ones delivered to a consumer and not yet removed, as Redis counts them: in entries. */
  async figures(): Promise<{ length: number; pending: number }> {
    return this.breaker.fire('XLEN XPENDING', async () => {
      const [length, pendingSummary] = await runPipeline(this.redis.pipeline().xlen(this.key).xpending(this.key, this.group));
      return { length: length as number, pending: (pendingSummary as [number, ...unknown[]])[0] };
    });
  }

  /**
   * The intake's contents in events, summed over every entry's count: at start-up only, as it reads
   * the whole stream (at most INTAKE_MAX_LENGTH events); afterwards the writer keeps the counts.
   */
  async count(): Promise<IntakeCounts> {
    return this.breaker.hold('XPENDING XRANGE', () => countIntake(this.redis, this.key, this.group));
  }

  /** Appends `events` as one entry, with `traceContext` (sampled batches only: see carrierOf) for the read that continues its trace. */
  async append(events: Event[], traceContext: Record<string, string> = {}, batchTrace?: Context): Promise<string> {
    const fields = intakeEntryFields(events, traceContext.traceparent ? traceContext : {});
    const endCall = this.clock?.begin('dependency');
    return this.breaker.hold('XADD', async () => (await this.redis.xadd(this.key, '*', ...fields))!, { trace: batchTrace }).finally(endCall);
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
      const read = await this.#consumerGroup.readNewBuffers(count, blockMs, { onAttempt: () => { attempts += 1; }, noWaitWhileProbing: true });
      answered = true;
      return read.map(toEntry);
    } finally {
      if (attempts > 1 || !answered) this.#uncertainReads += 1;
    }
  }

  /** Entries delivered to this consumer and not yet deleted, after `afterId`: what a restart or a reset re-delivers. */
  async readPending(afterId: string, count: number): Promise<IntakeEntry[]> {
    return (await this.#consumerGroup.readPendingBuffers(afterId, count)).entries.map(toEntry);
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

  /** Every event of theirs acknowledged end to end: gone from the group and from the stream. */
  remove(ids: string[]): Promise<void> {
    const endCall = this.clock?.begin('dependency');
    return this.#consumerGroup.remove(ids).finally(endCall);
  }
}

function toEntry({ id, fields }: StreamEntry<Buffer>): IntakeEntry {
  return decodeIntakeEntry(id, fields);
}

/** The intake's contents in events and in entries, summed over every entry's count (a whole read of the stream). */
export async function countIntake(redis: Redis, key: string, group: string): Promise<IntakeCounts> {
  const [pendingEntries] = await redis.xpending(key, group) as [number];
  const pendingIds = new Set(pendingEntries > 0
    ? (await redis.xpending(key, group, '-', '+', pendingEntries) as Array<[string, ...unknown[]]>).map(([id]) => id)
    : []);
  const counts: IntakeCounts = { length: 0, pending: 0, lengthEntries: 0, pendingEntries: 0 };
  let from = '-';
  for (;;) {
    const page = await redis.xrangeBuffer(key, from, '+', 'COUNT', countPage);
    for (const [idBytes, fields] of page) {
      const events = storedCount(fields) ?? 1;
      counts.length += events;
      counts.lengthEntries += 1;
      if (pendingIds.has(idBytes.toString())) {
        counts.pending += events;
        counts.pendingEntries += 1;
      }
    }
    if (page.length < countPage) return counts;
    from = `(${page.at(-1)![0].toString()}`;
  }
}
