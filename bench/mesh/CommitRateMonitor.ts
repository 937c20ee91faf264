import type pg from 'pg';

const POLL_INTERVAL_MS = 1000;

/**
 * Events committed per second, for the progress line. It reads the sum of item_minute (the sink counts
 * there exactly the rows it inserts, in the same transaction): a few hundred rows instead of every event.
 */
export class CommitRateMonitor {
  #lastTotal: number | undefined;
  #lastAtMs = 0;
  #perSecond: number | undefined;
  readonly #timer: NodeJS.Timeout;
  #polling = false;

  constructor(private readonly pool: pg.Pool) {
    void this.#poll();
    this.#timer = setInterval(() => void this.#poll(), POLL_INTERVAL_MS);
  }

  /** The rate over the last poll interval; undefined until two polls have answered. */
  get perSecond(): number | undefined { return this.#perSecond; }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const { rows } = await this.pool.query<{ total: number }>('SELECT coalesce(sum(count), 0)::float8 AS total FROM item_minute');
      const nowMs = performance.now();
      const total = rows[0]!.total;
      if (this.#lastTotal !== undefined) this.#perSecond = ((total - this.#lastTotal) * 1000) / (nowMs - this.#lastAtMs);
      this.#lastTotal = total;
      this.#lastAtMs = nowMs;
    } catch {
      // A missed poll only leaves the progress line one second stale.
    } finally {
      this.#polling = false;
    }
  }
}
