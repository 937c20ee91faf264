import type { Event } from '../lib/contract/loadContract.js';
import type { IntakeCredit } from './admission/Admission.js';
import { LinkClosedError, LinkResetError } from '../lib/flow/linkErrors.js';
import type { Outbound, Reservation } from '../lib/flow/Outbound.js';
import { endFailed, startSendSpan, type Context } from '../lib/telemetry/batchSpans.js';
import type { EndActivity } from '../lib/telemetry/StageClock.js';
import type { HopPressure } from '../lib/telemetry/HopPressure.js';

/** The mesh has no credit for these events now: answer 429. */
export class NoCreditError extends Error {
  /** `events`: what the refused request needed (1 when refused before its body was read). */
  constructor(readonly retryAfterSeconds: number, readonly events = 1) {
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

interface Submission { events: Event[]; reservation: Reservation; trace: Context; resolve: () => void; reject: (error: Error) => void }

const drainWindowMs = 5_000;

/**
 * The gateway's side of the gateway → source link. A request is taken only if
 * the link has credit for all of it right now (never queued beyond that), and
 * it is confirmed only when the source acknowledges its events are in the intake.
 */
export class IntakeClient {
  readonly #queue: Submission[] = [];
  #sending = false;
  readonly #acked: Array<{ at: number; events: number }> = [];
  /** Since a request was refused for want of credit, and until there is credit for one of its size. */
  #creditWait: { events: number; end: EndActivity } | undefined;

  /**
   * `outbound`: the link to the source (or a router over its replicas). `pressure`: the gateway's hop,
   * busy while it sends a request on, back-pressured from a refusal for want of credit until the credit
   * for such a request is back; waiting for the source's confirmation is neither.
   */
  constructor(readonly outbound: Outbound, private readonly pressure?: Pick<HopPressure, 'clock' | 'passedOn'>) {
    this.outbound.on('credit', () => this.#creditArrived());
  }

  get connected(): boolean { return this.outbound.connected; }

  /** Resolves once the source has the events in its intake; `trace` is the request's context, which the batch's trace continues. */
  submit(events: Event[], trace: Context): Promise<void> {
    if (!this.outbound.connected) return Promise.reject(new IntakeUnavailableError('the gateway is not connected to the source'));
    const { freeCredit } = this.outbound.stats();
    const tooLarge = this.tooLarge(events.length);
    if (tooLarge) return Promise.reject(tooLarge);
    const reservation = this.outbound.tryReserve(events.length);
    if (!reservation) {
      this.refusedForCredit(events.length);
      return Promise.reject(new NoCreditError(this.#retryAfterSeconds(events.length - Math.max(freeCredit, 0)), events.length));
    }
    this.#endCreditWait();
    return new Promise((resolve, reject) => {
      this.#queue.push({ events, reservation, trace, resolve, reject });
      void this.#sendQueued();
    });
  }

  /** A request of `events` was refused for want of credit: the gateway is back-pressured until the link has credit for such a request again. */
  refusedForCredit(events: number): void {
    if (this.pressure) this.#creditWait ??= { events, end: this.pressure.clock.begin('credit') };
  }

  /** Refuses `events` the intake link can never hold at once (its capacity is 0, unknown, until the first grant arrives just after Opened). */
  tooLarge(events: number): LargerThanCapacityError | undefined {
    const { capacity } = this.outbound.stats();
    return capacity > 0 && events > capacity ? new LargerThanCapacityError(capacity) : undefined;
  }

  /**
   * Before a request's body is read: the refusal any request gets now, the link having no free credit
   * at all. Undefined when some request might fit (only its parsed events can tell) or when the link is
   * down (its 503 comes after parsing, as before).
   */
  refusalForAnyRequest(): NoCreditError | undefined {
    if (!this.outbound.connected) return undefined;
    const { freeCredit } = this.outbound.stats();
    if (freeCredit > 0) return undefined;
    this.refusedForCredit(1);
    return new NoCreditError(this.#retryAfterSeconds(1 - freeCredit));
  }

  close(): Promise<void> {
    return this.outbound.close('gateway stopping');
  }

  async #sendQueued(): Promise<void> {
    if (this.#sending) return;
    this.#sending = true;
    try {
      for (let next = this.#queue.shift(); next; next = this.#queue.shift()) {
        const { span, carrier } = startSendSpan(next.trace, { link: this.outbound.link, events: next.events.length, creditAvailable: this.outbound.stats().freeCredit });
        const endWork = this.pressure?.clock.begin('work');
        try {
          const sent = await this.outbound.send(next.events, carrier, next.reservation);
          this.pressure?.passedOn(next.events);
          span.end();
          this.#confirmWhenAcknowledged(next, sent.acknowledged);
        } catch (error) {
          endFailed(span, error);
          next.reject(unavailable(error));
        } finally {
          endWork?.();
          this.outbound.release(next.reservation);
        }
      }
    } finally {
      this.#sending = false;
    }
  }

  #confirmWhenAcknowledged(submission: Submission, acknowledged: Promise<void>): void {
    acknowledged.then(() => {
      this.#countDrained(submission.events.length);
      submission.resolve();
    }, (error: unknown) => {
      submission.reject(error instanceof LinkResetError ? new IntakeUnavailableError('the link to the source reset before it confirmed these events; retrying them is safe') : unavailable(error));
    });
  }

  #creditArrived(): void {
    if (this.#creditWait && this.outbound.stats().freeCredit >= this.#creditWait.events) this.#endCreditWait();
  }

  #endCreditWait(): void {
    this.#creditWait?.end();
    this.#creditWait = undefined;
  }

  /** Events the source confirmed: the intake's recent drain rate is read from them. */
  #countDrained(events: number): void {
    const now = Date.now();
    const bucket = this.#acked.at(-1);
    // Counted in 100 ms buckets, so the window holds at most 50 entries whatever the ack rate.
    if (bucket && now - bucket.at < 100) bucket.events += events;
    else this.#acked.push({ at: now, events });
    while (this.#acked.length > 0 && this.#acked[0]!.at < now - drainWindowMs) this.#acked.shift();
  }

  /**
   * The intake's credit as the admission weighs it: what is free now, of a window that is the
   * source's last announced one, or what the gateway holds (free, reserved and in flight) if less:
   * a window sized by time shrinks without a word while the gateway still holds what it granted
   * before, and a share of a window it will not see again would hold a lower class out for good.
   */
  credit(): IntakeCredit {
    const { freeCredit, availableCredit, receiverWindow, sent, acknowledged } = this.outbound.stats();
    return { free: freeCredit, window: Math.min(receiverWindow, availableCredit + sent - acknowledged), drainPerSecond: this.drainPerSecond };
  }

  /** Events per second the source confirmed over the last few seconds: the rate the intake's credit comes back. */
  get drainPerSecond(): number {
    const now = Date.now();
    const recent = this.#acked.filter((entry) => entry.at >= now - drainWindowMs).reduce((sum, entry) => sum + entry.events, 0);
    return recent / (drainWindowMs / 1000);
  }

  /** How long until the intake has drained `deficit` events, at the rate it drained lately (1..30 s). */
  #retryAfterSeconds(deficit: number): number {
    const perSecond = this.drainPerSecond;
    if (perSecond <= 0) return 5;
    return Math.min(30, Math.max(1, Math.ceil(deficit / perSecond)));
  }
}

function unavailable(error: unknown): Error {
  return error instanceof LinkResetError || error instanceof LinkClosedError ? new IntakeUnavailableError(error.message) : (error as Error);
}
