import type { ServiceProcess } from '../../tools/launcher/ServiceProcess.js';

const SAMPLE_INTERVAL_MS = 200;

/** Samples the resident memory of some processes every 200 ms and keeps the peak of each. */
export class PeakRssSampler {
  readonly #peakMb: Record<string, number> = {};
  readonly #timer: NodeJS.Timeout;

  constructor(private readonly processes: Record<string, ServiceProcess>) {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), SAMPLE_INTERVAL_MS);
  }

  /** The peak of each process so far, in MB rounded to 0.1. */
  peaksMb(): Record<string, number> {
    this.#sample();
    return Object.fromEntries(Object.entries(this.#peakMb).map(([name, mb]) => [name, Math.round(mb * 10) / 10]));
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #sample(): void {
    for (const [name, process] of Object.entries(this.processes)) {
      const mb = process.rssMb();
      if (mb !== undefined) this.#peakMb[name] = Math.max(this.#peakMb[name] ?? 0, mb);
    }
  }
}
