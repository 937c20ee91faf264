import type pg from 'pg';

export interface LatencyGroup {
  /** null: all kinds (or keys, or protocols) together. */
  kind: string | null;
  key: string | null;
  protocol: string | null;
  committed: number;
  p50_ms: number | null;
  p99_ms: number | null;
}

const at = (parameter: number) => `to_timestamp(($1::float8 + $${parameter}::float8 * 1000) / 1000)`;

/**
 * Accept-to-commit latency of the events accepted (put in the intake) in [fromS, toS) after
 * `startEpochMs`: all of them, per kind, per key, per protocol, and per kind and protocol. An
 * event's id, e-<run>-<key>-<h|g>-<n>, says its key and protocol.
 */
export async function latencyGroups(pool: pg.Pool, startEpochMs: number, fromS: number, toS: number): Promise<LatencyGroup[]> {
  const { rows } = await pool.query<{ kind: string | null; key: string | null; protocol: string | null; committed: number; ms: number[] | null }>(
    `SELECT kind, split_part(id, '-', 3) AS key, split_part(id, '-', 4) AS protocol, count(*)::float8 AS committed,
            percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM committed_at - accepted_at) * 1000)::float8[] AS ms
       FROM events WHERE accepted_at >= ${at(2)} AND accepted_at < ${at(3)}
      GROUP BY GROUPING SETS ((), (kind), (split_part(id, '-', 3)), (split_part(id, '-', 4)), (kind, split_part(id, '-', 4)))`,
    [startEpochMs, fromS, toS],
  );
  return rows.map((row) => ({ kind: row.kind, key: row.key, protocol: row.protocol, committed: row.committed, p50_ms: row.ms?.[0] ?? null, p99_ms: row.ms?.[1] ?? null }));
}

/** Rows committed (by committed_at) in [fromS, toS) after `startEpochMs`. */
export async function committedBetween(pool: pg.Pool, startEpochMs: number, fromS: number, toS: number): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::float8 AS n FROM events WHERE committed_at >= ${at(2)} AND committed_at < ${at(3)}`, [startEpochMs, fromS, toS]);
  return rows[0]!.n;
}

export interface ClassSecond { t: number; kind: string; p99_ms: number }

/** p99 accept-to-commit of the events of each kind committed in each second since `startEpochMs`. */
export async function p99ByKindAndCommitSecond(pool: pg.Pool, startEpochMs: number): Promise<ClassSecond[]> {
  const { rows } = await pool.query<ClassSecond>(
    `SELECT floor(extract(epoch FROM committed_at) - $1::float8 / 1000)::int AS t, kind,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM committed_at - accepted_at) * 1000)::float8 AS p99_ms
       FROM events GROUP BY 1, 2 ORDER BY 1`,
    [startEpochMs],
  );
  return rows;
}

export interface CommittedSet {
  /** 1 at each ledger number committed, of this run's ids. */
  committed: Uint8Array;
  /** Rows whose id is not one of this run's numbered events (none expected: the database is the run's own). */
  foreign: number;
  rows: number;
}

/** Which of the run's `count` numbered events are in `events`, read in slices of 100 000 numbers. */
export async function committedSet(pool: pg.Pool, runId: string, count: number): Promise<CommittedSet> {
  const committed = new Uint8Array(count);
  let foreign = 0;
  let rows = 0;
  const { rows: slices } = await pool.query<{ numbers: string | null; foreign: number; rows: number }>(
    `SELECT string_agg(split_part(id, '-', 5), ',') FILTER (WHERE id LIKE $1) AS numbers,
            count(*) FILTER (WHERE id NOT LIKE $1)::int AS foreign, count(*)::int AS rows
       FROM events GROUP BY CASE WHEN id LIKE $1 THEN split_part(id, '-', 5)::bigint / 100000 ELSE -1 END`,
    [`e-${runId}-%`],
  );
  for (const slice of slices) {
    foreign += slice.foreign;
    rows += slice.rows;
    for (const text of slice.numbers?.split(',') ?? []) {
      const number = Number(text);
      if (Number.isInteger(number) && number >= 0 && number < count) committed[number] = 1;
      else foreign += 1;
    }
  }
  return { committed, foreign, rows };
}
