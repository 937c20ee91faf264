import type pg from 'pg';

/** The rows of `events` at one moment, with the database's clock then (as text, to keep microseconds). */
export interface CommittedSnapshot {
  rows: number;
  at: string;
}

export async function snapshotCommitted(pool: pg.Pool): Promise<CommittedSnapshot> {
  // statement_timestamp() is when the count's snapshot was taken, on the same clock as committed_at.
  const { rows } = await pool.query<CommittedSnapshot>('SELECT count(*)::int AS rows, statement_timestamp()::text AS at FROM events');
  return rows[0]!;
}

export interface CommitWindow {
  seconds: number;
  /** Accept-to-commit latency percentiles of the rows committed in the window. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Rows committed in the window per distinct committed_at, i.e. per sink transaction. */
  eventsPerCommit: number | null;
}

/**
 * The rows committed in [from, to): accepted_at is when the source put the event in its intake,
 * committed_at the sink transaction's now() (the start of its commit statement).
 */
export async function describeCommitWindow(pool: pg.Pool, from: string, to: string): Promise<CommitWindow> {
  const { rows } = await pool.query<{ seconds: number; ms: number[] | null; events_per_commit: number | null }>(
    `SELECT extract(epoch FROM $2::timestamptz - $1::timestamptz)::float8 AS seconds,
            percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM committed_at - accepted_at) * 1000) AS ms,
            count(*)::float8 / nullif(count(DISTINCT committed_at), 0) AS events_per_commit
     FROM events WHERE committed_at >= $1::timestamptz AND committed_at < $2::timestamptz`,
    [from, to],
  );
  const { seconds, ms, events_per_commit: eventsPerCommit } = rows[0]!;
  return { seconds, p50Ms: ms?.[0] ?? null, p99Ms: ms?.[1] ?? null, eventsPerCommit };
}
