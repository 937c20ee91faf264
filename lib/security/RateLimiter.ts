import { ConfigError, type Environment } from '../config.js';
import { TokenBucket, monotonicMs, type Clock } from './TokenBucket.js';

export interface RateLimit { eventsPerSecond: number; burst: number }

/** The name of the one bucket everybody shares when the gateway has no keys. */
export const anonymousCaller = 'anonymous';

/**
 * GATEWAY_RATE_LIMIT_EVENTS_PER_S and GATEWAY_RATE_LIMIT_BURST (default: one
 * second's worth); undefined, no limit, when the rate is unset.
 */
export function readRateLimit(env: Environment): RateLimit | undefined {
  const eventsPerSecond = env.integer('GATEWAY_RATE_LIMIT_EVENTS_PER_S', 0, { min: 1, max: 100_000_000 });
  const burst = env.integer('GATEWAY_RATE_LIMIT_BURST', 0, { min: 1, max: 100_000_000 });
  if (eventsPerSecond === 0 && burst !== 0) throw new ConfigError(['GATEWAY_RATE_LIMIT_BURST is set but GATEWAY_RATE_LIMIT_EVENTS_PER_S is not']);
  if (eventsPerSecond === 0) return undefined;
  return { eventsPerSecond, burst: burst || eventsPerSecond };
}

/**
 * One token bucket per caller, counted in events. The buckets are made up
 * front for the callers configured, so memory is bounded by configuration,
 * never by what clients send.
 */
export class RateLimiter {
  readonly #buckets: Map<string, TokenBucket>;

  constructor(readonly limit: RateLimit, callers: readonly string[], clock: Clock = monotonicMs) {
    this.#buckets = new Map(callers.map((caller) => [caller, new TokenBucket(limit.eventsPerSecond, limit.burst, clock)]));
  }

  bucketOf(caller: string): TokenBucket {
    const bucket = this.#buckets.get(caller);
    if (!bucket) throw new Error(`no rate limit bucket for caller "${caller}"`);
    return bucket;
  }
}
