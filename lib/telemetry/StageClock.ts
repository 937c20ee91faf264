export type StageState = 'busy' | 'backpressured' | 'idle';

/**
 * Where a hop's time goes, in Flink's terms: back-pressured while it waits for
 * downstream credit, idle while it waits for input with nothing in hand, busy
 * otherwise. Totals are cumulative milliseconds; rates come from sampling them.
 */
export class StageClock {
  #state: StageState = 'idle';
  #since = performance.now();
  readonly #totals: Record<StageState, number> = { busy: 0, backpressured: 0, idle: 0 };

  get state(): StageState { return this.#state; }

  enter(state: StageState): void {
    if (state === this.#state) return;
    const now = performance.now();
    this.#totals[this.#state] += now - this.#since;
    this.#state = state;
    this.#since = now;
  }

  /** Milliseconds spent in each state since start, the current stretch included. */
  totals(): Record<StageState, number> {
    const totals = { ...this.#totals };
    totals[this.#state] += performance.now() - this.#since;
    return totals;
  }
}
