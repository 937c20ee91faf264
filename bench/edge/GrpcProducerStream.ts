import type { Event } from '../../lib/contract/loadContract.js';
import { LinkSender } from '../../lib/flow/LinkSender.js';
import { LinkClosedError } from '../../lib/flow/linkErrors.js';
import { Outcome, type Ds, type EventLedger } from './EventLedger.js';
import type { ClassName, KeyName } from './traffic.js';

/**
 * One producer of the gateway's gRPC ingest: a Flow link of its own (`authorization: Bearer` of its
 * key, `x-priority-class` of its one class). Events offered wait in a bounded backlog and go out as
 * the link's credit lets them; one that finds the backlog full is dropped there (the producer's
 * own shedding: the ingest never refuses). A send's events are admitted once acknowledged; if the
 * link resets first they go back to the front of the backlog, to be sent again, and count as refused.
 */
export class GrpcProducerStream {
  readonly sender: LinkSender;
  #events: Event[] = [];
  #numbers: number[] = [];
  #head = 0;
  #unacknowledged = 0;
  #wake: (() => void) | undefined;
  #closed = false;
  /** Events whose send or acknowledgement failed (each sent again). */
  refused = 0;
  resets = 0;
  readonly #loop: Promise<void>;

  constructor(
    target: string,
    token: string,
    readonly key: KeyName,
    readonly priority: ClassName,
    private readonly ledger: EventLedger,
    private readonly now: () => Ds,
    private readonly maxBacklog: number,
    private readonly maxBatch: number,
  ) {
    this.sender = new LinkSender({
      target, link: `producer->gateway`, sender: `edge-bench-${key}-${priority}`,
      metadata: { authorization: `Bearer ${token}`, 'x-priority-class': priority },
    });
    this.sender.on('reset', () => { this.resets += 1; });
    this.#loop = this.#run();
  }

  get backlog(): number { return this.#events.length - this.#head; }

  /** Nothing waiting to be sent nor to be acknowledged. */
  get idle(): boolean { return this.backlog === 0 && this.#unacknowledged === 0; }

  /** Takes `events` (numbered `numbers` in the ledger) into the backlog, up to its bound; the rest are dropped. */
  offer(events: Event[], numbers: number[]): void {
    const room = Math.max(0, this.maxBacklog - this.backlog);
    const at = this.now();
    for (let i = room; i < events.length; i += 1) this.ledger.settle(numbers[i]!, Outcome.dropped, at);
    if (room === 0) return;
    this.#events.push(...(room < events.length ? events.slice(0, room) : events));
    this.#numbers.push(...(room < numbers.length ? numbers.slice(0, room) : numbers));
    this.#wake?.();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    this.sender.cancel();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      if (this.backlog === 0) {
        await new Promise<void>((resolve) => { this.#wake = resolve; });
        this.#wake = undefined;
        continue;
      }
      const count = Math.min(this.backlog, this.maxBatch);
      const events = this.#events.slice(this.#head, this.#head + count);
      const numbers = this.#numbers.slice(this.#head, this.#head + count);
      this.#head += count;
      if (this.#head > 50_000) this.#compact();
      this.#unacknowledged += count;
      try {
        const sent = await this.sender.send(events);
        sent.acknowledged.then(() => {
          this.#unacknowledged -= count;
          const at = this.now();
          for (const number of numbers) this.ledger.settle(number, Outcome.admitted, at);
        }, () => this.#again(events, numbers));
      } catch (error) {
        if (error instanceof LinkClosedError || this.#closed) { this.#unacknowledged -= count; return; }
        this.#again(events, numbers);
      }
    }
  }

  /** Not in the intake for certain: back to the front of the backlog, to be sent on the next connection. */
  #again(events: Event[], numbers: number[]): void {
    this.#unacknowledged -= events.length;
    // Cancelled at the end of the run, once drained: not a refusal of the ingest's.
    if (this.#closed) return;
    this.refused += events.length;
    this.#compact();
    this.#events.unshift(...events);
    this.#numbers.unshift(...numbers);
    this.#wake?.();
  }

  #compact(): void {
    this.#events = this.#events.slice(this.#head);
    this.#numbers = this.#numbers.slice(this.#head);
    this.#head = 0;
  }
}
