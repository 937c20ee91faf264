import { asDeadLetter, eventRejection } from '../../lib/contract/eventRules.js';
import { DrainRate } from '../../lib/flow/DrainRate.js';
import type { Event__Output } from '../../lib/contract/loadContract.js';
import type { InboundLinks } from '../../lib/stage/InboundLinks.js';
import { carrierOf, contextOf, endFailed, startProcessSpan } from '../../lib/telemetry/batchSpans.js';
import type { Intake } from './Intake.js';

/** The upstream may be someone else's gateway: an event that breaks the rules goes on as a dead letter of the source. */
function checked(event: Event__Output, acceptedAtMs: number): Event__Output {
  const reason = event.deadLetter ? undefined : eventRejection(event);
  const accepted = { ...event, acceptedAtMs: event.acceptedAtMs || acceptedAtMs };
  return reason ? asDeadLetter(accepted, 'source', reason) : accepted;
}

/**
 * Gateway → intake. Takes from the gateway's links only while the intake has
 * room, so the gateway's credit stops exactly when the intake is full; each
 * delivery is acknowledged once it is in the stream.
 */
export class IntakeWriter {
  #length: number;
  #wakeForRoom: (() => void) | undefined;
  #bound: number;
  readonly drain = new DrainRate();

  /**
   * `sizing`: with a latency share, the intake is held to what the mesh removes from it in that
   * many milliseconds (at least `minLength`, at most `maxLength`), measured as entries leave it.
   */
  constructor(
    private readonly intake: Intake,
    private readonly inbound: InboundLinks,
    readonly maxLength: number,
    currentLength: number,
    private readonly sizing: { latencyShareMs: number; minLength: number } = { latencyShareMs: 0, minLength: maxLength },
  ) {
    this.#length = currentLength;
    this.#bound = maxLength;
  }

  get length(): number { return this.#length; }

  /** The most the intake may hold now: its configured bound, or less when sized by time. */
  get bound(): number { return this.#bound; }

  /** Sets the bound from the drain rate measured since the last call: what drains in the latency share. */
  resize(nowMs = performance.now()): void {
    this.drain.backlog(this.#length > 0, nowMs);
    const rate = this.drain.sample(nowMs);
    if (!this.sizing.latencyShareMs || rate === undefined) return;
    const wanted = Math.round((rate * this.sizing.latencyShareMs) / 1_000);
    this.#bound = Math.min(this.maxLength, Math.max(this.sizing.minLength, wanted));
    if (this.#length < this.#bound) this.#wake();
  }

  /**
   * The intake's length as Redis counts it: with several sources sharing the intake, each sees
   * the others' appends and removals only this way, so the bound holds across them to within what
   * they append between two readings.
   */
  resync(length: number): void {
    this.#length = length;
    if (length < this.#bound) this.#wake();
  }

  /** Entries left the intake (acknowledged end to end). */
  removed(count: number): void {
    this.drain.taken(count);
    this.#length -= count;
    this.#wake();
  }

  #wake(): void {
    const wake = this.#wakeForRoom;
    this.#wakeForRoom = undefined;
    wake?.();
  }

  async run(maxBatchEvents: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.drain.backlog(this.#length > 0);
      const room = this.#bound - this.#length;
      if (room <= 0) {
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          this.#wakeForRoom = () => { signal.removeEventListener('abort', stop); resolve(); };
          signal.addEventListener('abort', stop, { once: true });
        });
        continue;
      }
      const delivery = await this.inbound.next(Math.min(room, maxBatchEvents), signal);
      if (!delivery) continue;
      const acceptedAtMs = Date.now();
      const { span, context } = startProcessSpan('source', contextOf(delivery.traceContext), { link: delivery.link, events: delivery.events.length });
      try {
        const events = delivery.events.map((event) => checked(event, acceptedAtMs));
        await this.intake.append(events, carrierOf(span), context);
        span.end();
      } catch (error) {
        endFailed(span, error);
        throw error;
      }
      this.#length += delivery.events.length;
      delivery.acknowledge();
    }
  }
}
