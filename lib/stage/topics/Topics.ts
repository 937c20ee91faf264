import { hostname } from 'node:os';
import type { Breaker } from '../../breaker.js';
import { createRedis, type Redis } from '../../storage/redis.js';
import { TopicReader } from './TopicReader.js';
import { TopicWriter } from './TopicWriter.js';

/** The decoupled mode's topics: one Redis Stream in front of each stage, `<prefix>topic:<stage>`. */
export class Topics {
  readonly #connections: Redis[] = [];
  readonly #readers: TopicReader[] = [];
  #shared: Redis | undefined;

  constructor(private readonly redisUrl: string, private readonly keyPrefix: string, private readonly breaker: Breaker) {}

  key(stage: string): string { return `${this.keyPrefix}topic:${stage}`; }

  /** The writer for `link` ("join->sink"): the topic of the stage it leads to. */
  writer(link: string): TopicWriter {
    const stage = link.split('->').at(-1)!;
    return new TopicWriter(this.#sharedConnection(), this.breaker, this.key(stage), link);
  }

  async reader(stage: string, link = `topic->${stage}`): Promise<TopicReader> {
    const blocking = createRedis(this.redisUrl, { name: `mesh-${stage}-topic-reader` });
    this.#connections.push(blocking);
    const reader = new TopicReader(this.#sharedConnection(), blocking, this.breaker, this.key(stage), stage, `${stage}-${hostname()}`, link);
    await reader.createGroup();
    this.#readers.push(reader);
    return reader;
  }

  close(): void {
    for (const reader of this.#readers) reader.close();
    for (const connection of this.#connections) connection.disconnect();
  }

  #sharedConnection(): Redis {
    if (!this.#shared) {
      this.#shared = createRedis(this.redisUrl, { name: 'mesh-topics' });
      this.#connections.push(this.#shared);
    }
    return this.#shared;
  }
}
