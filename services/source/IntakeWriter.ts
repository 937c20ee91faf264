import { asDeadLetter, eventRejection } from '../../lib/contract/eventRules.js';
import { DrainRate } from '../../lib/flow/DrainRate.js';
import { timeSizedWindow } from '../../lib/flow/timeSizedWindow.js';
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
 *
 * The intake holds two things: entries not yet read (the queue) and entries
 * read and on their way through the mesh, not yet acknowledged end to end.
 * `maxLength` bounds both, as memory; sized by time, the queue is also held to
 * what the mesh reads in the latency share. What is on its way is bounded by
 * the links' own windows, and holding it to a time would only cap the mesh's
 * throughput at that time's worth of its round trip.
 */
export class IntakeWriter {
  #length: number;
  #unread: number;
  #wakeForRoom: (() => void) | undefined;
  #window: number;
  readonly drain = new DrainRate();

  /**
   * `sizing`: with a latency share, the unread entries are held to what the mesh reads in that
   * many milliseconds (at least `minWindow`), the rate measured as entries leave the intake.
   */
  constructor(
    private readonly intake: Intake,
    private readonly inbound: InboundLinks,
    readonly maxLength: number,
    current: { length: number; pending: number },
    private readonly sizing: { latencyShareMs: number; minWindow: number } = { latencyShareMs: 0, minWindow: maxLength },
  ) {
    this.#length = current.length;
    this.#unread = Math.max(0, current.length - current.pending);
    this.#window = maxLength;
  }

  get length(): number { return this.#length; }

  /** Entries appended and not yet read by a source. */
  get unread(): number { return this.#unread; }

  /** The most entries the intake may hold unread now: its bound, or less when sized by time. */
  get window(): number { return this.#window; }

  /** Sets the window from the drain rate measured since the last call: what is read in the latency share. */
  resize(nowMs = performance.now()): void {
    this.drain.backlog(this.#length > 0);
    const rate = this.drain.sample(nowMs);
    if (!this.sizing.latencyShareMs || rate === undefined) return;
    this.#window = timeSizedWindow({ perSecond: rate, shareMs: this.sizing.latencyShareMs, min: this.sizing.minWindow, max: this.maxLength });
    if (this.#room() > 0) this.#wake();
  }

  /**
   * The intake's length and pending entries as Redis counts them: with several sources sharing the
   * intake, each sees the others' appends, reads and removals only this way, so the bounds hold across
   * them to within what they append between two readings.
   */
  resync(length: number, pending: number): void {
    this.#length = length;
    this.#unread = Math.max(0, length - pending);
    if (this.#room() > 0) this.#wake();
  }

  /** A source read entries it had not read before. */
  read(count: number): void {
    this.#unread = Math.max(0, this.#unread - count);
    this.#wake();
  }

  /** Entries left the intake (acknowledged end to end). */
  removed(count: number): void {
    this.drain.taken(count);
    this.#length -= count;
    // What left was read, whether or not this source was told.
    this.#unread = Math.min(this.#unread, this.#length);
    this.#wake();
  }

  #room(): number {
    return Math.min(this.maxLength - this.#length, this.#window - this.#unread);
  }

  #wake(): void {
    const wake = this.#wakeForRoom;
    this.#wakeForRoom = undefined;
    wake?.();
  }

  async run(maxBatchEvents: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.drain.backlog(this.#length > 0);
      const room = this.#room();
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
      this.#unread += delivery.events.length;
      delivery.acknowledge();
    }
  }
}
