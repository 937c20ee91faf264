import type pg from 'pg';
import { peakRss } from '../burst/measureMode.js';
import { latencyOfAcceptedBetween } from '../burst/outcome.js';
import type { SecondSample } from '../burst/SecondRecorder.js';

/** A phase on the recorder's clock: seconds [fromS, toS) after the mode's start. */
export interface PhaseWindow {
  name: string;
  label: string;
  fromS: number;
  toS: number;
  /** Events/s offered. */
  rate: number;
  /** Of the capacity; null for the saturation phase that measures it. */
  share: number | null;
}

export interface Spread { mean: number | null; max: number | null }

export interface PhaseResult {
  name: string;
  from_s: number;
  to_s: number;
  offered_share: number | null;
  offered_events_per_s: number;
  offered: number;
  accepted: number;
  rejected_429: number;
  dropped_by_client: number;
  /** Of the events offered, the share answered 429. */
  rejected_429_share: number | null;
  /** Events committed per second during the phase (whenever they were accepted). */
  committed_events_per_s: number;
  /** Accept-to-commit latency of the events accepted in the phase (those committed by the end of the run). */
  p50_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
  /** Events queued at and in flight from each hop (its intake left out), and in the source's intake, per second of the phase. */
  in_flight_by_hop: Record<string, Spread>;
  in_flight_total: Spread;
  intake: Spread;
  /** Each service's RSS at the end of the phase, and its peak during it. */
  rss_mb_at_end: Record<string, number | null>;
  peak_rss_mb: Record<string, number>;
}

/** A phase's figures: the load and pressure from the per-second samples, latency from the database. */
export async function describePhase(pool: pg.Pool, startEpochMs: number, window: PhaseWindow, samples: SecondSample[]): Promise<PhaseResult> {
  const inPhase = samples.filter((sample) => sample.t >= window.fromS && sample.t < window.toS);
  const sum = (value: (sample: SecondSample) => number) => inPhase.reduce((total, sample) => total + value(sample), 0);
  const offered = sum((sample) => sample.offered);
  const latency = await latencyOfAcceptedBetween(pool, startEpochMs, window.fromS, window.toS);
  const hopNames = [...new Set(inPhase.flatMap((sample) => Object.keys(sample.hops ?? {})))];
  const withHops = inPhase.filter((sample) => sample.hops !== null);
  return {
    name: window.name,
    from_s: window.fromS,
    to_s: window.toS,
    offered_share: window.share,
    offered_events_per_s: Math.round(window.rate),
    offered,
    accepted: sum((sample) => sample.accepted),
    rejected_429: sum((sample) => sample.rejected_429),
    dropped_by_client: offered - sum((sample) => sample.accepted + sample.rejected_429 + sample.failed),
    rejected_429_share: offered > 0 ? Math.round((sum((sample) => sample.rejected_429) / offered) * 1000) / 1000 : null,
    committed_events_per_s: Math.round(sum((sample) => sample.committed) / Math.max(1, inPhase.length)),
    p50_ms: round(latency.p50_ms),
    p99_ms: round(latency.p99_ms),
    max_ms: round(latency.max_ms),
    in_flight_by_hop: Object.fromEntries(hopNames.map((name) => [name, spread(withHops.map((sample) => {
      const hop = sample.hops![name];
      return hop ? hop.queued - (hop.intake ?? 0) + hop.in_flight : null;
    }))])),
    in_flight_total: spread(withHops.map((sample) => Object.values(sample.hops!).reduce((total, hop) => total + hop.queued - (hop.intake ?? 0) + hop.in_flight, 0))),
    intake: spread(withHops.map((sample) => Object.values(sample.hops!).reduce((total, hop) => total + (hop.intake ?? 0), 0))),
    rss_mb_at_end: inPhase.at(-1)?.rss_mb ?? {},
    peak_rss_mb: peakRss(inPhase),
  };
}

/**
 * Seconds from `fromS` until the p99 of each commit second is under `targetMs` and stays under it up
 * to `toS`: 0 if it never went over, null if it is still over at the end (or nothing was committed then).
 */
export function recoverySeconds(samples: SecondSample[], fromS: number, toS: number, targetMs: number): number | null {
  const seconds = samples.filter((sample) => sample.t >= fromS && sample.t < toS);
  if (seconds.length === 0) return null;
  // A second with load offered but nothing committed is a stall: over the target.
  const over = (sample: SecondSample) => sample.p99_ms === null ? sample.committed === 0 && sample.offered > 0 : sample.p99_ms > targetMs;
  const lastOver = seconds.findLastIndex(over);
  if (lastOver === -1) return 0;
  if (lastOver === seconds.length - 1) return null;
  return seconds[lastOver + 1]!.t - fromS;
}

function spread(values: Array<number | null>): Spread {
  const known = values.filter((value): value is number => value !== null);
  if (known.length === 0) return { mean: null, max: null };
  return { mean: Math.round(known.reduce((total, value) => total + value, 0) / known.length), max: Math.max(...known) };
}

export function round(value: number | null | undefined): number | null {
  return value === null || value === undefined ? null : Math.round(value * 10) / 10;
}
