import { setTimeout as sleep } from 'node:timers/promises';

const kinds = ['view', 'click', 'cart', 'purchase'];

export interface BurstyLoadOptions {
  gatewayUrl: string;
  runId: string;
  users: number;
  products: number;
  clients: number;
  batch: number;
  /** Seconds of steady load, then seconds of burst, repeated. */
  steadySeconds: number;
  burstSeconds: number;
}

/**
 * Producers that alternate steady traffic (a pause between requests) with
 * bursts (none), and retry every batch until it is accepted: event ids make
 * the retry safe, so every id they count as accepted must land exactly once.
 */
export class BurstyLoad {
  readonly accepted: string[] = [];
  readonly answers = new Map<string, number>();
  #stopping = false;
  #next = 0;
  readonly #clients: Promise<void>[];
  readonly #started = Date.now();

  constructor(private readonly options: BurstyLoadOptions) {
    this.#clients = Array.from({ length: options.clients }, () => this.#client());
  }

  /** Stops making new batches; the ones in hand are retried until accepted, for up to `settleMs`. */
  async stop(settleMs = 60_000): Promise<void> {
    this.#stopping = true;
    const deadline = Date.now() + settleMs;
    this.#settleBy = deadline;
    await Promise.all(this.#clients);
  }

  #settleBy = Number.POSITIVE_INFINITY;

  #bursting(): boolean {
    const cycle = this.options.steadySeconds + this.options.burstSeconds;
    return ((Date.now() - this.#started) / 1000) % cycle >= this.options.steadySeconds;
  }

  async #client(): Promise<void> {
    while (!this.#stopping) {
      const events = this.#batch();
      while (Date.now() < this.#settleBy) {
        const status = await this.#post(events);
        this.answers.set(status, (this.answers.get(status) ?? 0) + 1);
        if (status === '202') {
          for (const event of events) this.accepted.push(event.id);
          break;
        }
        await sleep(status === '429' ? 50 : 200);
      }
      if (!this.#bursting()) await sleep(50);
    }
  }

  #batch(): Array<Record<string, unknown> & { id: string }> {
    const now = new Date().toISOString();
    return Array.from({ length: this.options.batch }, () => {
      const n = this.#next++;
      return {
        id: `${this.options.runId}-${n}`,
        user_id: `user-${(n % this.options.users) + 1}`,
        item_id: `item-${((n * 7) % this.options.products) + 1}`,
        kind: kinds[n % kinds.length],
        event_time: now,
        price_cents: 100 + (n % 900),
      };
    });
  }

  async #post(events: unknown[]): Promise<string> {
    try {
      const response = await fetch(`${this.options.gatewayUrl}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(events),
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer();
      return String(response.status);
    } catch {
      return 'no answer';
    }
  }
}
