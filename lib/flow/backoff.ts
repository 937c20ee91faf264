export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export const defaultBackoff: BackoffOptions = { initialMs: 100, maxMs: 5_000 };

/**
 * Exponential backoff with full jitter: after the n-th failure in a row wait a
 * random time up to initialMs * 2^n, capped at maxMs, so a restarted peer is not
 * met by every client at the same instant.
 */
export function reconnectDelay(failures: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(failures, 30));
  return Math.round(random() * ceiling);
}
