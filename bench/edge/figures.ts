/**
 * Weighted max-min fair shares of `total` among keys that each want `demands[key]`: every key
 * gets the same amount per unit of weight, except that none gets more than it wants, and what
 * a key does not want goes to the others (water-filling). With total demand at or under `total`,
 * each gets its demand.
 */
export function fairShares<K extends string>(demands: Record<K, number>, weights: Record<K, number>, total: number): Record<K, number> {
  const shares = Object.fromEntries(Object.keys(demands).map((key) => [key, 0])) as Record<K, number>;
  let unsatisfied = (Object.keys(demands) as K[]).filter((key) => demands[key] > 0 && weights[key] > 0);
  let left = total;
  while (unsatisfied.length > 0 && left > 1e-9) {
    const weight = unsatisfied.reduce((sum, key) => sum + weights[key], 0);
    const perWeight = left / weight;
    // The keys that want less than an equal share per weight get what they want; the rest share what is left.
    const capped = unsatisfied.filter((key) => demands[key] - shares[key] <= perWeight * weights[key]);
    if (capped.length === 0) {
      for (const key of unsatisfied) shares[key] += perWeight * weights[key];
      break;
    }
    for (const key of capped) {
      left -= demands[key] - shares[key];
      shares[key] = demands[key];
    }
    unsatisfied = unsatisfied.filter((key) => !capped.includes(key));
  }
  return shares;
}

export interface ShareError<K extends string> {
  /** Largest of the keys' relative deviations; null when nothing was admitted. */
  max: number | null;
  byKey: Record<K, { offered: number; admitted: number; fair: number; error: number | null }>;
}

/**
 * How far each key's admitted events are from its weighted fair share of all that was admitted
 * (max-min, capped at what it offered), relative to that share: |admitted - fair| / fair.
 */
export function shareError<K extends string>(offered: Record<K, number>, admitted: Record<K, number>, weights: Record<K, number>): ShareError<K> {
  const keys = Object.keys(offered) as K[];
  const total = keys.reduce((sum, key) => sum + admitted[key], 0);
  const fair = fairShares(offered, weights, total);
  const byKey = Object.fromEntries(keys.map((key) => [key, {
    offered: offered[key],
    admitted: admitted[key],
    fair: Math.round(fair[key]),
    error: fair[key] > 0 ? round3(Math.abs(admitted[key] - fair[key]) / fair[key]) : null,
  }])) as ShareError<K>['byKey'];
  const errors = keys.map((key) => byKey[key].error).filter((error): error is number => error !== null);
  return { max: total > 0 && errors.length > 0 ? Math.max(...errors) : null, byKey };
}

export interface Bucket {
  /** Events of the highest class refused in the bucket. */
  highRefused: number;
  /** Events of the lowest class admitted in the bucket. */
  lowAdmitted: number;
}

/** The refusals of the highest class in buckets (e.g. seconds) where the lowest class was admitted too: a priority inversion at that resolution. */
export function refusedWhileLowerAdmitted(buckets: Iterable<Bucket>): { events: number; buckets: number } {
  let events = 0;
  let count = 0;
  for (const bucket of buckets) {
    if (bucket.highRefused > 0 && bucket.lowAdmitted > 0) {
      events += bucket.highRefused;
      count += 1;
    }
  }
  return { events, buckets: count };
}

/** The nearest-rank percentile of `values` (not sorted); null when empty. */
export function percentile(values: readonly number[], percent: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((percent / 100) * sorted.length) - 1)]!;
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
