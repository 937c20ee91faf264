import CircuitBreaker from 'opossum';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Environment } from './config.js';
import type { FaultSwitches } from './faults.js';
import { createLogger } from './log.js';
import { withDependencySpan, type Context } from './telemetry/batchSpans.js';
import type { BreakerState } from './telemetry/HopPressure.js';

const log = createLogger('breaker');

export interface BreakerSettings {
  /** A call slower than this counts as a failure. */
  timeoutMs: number;
  /** The failure percentage, over the rolling window, that opens the breaker. */
  errorThresholdPercentage: number;
  /** How long the breaker stays open before one probe call may try the dependency. */
  resetTimeoutMs: number;
  /** Calls in the window before the percentage is trusted; also: this many failures in a row open the breaker at once. */
  volumeThreshold: number;
}

/** Breaker settings for `dependency` (e.g. POSTGRES), from BREAKER_<DEPENDENCY>_* variables. */
export function breakerSettings(env: Environment, dependency: string): BreakerSettings {
  const prefix = `BREAKER_${dependency.toUpperCase()}_`;
  return {
    timeoutMs: env.integer(`${prefix}TIMEOUT_MS`, 5_000, { min: 1, max: 600_000 }),
    errorThresholdPercentage: env.integer(`${prefix}ERROR_PERCENT`, 50, { min: 1, max: 100 }),
    resetTimeoutMs: env.integer(`${prefix}RESET_MS`, 2_000, { min: 10, max: 600_000 }),
    volumeThreshold: env.integer(`${prefix}VOLUME`, 5, { min: 1, max: 10_000 }),
  };
}

/**
 * A call failed while its dependency answered a probe: the trouble is in what
 * the call carried (one batch's data), not in the dependency. It does not
 * count towards opening the breaker, and `hold` gives such a call up after a
 * few attempts, so no single batch can hold a stage while the dependency
 * serves everyone else.
 */
export class DataFailure extends Error {
  constructor(readonly dependency: string, cause: unknown) {
    super(`${dependency} refused this batch while answering other work: ${describe(cause)}`, { cause });
    this.name = 'DataFailure';
  }
}

/** Attempts `hold` makes of a call that keeps failing while its dependency answers probes. */
const dataFailureAttempts = 3;

function describe(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' ? `${message} (${code})` : message;
}

const databaseSystems: Record<string, 'redis' | 'postgresql'> = { redis: 'redis', postgres: 'postgresql' };

/**
 * One dependency (Redis, Postgres) of one service, behind an opossum circuit
 * breaker. Every call is a child span of the batch it serves, and passes the
 * process's fault switches first.
 */
export class Breaker {
  readonly #circuit: CircuitBreaker<[() => Promise<unknown>], unknown>;
  #failures = 0;

  /**
   * `isPermanent` tells a failure of the data (a value the dependency rejects)
   * from a failure of the dependency: the first says nothing about its health,
   * so it neither counts towards opening the breaker nor is retried by `hold`.
   */
  /**
   * `probe` is a trivial call to the dependency (`SELECT 1`, `PING`): when a call fails and the
   * probe answers, the failure is the call's own (DataFailure).
   */
  constructor(
    readonly dependency: string,
    private readonly settings: BreakerSettings,
    private readonly isPermanent: (error: unknown) => boolean = () => false,
    private readonly faults?: FaultSwitches,
    private readonly probe?: () => Promise<unknown>,
  ) {
    this.#circuit = new CircuitBreaker((call: () => Promise<unknown>) => call(), {
      errorFilter: (error: unknown) => isPermanent(error) || error instanceof DataFailure,
      timeout: settings.timeoutMs,
      errorThresholdPercentage: settings.errorThresholdPercentage,
      resetTimeout: settings.resetTimeoutMs,
      volumeThreshold: settings.volumeThreshold,
      name: dependency,
    });
    // The percentage is taken over opossum's 10 s rolling window, so under steady traffic a dependency
    // that goes down entirely would need seconds of failures to outweigh the successes before it (and a
    // stage that holds, retrying with backoff, fails slowly): a run of failures with no success opens it.
    let failuresInARow = 0;
    this.#circuit.on('success', () => { failuresInARow = 0; });
    this.#circuit.on('failure', () => {
      this.#failures += 1;
      failuresInARow += 1;
      if (failuresInARow >= settings.volumeThreshold && this.#circuit.closed) this.#circuit.open();
    });
    this.#circuit.on('close', () => { failuresInARow = 0; });
    this.#circuit.on('open', () => log.warn('breaker opened', { dependency }));
    this.#circuit.on('halfOpen', () => log.info('breaker half-open: probing', { dependency }));
    this.#circuit.on('close', () => log.info('breaker closed', { dependency }));
  }

  get state(): BreakerState {
    if (this.#circuit.opened) return 'open';
    return this.#circuit.halfOpen ? 'half-open' : 'closed';
  }

  get stats() { return this.#circuit.stats; }

  /** Calls `listener` whenever the breaker opens, half-opens or closes. */
  onStateChange(listener: (state: BreakerState) => void): void {
    const changed = () => listener(this.state);
    this.#circuit.on('open', changed);
    this.#circuit.on('halfOpen', changed);
    this.#circuit.on('close', changed);
  }

  /** Calls that failed (or timed out) since start, permanent failures of the data excepted. */
  get failures(): number { return this.#failures; }

  /**
   * One call through the breaker; rejects at once, without calling, while it is open. `operation`
   * names its span, a child of `trace` (the batch the call serves) when that is sampled.
   */
  fire<T>(operation: string, call: () => Promise<T>, trace?: Context): Promise<T> {
    const system = databaseSystems[this.dependency];
    const guarded = async () => {
      await this.faults?.beforeCall(this.dependency);
      try {
        return await call();
      } catch (error) {
        if (!this.isPermanent(error) && await this.#answersProbe()) throw new DataFailure(this.dependency, error);
        throw error;
      }
    };
    const fire = () => this.#circuit.fire(guarded) as Promise<T>;
    return system ? withDependencySpan(system, operation, this.state, trace, fire) : fire();
  }

  /**
   * Calls until a call succeeds or fails for good (`isPermanent`): a stage that holds. While the breaker is open
   * it waits for the breaker's own half-open probe instead of calling, so a
   * broken dependency sees the probes, not a retry storm; `signal` gives up.
   */
  async hold<T>(operation: string, call: () => Promise<T>, { signal, trace }: { signal?: AbortSignal; trace?: Context } = {}): Promise<T> {
    for (let failures = 0, refusals = 0; ; failures += 1) {
      signal?.throwIfAborted();
      try {
        return await this.fire(operation, call, trace);
      } catch (error) {
        if (this.isPermanent(error)) throw error;
        if (error instanceof DataFailure && (refusals += 1) >= dataFailureAttempts) throw error;
        if (failures === 0 || error instanceof DataFailure) log.warn('call failed; holding', { dependency: this.dependency, operation, error: describe(error) });
        if (this.#circuit.opened) await this.#stateChange(signal);
        else await sleep(Math.min(1_000, 20 * 2 ** Math.min(failures, 6)) * Math.random(), undefined, { signal });
      }
    }
  }

  shutdown(): void {
    this.#circuit.shutdown();
  }

  /** Whether the dependency answers a trivial call now, through the fault switches as every call goes. */
  async #answersProbe(): Promise<boolean> {
    if (!this.probe) return false;
    try {
      await this.faults?.beforeCall(this.dependency);
      await Promise.race([this.probe(), sleep(this.settings.timeoutMs, undefined, { ref: false }).then(() => { throw new Error('probe timed out'); })]);
      return true;
    } catch {
      return false;
    }
  }

  #stateChange(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      // opossum's reset timer does not keep the process alive; this one does, and it bounds the wait.
      const timer = setTimeout(() => done(), this.settings.resetTimeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#circuit.off('halfOpen', done);
        this.#circuit.off('close', done);
        signal?.removeEventListener('abort', aborted);
        resolve();
      };
      const aborted = () => { done(); reject(signal!.reason); };
      this.#circuit.on('halfOpen', done);
      this.#circuit.on('close', done);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }
}
