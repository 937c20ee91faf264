import type pg from 'pg';
import type { MeshPressureReport } from '../../gateway/MeshPressure.js';
import type { HopSnapshot } from '../../lib/telemetry/HopPressure.js';
import type { Redis } from '../../lib/storage/redis.js';
import type { Mesh } from '../../tools/launcher/Mesh.js';
import type { SecondStats } from '../loadgen/tally.js';

/** `queued` includes the hop's intake, if it has one; `intake` is that part alone. */
export interface HopFigures { queued: number; in_flight: number; intake?: number; window?: number; intake_window?: number }

/** One second of a mode's run, [t, t+1) after the load started. */
export interface SecondSample {
  t: number;
  offered: number;
  accepted: number;
  rejected_429: number;
  failed: number;
  committed: number;
  /** Resident memory of each service; null once it has died. */
  rss_mb: Record<string, number | null>;
  /** Events queued at (waiting to be taken by) and in flight from each hop, from the pressure API; null when it did not answer. */
  hops: Record<string, HopFigures> | null;
  redis_mb: number | null;
  /** Accept-to-commit latency of the events committed in this second (filled in after the run). */
  p50_ms: number | null;
  p99_ms: number | null;
}

/**
 * Samples a running mesh once a second: the load generator's counts (handed
 * in as each second ends), events committed, every service's RSS, each hop's
 * queued and in-flight events, and Redis's memory.
 */
export class SecondRecorder {
  readonly samples: SecondSample[] = [];
  readonly #timer: NodeJS.Timeout;
  #lastCommitted = 0;
  #busy = false;

  /** `token`: a bearer token of the gateway's, when it has API keys (its /v1/pressure needs one). */
  constructor(private readonly mesh: Mesh, private readonly pool: pg.Pool, private readonly redis: Redis, private readonly startMs: number, private readonly onSample: (sample: SecondSample) => void, private readonly token?: string) {
    this.#timer = setInterval(() => void this.#sample(), 1_000);
  }

  /** The load generator's count of second `second.t`. */
  load(second: SecondStats): void {
    const sample = this.samples.find((candidate) => candidate.t === second.t);
    const figures = { offered: second.offered, accepted: second.accepted, rejected_429: second.rejected, failed: second.failed };
    if (sample) Object.assign(sample, figures);
    else this.#pendingLoad.set(second.t, figures);
  }

  readonly #pendingLoad = new Map<number, Pick<SecondSample, 'offered' | 'accepted' | 'rejected_429' | 'failed'>>();

  stop(): void {
    clearInterval(this.#timer);
  }

  async #sample(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const t = Math.round((performance.now() - this.startMs) / 1000) - 1;
      const [committedTotal, hops, redisMb] = await Promise.all([this.#committedTotal(), this.#hops(), this.#redisMb()]);
      const rss: Record<string, number | null> = {};
      for (const [name, service] of Object.entries(this.mesh.services)) rss[name] = service.running ? round(service.rssMb() ?? 0) : null;
      const committed = committedTotal === null ? 0 : committedTotal - this.#lastCommitted;
      if (committedTotal !== null) this.#lastCommitted = committedTotal;
      const sample: SecondSample = {
        t, offered: 0, accepted: 0, rejected_429: 0, failed: 0, ...this.#pendingLoad.get(t),
        committed, rss_mb: rss, hops, redis_mb: redisMb, p50_ms: null, p99_ms: null,
      };
      this.#pendingLoad.delete(t);
      this.samples.push(sample);
      this.onSample(sample);
    } finally {
      this.#busy = false;
    }
  }

  /** The sink counts in item_minute exactly the rows it inserts: a few hundred rows to sum, not every event. */
  async #committedTotal(): Promise<number | null> {
    return this.pool.query<{ total: number }>('SELECT coalesce(sum(count), 0)::float8 AS total FROM item_minute').then((result) => result.rows[0]!.total, () => null);
  }

  async #hops(): Promise<Record<string, HopFigures> | null> {
    try {
      const headers: Record<string, string> = this.token ? { authorization: `Bearer ${this.token}` } : {};
      const response = await fetch(`${this.mesh.gatewayUrl}/v1/pressure`, { headers, signal: AbortSignal.timeout(900) });
      const report = await response.json() as MeshPressureReport;
      const hops: Record<string, HopFigures> = {};
      for (const hop of report.hops) {
        if (!hop.up) continue;
        const snapshot = hop as HopSnapshot;
        let queued = snapshot.intake?.length ?? 0;
        let inFlight = 0;
        let window = 0;
        for (const link of snapshot.links) {
          if (link.direction === 'in') {
            queued += link.queue_depth;
            window += link.window ?? 0;
          } else inFlight += link.in_flight_events;
        }
        hops[hop.name] = snapshot.intake
          ? { queued, in_flight: inFlight, window, intake: snapshot.intake.length, intake_window: snapshot.intake.window }
          : { queued, in_flight: inFlight, window };
      }
      return hops;
    } catch {
      return null;
    }
  }

  async #redisMb(): Promise<number | null> {
    const info = await this.redis.info('memory').catch(() => undefined);
    const bytes = Number(/used_memory:(\d+)/.exec(info ?? '')?.[1]);
    return Number.isFinite(bytes) ? round(bytes / (1024 * 1024)) : null;
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
