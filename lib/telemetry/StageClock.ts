export type StageState = 'busy' | 'backpressured' | 'idle';

/** What a hop may be doing, several at once: its own work, a call to its dependency (work too), or a wait for downstream credit. */
export type Activity = 'work' | 'dependency' | 'credit';

/** Ends an activity; calling it again does nothing. */
export type EndActivity = () => void;

/**
 * Where a hop's time goes, in Flink's terms. A hop may do several things at
 * once (batches in hand, a write and a read), so it counts its activities and
 * is, at every moment, in exactly one state:
 * - busy while any of its own work is in progress (a call to its own
 *   dependency is its work: waiting on Redis or Postgres is busy);
 * - else back-pressured while something waits for downstream credit;
 * - else idle (waiting for input with nothing in hand, or only for
 *   acknowledgements of what it passed on while it has credit left).
 * Besides, it counts the time during which a dependency call was in progress
 * (a part of busy), which tells a hop slowed by its dependency from one busy
 * with its own work. Totals are cumulative milliseconds.
 */
export class StageClock {
  readonly #active: Record<Activity, number> = { work: 0, dependency: 0, credit: 0 };
  #state: StageState = 'idle';
  #since = performance.now();
  #dependencySince: number | undefined;
  readonly #totals: Record<StageState, number> = { busy: 0, backpressured: 0, idle: 0 };
  #dependencyTotal = 0;

  get state(): StageState { return this.#state; }

  /** Starts an activity; the returned function ends it. */
  begin(activity: Activity): EndActivity {
    this.#change(activity, 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#change(activity, -1);
    };
  }

  /** Runs `work` as the activity, ending it however `work` ends. */
  async during<T>(activity: Activity, work: () => Promise<T>): Promise<T> {
    const end = this.begin(activity);
    try {
      return await work();
    } finally {
      end();
    }
  }

  /** Milliseconds spent in each state since start, the current stretch included. */
  totals(): Record<StageState, number> {
    const totals = { ...this.#totals };
    totals[this.#state] += performance.now() - this.#since;
    return totals;
  }

  /** Milliseconds since start during which at least one dependency call was in progress. */
  dependencyTotal(): number {
    return this.#dependencyTotal + (this.#dependencySince === undefined ? 0 : performance.now() - this.#dependencySince);
  }

  #change(activity: Activity, by: 1 | -1): void {
    const now = performance.now();
    this.#active[activity] += by;
    if (activity === 'dependency') {
      if (this.#active.dependency > 0 && this.#dependencySince === undefined) this.#dependencySince = now;
      if (this.#active.dependency === 0 && this.#dependencySince !== undefined) {
        this.#dependencyTotal += now - this.#dependencySince;
        this.#dependencySince = undefined;
      }
    }
    const state: StageState = this.#active.work > 0 || this.#active.dependency > 0 ? 'busy' : this.#active.credit > 0 ? 'backpressured' : 'idle';
    if (state === this.#state) return;
    this.#totals[this.#state] += now - this.#since;
    this.#state = state;
    this.#since = now;
  }
}
