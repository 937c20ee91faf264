import { readFile } from 'node:fs/promises';
import type pg from 'pg';

/** Accepted events (their ids, one a line in `idsFile`) that are not in `events`. */
export async function countLost(pool: pg.Pool, idsFile: string): Promise<number> {
  const ids = (await readFile(idsFile, 'utf8')).split('\n').filter(Boolean);
  let lost = 0;
  for (let start = 0; start < ids.length; start += 50_000) {
    const { rows } = await pool.query<{ missing: number }>(
      'SELECT count(*)::int AS missing FROM unnest($1::text[]) AS accepted(id) WHERE NOT EXISTS (SELECT 1 FROM events WHERE events.id = accepted.id)',
      [ids.slice(start, start + 50_000)],
    );
    lost += rows[0]!.missing;
  }
  return lost;
}

/**
 * Events counted more than once. `events` cannot hold an id twice (it is the key), so a duplicate
 * shows where the sink's counts would: in item_minute, beyond the rows of `events`.
 */
export async function countDuplicated(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ duplicated: number }>(
    'SELECT ((SELECT coalesce(sum(count), 0) FROM item_minute) - (SELECT count(*) FROM events))::int AS duplicated',
  );
  return rows[0]!.duplicated;
}

export interface LatencyBySecond { t: number; p50_ms: number; p99_ms: number }

/** Accept-to-commit latency of the events committed in each second since `startEpochMs`. */
export async function latencyByCommitSecond(pool: pg.Pool, startEpochMs: number): Promise<LatencyBySecond[]> {
  const { rows } = await pool.query<LatencyBySecond>(
    `SELECT floor(extract(epoch FROM committed_at) - $1::float8 / 1000)::int AS t,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM committed_at - accepted_at) * 1000)::float8 AS p50_ms,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM committed_at - accepted_at) * 1000)::float8 AS p99_ms
       FROM events GROUP BY 1 ORDER BY 1`,
    [startEpochMs],
  );
  return rows;
}

/** The p99 accept-to-commit latency of the events accepted in [fromS, toS) after `startEpochMs` (those committed). */
export async function p99OfAcceptedBetween(pool: pg.Pool, startEpochMs: number, fromS: number, toS: number): Promise<number | null> {
  return (await latencyOfAcceptedBetween(pool, startEpochMs, fromS, toS)).p99_ms;
}

export interface AcceptedLatency { committed: number; p50_ms: number | null; p99_ms: number | null; max_ms: number | null }

/** Accept-to-commit latency of the events accepted in [fromS, toS) after `startEpochMs` that were committed: how many, p50, p99 and the largest. */
export async function latencyOfAcceptedBetween(pool: pg.Pool, startEpochMs: number, fromS: number, toS: number): Promise<AcceptedLatency> {
  const { rows } = await pool.query<{ committed: number; ms: number[] | null; max_ms: number | null }>(
    `SELECT count(*)::float8 AS committed,
            percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM committed_at - accepted_at) * 1000)::float8[] AS ms,
            max(extract(epoch FROM committed_at - accepted_at) * 1000)::float8 AS max_ms
       FROM events WHERE accepted_at >= to_timestamp(($1::float8 + $2::float8 * 1000) / 1000) AND accepted_at < to_timestamp(($1::float8 + $3::float8 * 1000) / 1000)`,
    [startEpochMs, fromS, toS],
  );
  const row = rows[0];
  return { committed: row?.committed ?? 0, p50_ms: row?.ms?.[0] ?? null, p99_ms: row?.ms?.[1] ?? null, max_ms: row?.max_ms ?? null };
}
