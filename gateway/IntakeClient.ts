import type { Event } from '../lib/contract/loadContract.js';
import { LinkClosedError, LinkResetError } from '../lib/flow/linkErrors.js';
import type { Downstream } from '../lib/stage/Downstream.js';
import { endFailed, startSendSpan, type Context } from '../lib/telemetry/batchSpans.js';
import type { StageClock } from '../lib/telemetry/StageClock.js';

/** The mesh has no credit for these events now: answer 429. */
export class NoCreditError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('the mesh is at capacity');
  }
}

/** More events than the intake link can ever hold at once: answer 413. */
export class LargerThanCapacityError extends Error {
  constructor(readonly capacity: number) {
    super(`at most ${capacity} events fit in the intake link at once; send fewer per request`);
  }
}

/** The intake link is down, or it reset before the source confirmed: answer 503 (retrying is safe). */
export class IntakeUnavailableError extends Error {}

interface Submission { events: Event[]; trace: Context; resolve: () => void; reject: (error: Error) => void }
interface AwaitingAck { generation: number; end: number; resolve: () => void; reject: (error: Error) => void }

const drainWindowMs = 5_000;

/**
 * The gateway's side of the gateway → source link. A request is taken only if
 * the link has credit for all of it right now (never queued beyond that), and
 * it is confirmed only when the source acknowledges its events are in the intake.
 */
export class IntakeClient {
  #reserved = 0;
  readonly #queue: Submission[] = [];
  readonly #awaitingAck: AwaitingAck[] = [];
  #sending = false;
  readonly #acked: Array<{ at: number; events: number }> = [];
  #lastAck = 0;

  /** `sender`: the link to the source (or a router over its replicas). `clock`: back-pressured while it has no credit to take a request, busy while requests await the source. */
  constructor(readonly sender: Downstream, private readonly clock?: StageClock) {
    this.sender.on('ack', ({ generation, offset }: { generation: number; offset: number }) => {
      this.#acknowledged(generation, offset);
      this.#updateClock();
    });
    this.sender.on('credit', () => this.#updateClock());
    this.sender.on('reset', ({ generation }: { generation: number }) => {
      const lost = new IntakeUnavailableError('the link to the source reset before it confirmed these events; retrying them is safe');
      for (let i = this.#awaitingAck.length - 1; i >= 0; i -= 1) {
        if (this.#awaitingAck[i]!.generation <= generation) this.#awaitingAck.splice(i, 1)[0]!.reject(lost);
      }
    });
  }

  get connected(): boolean { return this.sender.connected; }

  /** Resolves once the source has the events in its intake; `trace` is the request's context, which the batch's trace continues. */
  submit(events: Event[], trace: Context): Promise<void> {
    if (!this.sender.connected) return Promise.reject(new IntakeUnavailableError('the gateway is not connected to the source'));
    const { availableCredit, capacity } = this.sender.stats();
    // 0 until the first grant arrives, just after Opened: unknown, not small.
    if (capacity > 0 && events.length > capacity) return Promise.reject(new LargerThanCapacityError(capacity));
    const free = availableCredit - this.#reserved;
    if (free < events.length) {
      this.clock?.enter('backpressured');
      return Promise.reject(new NoCreditError(this.#retryAfterSeconds(events.length - Math.max(free, 0))));
    }
    this.#reserved += events.length;
    this.clock?.enter('busy');
    return new Promise((resolve, reject) => {
      this.#queue.push({ events, trace, resolve, reject });
      void this.#sendQueued();
    });
  }

  close(): Promise<void> {
    return this.sender.close('gateway stopping');
  }

  async #sendQueued(): Promise<void> {
    if (this.#sending) return;
    this.#sending = true;
    try {
      for (let next = this.#queue.shift(); next; next = this.#queue.shift()) {
        const { span, carrier } = startSendSpan(next.trace, { link: this.sender.link, events: next.events.length, creditAvailable: this.sender.stats().availableCredit });
        try {
          const sent = await this.sender.send(next.events, carrier);
          span.end();
          this.#awaitingAck.push({ generation: sent.generation, end: sent.offset + sent.count, resolve: next.resolve, reject: next.reject });
        } catch (error) {
          endFailed(span, error);
          const unavailable = error instanceof LinkResetError || error instanceof LinkClosedError;
          next.reject(unavailable ? new IntakeUnavailableError(error.message) : (error as Error));
        } finally {
          this.#reserved -= next.events.length;
        }
      }
    } finally {
      this.#sending = false;
    }
  }

  /** Waiting on credit counts as back-pressure only while there is none; with requests in hand the edge is busy, else idle. */
  #updateClock(): void {
    if (!this.clock) return;
    if (this.sender.stats().availableCredit - this.#reserved <= 0) this.clock.enter('backpressured');
    else this.clock.enter(this.#queue.length > 0 || this.#awaitingAck.length > 0 ? 'busy' : 'idle');
  }

  #acknowledged(generation: number, offset: number): void {
    let events: number;
    while (this.#awaitingAck.length > 0 && this.#awaitingAck[0]!.generation === generation && this.#awaitingAck[0]!.end <= offset) {
      this.#awaitingAck.shift()!.resolve();
    }
    events = Math.max(offset - this.#lastAck, 0);
    this.#lastAck = offset;
    const now = Date.now();
    const bucket = this.#acked.at(-1);
    // Counted in 100 ms buckets, so the window holds at most 50 entries whatever the ack rate.
    if (bucket && now - bucket.at < 100) bucket.events += events;
    else this.#acked.push({ at: now, events });
    while (this.#acked.length > 0 && this.#acked[0]!.at < now - drainWindowMs) this.#acked.shift();
  }

  /** How long until the intake has drained `deficit` events, at the rate it drained lately (1..30 s). */
  #retryAfterSeconds(deficit: number): number {
    const now = Date.now();
    const recent = this.#acked.filter((entry) => entry.at >= now - drainWindowMs).reduce((sum, entry) => sum + entry.events, 0);
    const perSecond = recent / (drainWindowMs / 1000);
    if (perSecond <= 0) return 5;
    return Math.min(30, Math.max(1, Math.ceil(deficit / perSecond)));
  }
}
