import { setTimeout as sleep } from 'node:timers/promises';

/** Runtime fault switches: what a user turns on to create pressure and watch it travel. */
export interface FaultSettings {
  /** Extra time the sink takes over every batch. */
  slow_sink_ms: number;
  /** Extra time the sink takes per event of a batch, in microseconds: a database slowed per row, so a smaller batch is quicker. */
  slow_sink_us_per_event: number;
  /** Extra time every Redis call takes. */
  redis_latency_ms: number;
  /** Share of Postgres calls that fail, 0..100. */
  postgres_failure_percent: number;
}

const limits: Record<keyof FaultSettings, number> = { slow_sink_ms: 60_000, slow_sink_us_per_event: 100_000, redis_latency_ms: 60_000, postgres_failure_percent: 100 };

/** A failure the Postgres fault switch made; it counts against the breaker as a real one would. */
export class InjectedFault extends Error {
  constructor() {
    super('injected Postgres failure (fault switch postgres_failure_percent)');
  }
}

/** Why a fault-switch update was refused. */
export class FaultSettingsError extends Error {}

/**
 * The process's fault switches. They can be changed at run time only when the
 * service was started with FAULT_SWITCHES=on; otherwise they stay at their
 * start-up values (SINK_DELAY_MS and SINK_DELAY_US_PER_EVENT for the slow sink).
 */
export class FaultSwitches {
  #settings: FaultSettings;

  constructor(readonly enabled: boolean, initial: Partial<FaultSettings> = {}) {
    this.#settings = { slow_sink_ms: 0, slow_sink_us_per_event: 0, redis_latency_ms: 0, postgres_failure_percent: 0, ...initial };
  }

  get settings(): FaultSettings { return { ...this.#settings }; }

  /** Applies the switches named in `update` (a parsed JSON object), after checking every one. */
  update(update: unknown): FaultSettings {
    if (!this.enabled) throw new FaultSettingsError('fault switches are off; start the services with FAULT_SWITCHES=on');
    if (typeof update !== 'object' || update === null || Array.isArray(update)) throw new FaultSettingsError('the body must be a JSON object');
    const next = { ...this.#settings };
    for (const [name, value] of Object.entries(update)) {
      if (!(name in limits)) throw new FaultSettingsError(`unknown fault switch "${name}"; known: ${Object.keys(limits).join(', ')}`);
      const max = limits[name as keyof FaultSettings];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
        throw new FaultSettingsError(`${name} must be an integer from 0 to ${max}`);
      }
      next[name as keyof FaultSettings] = value;
    }
    this.#settings = next;
    return this.settings;
  }

  /** Waits and fails as the switches for `dependency` say, before a real call to it. */
  async beforeCall(dependency: string): Promise<void> {
    if (dependency === 'redis' && this.#settings.redis_latency_ms > 0) await sleep(this.#settings.redis_latency_ms);
    if (dependency === 'postgres' && Math.random() * 100 < this.#settings.postgres_failure_percent) throw new InjectedFault();
  }

  /** Waits as the slow-sink switches say, before the sink commits a batch of `events`. */
  async slowSink(events: number): Promise<void> {
    const ms = this.#settings.slow_sink_ms + (events * this.#settings.slow_sink_us_per_event) / 1_000;
    if (ms > 0) await sleep(ms);
  }
}
