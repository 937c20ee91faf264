import { readFileSync } from 'node:fs';

const SAMPLE_INTERVAL_MS = 100;
const MB = 1024 * 1024;

export interface RssGrowth {
  baselineMb: number;
  peakMb: number;
  growthMb: number;
  /** Every sample from the start of recording, in MB. */
  samplesMb: number[];
}

/** Samples the RSS of some processes every 100 ms, and measures their growth beyond a baseline. */
export class RssRecorder {
  readonly #pids: Record<string, number>;
  readonly #samples: Record<string, number[]> = {};
  // Until a baseline is marked (a process died during the warm-up), growth counts from the first sample.
  #baselineIndex = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(pids: Record<string, number>) {
    this.#pids = pids;
    for (const name of Object.keys(pids)) this.#samples[name] = [];
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), SAMPLE_INTERVAL_MS);
  }

  /** Samples now; growth is measured from this sample on. */
  markBaseline(): void {
    this.#sample();
    this.#baselineIndex = Object.values(this.#samples)[0]!.length - 1;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  growth(name: string): RssGrowth {
    const samples = this.#samples[name]!;
    const baseline = samples[this.#baselineIndex] ?? 0;
    const peak = Math.max(baseline, ...samples.slice(this.#baselineIndex));
    return {
      baselineMb: toMb(baseline),
      peakMb: toMb(peak),
      growthMb: toMb(peak - baseline),
      samplesMb: samples.map(toMb),
    };
  }

  /** A process that has died keeps its last figure, so every series stays aligned in time. */
  #sample(): void {
    for (const [name, pid] of Object.entries(this.#pids)) {
      const samples = this.#samples[name]!;
      samples.push(readRssBytes(pid) ?? samples.at(-1) ?? 0);
    }
  }
}

function toMb(bytes: number): number {
  return Math.round((bytes / MB) * 10) / 10;
}

/**
 * The resident set size of process `pid` in bytes, or undefined once it is gone.
 * Read from /proc (Linux) rather than asked of the process, so a child that is
 * busy in a tight loop or in garbage collection is still sampled on time.
 */
function readRssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
