/**
 * What a benchmark was doing when, in seconds from its start: each second's sample is printed
 * once it is over, so its line names the phase that second was in, not the one running now.
 */
export class PhaseLog {
  readonly #entries: Array<{ atS: number; what: string }> = [{ atS: 0, what: 'start' }];

  constructor(readonly startMs = performance.now()) {}

  /** Seconds since the start. */
  nowS(): number { return (performance.now() - this.startMs) / 1000; }

  entering(what: string): void { this.#entries.push({ atS: this.nowS(), what }); }

  /** The phase second `t` was in. */
  at(t: number): string { return this.#entries.findLast((entry) => entry.atS <= t + 0.5)!.what; }
}
