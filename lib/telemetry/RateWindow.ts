interface Sample { at: number; values: Record<string, number> }

/**
 * Per-second rates of cumulative figures over a sliding window: it samples the
 * figures once a second (keeping `windowMs` of samples, so its memory is
 * fixed) and compares the current values with the oldest sample.
 */
export class RateWindow {
  readonly #samples: Sample[] = [];
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly read: () => Record<string, number>, private readonly windowMs = 5_000) {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), 1_000);
    this.#timer.unref();
  }

  /** Each figure's change per second over the window (0 before the first second). */
  rates(): Record<string, number> {
    const now = performance.now();
    const values = this.read();
    const oldest = this.#samples[0]!;
    const seconds = (now - oldest.at) / 1000;
    const rates: Record<string, number> = {};
    for (const [name, value] of Object.entries(values)) rates[name] = seconds > 0 ? (value - (oldest.values[name] ?? 0)) / seconds : 0;
    return rates;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #sample(): void {
    const now = performance.now();
    this.#samples.push({ at: now, values: this.read() });
    while (this.#samples.length > 1 && this.#samples[0]!.at < now - this.windowMs) this.#samples.shift();
  }
}
