import type { Breaker } from '../../lib/breaker.js';
import type { Profile } from '../../lib/contract/loadContract.js';
import type { Context } from '../../lib/telemetry/batchSpans.js';
import { profileKey, type Redis } from '../../lib/storage/redis.js';

export type BreakerMode = 'hold' | 'degrade';

const missing: Profile = { found: false, segment: '', country: '', degraded: false };
const degraded: Profile = { found: false, segment: '', country: '', degraded: true };

/** User profiles in Redis, fetched a batch at a time with one MGET. */
export class ProfileStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly breaker: Breaker,
    private readonly mode: BreakerMode,
  ) {}

  /**
   * Profiles by user id. While Redis is unavailable it holds (waits for the
   * breaker to let a probe through) or, in degrade mode, answers at once with
   * every profile marked degraded.
   */
  async lookup(userIds: string[], { trace, signal }: { trace?: Context; signal?: AbortSignal } = {}): Promise<Map<string, Profile | InvalidProfile>> {
    const unique = [...new Set(userIds)];
    const keys = unique.map((id) => profileKey(this.keyPrefix, id));
    const fetch = () => this.redis.mget(keys);
    let values: Array<string | null>;
    if (this.mode === 'hold') {
      values = await this.breaker.hold('MGET', fetch, { trace, signal });
    } else {
      try {
        values = await this.breaker.fire('MGET', fetch, trace);
      } catch {
        return new Map(unique.map((id) => [id, degraded]));
      }
    }
    return new Map(unique.map((id, i) => [id, parseProfile(values[i] ?? null)]));
  }
}

/** A stored profile that is not one: the events of that user become dead letters. */
export class InvalidProfile {
  constructor(readonly reason: string) {}
}

function parseProfile(stored: string | null): Profile | InvalidProfile {
  if (stored === null) return missing;
  let value: { segment?: unknown; country?: unknown };
  try {
    value = JSON.parse(stored) as typeof value;
  } catch {
    return new InvalidProfile('the stored profile is not JSON');
  }
  if (typeof value?.segment !== 'string' || typeof value.country !== 'string') return new InvalidProfile('the stored profile lacks segment or country');
  return { found: true, segment: value.segment, country: value.country, degraded: false };
}
