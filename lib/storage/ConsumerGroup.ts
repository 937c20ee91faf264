import type { Breaker } from '../breaker.js';
import { runPipeline, type Redis } from './redis.js';

/** An entry of the stream as it was appended: its fields and values, alternating. */
export interface StreamEntry<Value extends string | Buffer> {
  id: string;
  fields: Value[];
}

/** What a read of the pending entries found, and where the next page of them starts (none: no more). */
export interface PendingPage<Value extends string | Buffer> {
  entries: Array<StreamEntry<Value>>;
  lastId: string | undefined;
}

export interface NewEntriesOptions {
  signal?: AbortSignal;
  /** Called before each attempt: one that fails may have taken entries whose reply never arrived. */
  onAttempt?: () => void;
  /** While the breaker probes, answer at once: a probe that waits for entries keeps it from closing for up to blockMs. */
  noWaitWhileProbing?: boolean;
}

interface Encoded { strings: string; buffers: Buffer }
type Reply<Value> = Array<[Value, Array<[Value, Value[] | null]>]> | null;

/**
 * One consumer of a Redis Stream's consumer group, for a reader that keeps what it read pending
 * until it is done with it, and after a restart or a failure reads its pending entries again
 * before new ones. Every call goes through `breaker` and holds while Redis is down.
 */
export class ConsumerGroup {
  constructor(
    private readonly redis: Redis,
    /** A connection of its own: a blocking read would stall every other call on a shared one. */
    private readonly blockingRedis: Redis,
    private readonly breaker: Breaker,
    readonly key: string,
    readonly group: string,
    readonly consumer: string,
  ) {}

  /** Creates the group (and the stream), reading from its start; one that exists is kept. */
  async createGroup(): Promise<void> {
    await this.breaker.hold('XGROUP CREATE', async () => {
      try {
        await this.redis.xgroup('CREATE', this.key, this.group, '0', 'MKSTREAM');
      } catch (error) {
        if (!String(error).includes('BUSYGROUP')) throw error;
      }
    });
  }

  /** Entries delivered to this consumer and not yet removed, after `afterId` ('0': from the first). */
  async readPending(afterId: string, count: number, signal?: AbortSignal): Promise<PendingPage<string>> {
    return pageOf(await this.breaker.hold('XREADGROUP', () => this.#read(this.redis, 'strings', count, undefined, afterId), { signal }));
  }

  async readPendingBuffers(afterId: string, count: number, signal?: AbortSignal): Promise<PendingPage<Buffer>> {
    return pageOf(await this.breaker.hold('XREADGROUP', () => this.#read(this.redis, 'buffers', count, undefined, afterId), { signal }));
  }

  /** Entries never delivered to any consumer, waiting up to `blockMs` for some. */
  async readNew(count: number, blockMs: number, options: NewEntriesOptions = {}): Promise<Array<StreamEntry<string>>> {
    return pageOf(await this.#readNew('strings', count, blockMs, options)).entries;
  }

  async readNewBuffers(count: number, blockMs: number, options: NewEntriesOptions = {}): Promise<Array<StreamEntry<Buffer>>> {
    return pageOf(await this.#readNew('buffers', count, blockMs, options)).entries;
  }

  /** Done with for good: gone from the group and from the stream. */
  async remove(ids: string[]): Promise<void> {
    await this.breaker.hold('XACK XDEL', () => runPipeline(this.redis.pipeline().xack(this.key, this.group, ...ids).xdel(this.key, ...ids)));
  }

  #readNew<Encoding extends keyof Encoded>(encoding: Encoding, count: number, blockMs: number, { signal, onAttempt, noWaitWhileProbing = false }: NewEntriesOptions): Promise<Reply<Encoded[Encoding]>> {
    return this.breaker.hold('XREADGROUP', () => {
      onAttempt?.();
      const waitMs = noWaitWhileProbing && this.breaker.state !== 'closed' ? undefined : blockMs;
      return this.#read(this.blockingRedis, encoding, count, waitMs, '>');
    }, { signal });
  }

  #read<Encoding extends keyof Encoded>(connection: Redis, encoding: Encoding, count: number, blockMs: number | undefined, from: string): Promise<Reply<Encoded[Encoding]>> {
    const { group, consumer, key } = this;
    if (encoding === 'buffers') {
      return (blockMs === undefined
        ? connection.xreadgroupBuffer('GROUP', group, consumer, 'COUNT', count, 'STREAMS', key, from)
        : connection.xreadgroupBuffer('GROUP', group, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', key, from)) as Promise<Reply<Encoded[Encoding]>>;
    }
    return (blockMs === undefined
      ? connection.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', key, from)
      : connection.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', key, from)) as Promise<Reply<Encoded[Encoding]>>;
  }
}

function pageOf<Value extends string | Buffer>(reply: Reply<Value>): PendingPage<Value> {
  const read = reply?.[0]?.[1] ?? [];
  const entries: Array<StreamEntry<Value>> = [];
  // A pending entry deleted meanwhile comes back with no fields.
  for (const [id, fields] of read) if (fields && fields.length >= 2) entries.push({ id: id.toString(), fields });
  return { entries, lastId: read.at(-1)?.[0].toString() };
}
