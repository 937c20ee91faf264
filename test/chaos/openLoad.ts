import { postEvents, wireEvents } from '../helpers/httpEvents.js';

export interface Answer { sentAt: number; answeredAt: number; status: number | 'error'; events: number }
export interface Refusal { answeredAt: number; status: number; body: any; retryAfter: string | null }

export interface OpenLoadOptions {
  /** Events per request. */
  batch?: number;
  /** A new request every this many ms (open loop: not waiting for the previous answer)... */
  intervalMs?: number;
  /** ...unless this many are already waiting for their answer. */
  maxInFlight?: number;
  users?: number;
  products?: number;
}

/**
 * Steady offered load through the gateway: a new batch of new events every
 * `intervalMs`, whether or not earlier requests were answered (bounded by
 * `maxInFlight`), so requests stuck behind a broken dependency do not stop the
 * load and the edge's 429/503 answers are seen. A batch that is not accepted is
 * not retried; its ids are never used again. Records every answer, the ids
 * of every 202 and the latest 429 whole.
 */
export class OpenLoad {
  readonly accepted: string[] = [];
  readonly answers: Answer[] = [];
  lastRefusal: Refusal | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  #next = 0;
  #timer: NodeJS.Timeout | undefined;
  #skipped = 0;

  constructor(private readonly gatewayUrl: string, private readonly runId: string, private readonly options: OpenLoadOptions = {}) {}

  get offered(): number { return this.#next; }
  /** Ticks skipped because maxInFlight requests were waiting. */
  get skipped(): number { return this.#skipped; }

  start(): this {
    this.#timer = setInterval(() => this.#tick(), this.options.intervalMs ?? 40);
    return this;
  }

  /** Stops offering and waits for every request in flight to be answered. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all(this.#inFlight);
  }

  /** Answers to requests sent in [from, to). */
  answersSent(from: number, to = Infinity): Answer[] {
    return this.answers.filter((answer) => answer.sentAt >= from && answer.sentAt < to);
  }

  /** Answers received in [from, to). */
  answersReceived(from: number, to = Infinity): Answer[] {
    return this.answers.filter((answer) => answer.answeredAt >= from && answer.answeredAt < to);
  }

  statusCounts(answers: Answer[] = this.answers): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const answer of answers) counts[answer.status] = (counts[answer.status] ?? 0) + 1;
    return counts;
  }

  #tick(): void {
    if (this.#inFlight.size >= (this.options.maxInFlight ?? 24)) {
      this.#skipped += 1;
      return;
    }
    const events = wireEvents(this.options.batch ?? 50, this.runId, { from: this.#next, users: this.options.users, products: this.options.products });
    this.#next += events.length;
    const sentAt = Date.now();
    const request = postEvents(this.gatewayUrl, JSON.stringify(events)).then(
      (answer) => {
        this.answers.push({ sentAt, answeredAt: Date.now(), status: answer.status, events: events.length });
        if (answer.status === 202) for (const event of events) this.accepted.push(event.id);
        if (answer.status === 429) this.lastRefusal = { answeredAt: Date.now(), ...answer };
      },
      () => { this.answers.push({ sentAt, answeredAt: Date.now(), status: 'error', events: events.length }); },
    ).finally(() => this.#inFlight.delete(request));
    this.#inFlight.add(request);
  }
}
