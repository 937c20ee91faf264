import type { Event } from '../../lib/contract/loadContract.js';
import { EdgeHttpClient } from './EdgeHttpClient.js';
import { Outcome, originCode, type Ds, type EventLedger } from './EventLedger.js';
import { GrpcProducerStream } from './GrpcProducerStream.js';
import { ClassSplitter, classes, keys, protocols, type ClassMix, type ClassName, type KeyName, type Protocol } from './traffic.js';

/** Events per second each key offers over each protocol. */
export type Rates = Record<KeyName, Record<Protocol, number>>;

export interface EdgeLoadOptions {
  gatewayUrl: string;
  ingestAddress: string;
  tokens: Record<KeyName, string>;
  runId: string;
  ledger: EventLedger;
  /** performance.now() of the run's start: the ledger's clock counts from it. */
  startMs: number;
  mix: ClassMix;
  /** Events per HTTP batch (split into one request per class) and per gRPC batch offered (split into the class streams). */
  batch: number;
  /** HTTP requests in flight at most per key; a request due beyond it is dropped by the client. */
  concurrency: number;
  /** Events a gRPC stream sends at most at once, and holds at most waiting for credit. */
  grpcBatch: number;
  grpcBacklog: number;
  users: number;
  products: number;
}

const TICK_MS = 10;

/**
 * The edge benchmark's producers: per key an HTTP client, and per key and class a gRPC producer
 * stream; each key's batches are split by class, so every request and every stream carries one
 * class. Offers open-loop at the rates asked for, numbering every event in the ledger.
 */
export class EdgeLoad {
  readonly http: Record<KeyName, EdgeHttpClient>;
  readonly streams: GrpcProducerStream[] = [];
  readonly #streamOf = new Map<string, GrpcProducerStream>();
  readonly #splitters = new Map<string, ClassSplitter>();
  readonly #due = new Map<string, number>();

  constructor(private readonly options: EdgeLoadOptions) {
    this.http = Object.fromEntries(keys.map((key) => [key, new EdgeHttpClient(options.gatewayUrl, options.tokens[key], options.concurrency)])) as Record<KeyName, EdgeHttpClient>;
    for (const key of keys) {
      for (const priority of classes) {
        const stream = new GrpcProducerStream(options.ingestAddress, options.tokens[key], key, priority, options.ledger, () => this.now(), options.grpcBacklog, options.grpcBatch);
        this.streams.push(stream);
        this.#streamOf.set(`${key}:${priority}`, stream);
      }
      for (const protocol of protocols) this.#splitters.set(`${key}:${protocol}`, new ClassSplitter(options.mix));
    }
  }

  /** The ledger's clock: deciseconds since the run's start. */
  now(): Ds {
    return Math.max(0, Math.round((performance.now() - this.options.startMs) / 100));
  }

  /** Every HTTP request answered and every gRPC event acknowledged. */
  get idle(): boolean {
    return keys.every((key) => this.http[key].inFlight === 0) && this.streams.every((stream) => stream.idle);
  }

  get grpcBacklog(): number { return this.streams.reduce((sum, stream) => sum + stream.backlog, 0); }
  get grpcRefused(): number { return this.streams.reduce((sum, stream) => sum + stream.refused, 0); }
  get grpcResets(): number { return this.streams.reduce((sum, stream) => sum + stream.resets, 0); }
  get grpcConnected(): boolean { return this.streams.every((stream) => stream.sender.connected); }

  /** Offers `ratesAt(seconds since the phase started)` for `durationS`, batch by batch as they fall due. */
  async offer(durationS: number, ratesAt: (elapsedS: number) => Rates, signal: AbortSignal): Promise<void> {
    const startMs = performance.now();
    let lastMs = startMs;
    while (!signal.aborted) {
      const nowMs = performance.now();
      const elapsedS = (nowMs - startMs) / 1000;
      if (elapsedS >= durationS) break;
      const rates = ratesAt(elapsedS);
      const seconds = (nowMs - lastMs) / 1000;
      lastMs = nowMs;
      for (const key of keys) {
        for (const protocol of protocols) {
          const name = `${key}:${protocol}`;
          let due = (this.#due.get(name) ?? 0) + rates[key][protocol] * seconds;
          while (due >= this.options.batch) {
            due -= this.options.batch;
            this.#offerBatch(key, protocol);
          }
          this.#due.set(name, due);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    }
  }

  async close(): Promise<void> {
    for (const key of keys) this.http[key].close();
    await Promise.all(this.streams.map((stream) => stream.close()));
  }

  #offerBatch(key: KeyName, protocol: Protocol): void {
    const counts = this.#splitters.get(`${key}:${protocol}`)!.next(this.options.batch);
    for (const priority of classes) {
      const count = counts[priority];
      if (count === 0) continue;
      const first = this.options.ledger.allocate(count, originCode({ protocol, key, priority }), this.now());
      if (protocol === 'http') this.#post(key, priority, first, count);
      else {
        const numbers = Array.from({ length: count }, (_, i) => first + i);
        this.#streamOf.get(`${key}:${priority}`)!.offer(this.#events(key, 'g', priority, first, count), numbers);
      }
    }
  }

  #post(key: KeyName, priority: ClassName, first: number, count: number): void {
    const { ledger } = this.options;
    const client = this.http[key];
    if (client.inFlight >= client.maxInFlight) return ledger.settleRange(first, count, Outcome.dropped, this.now());
    const eventTime = new Date().toISOString();
    const body = JSON.stringify(this.#events(key, 'h', priority, first, count).map((event) => ({
      id: event.id, user_id: event.userId, item_id: event.itemId, kind: event.kind, event_time: eventTime, price_cents: event.priceCents,
    })));
    void client.post(body, count, priority).then((outcome) => ledger.settleRange(first, count, outcome, this.now()));
  }

  #events(key: KeyName, protocol: 'h' | 'g', priority: ClassName, first: number, count: number): Event[] {
    const { runId, users, products } = this.options;
    const eventTimeMs = Date.now();
    return Array.from({ length: count }, (_, i) => ({
      id: eventId(runId, key, protocol, first + i),
      userId: `user-${1 + Math.floor(Math.random() * users)}`,
      itemId: `item-${1 + Math.floor(Math.random() * products)}`,
      kind: priority,
      eventTimeMs,
      priceCents: Math.floor(Math.random() * 100_000),
    }));
  }
}

/** `e-<run>-<key>-<h|g>-<number>`: the events table tells key, protocol and ledger number apart by split_part(id, '-', 3..5). */
export function eventId(runId: string, key: KeyName, protocol: 'h' | 'g', number: number): string {
  return `e-${runId}-${key}-${protocol}-${number}`;
}
