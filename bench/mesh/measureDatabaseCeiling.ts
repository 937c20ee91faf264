import type pg from 'pg';
import type { Event__Output } from '../../lib/contract/loadContract.js';
import { commitEvents } from '../../services/sink/commitEvents.js';
import { bareInsert, createFloorTable } from './bareInsert.js';
import { JoinedEventFactory } from './joinedEvents.js';
import { ownCpuSeconds, postgresCpuSecondsOf } from './processCpu.js';
import { createScratchDatabase } from './scratchDatabase.js';

/** One statement committed batch after batch from one client. */
export interface StatementRate {
  rowsPerS: number;
  batches: number;
  seconds: number;
  /** CPU time per 1000 rows of this process (the client) and of its PostgreSQL backend. */
  cpuMsPerThousand: { client: number; postgres: number };
}

export interface DatabaseCeiling extends StatementRate {
  batchSize: number;
  /** The bare insert (unnest … ON CONFLICT DO NOTHING into a copy of `events`), same client and batches: the floor any statement pays. */
  floor: StatementRate;
}

export interface CeilingOptions {
  batchSize: number;
  durationS: number;
  warmupS: number;
  users: number;
  products: number;
  signal?: AbortSignal;
}

type Statement = (pool: pg.Pool, events: Event__Output[]) => Promise<number>;

const sinkStatement: Statement = async (pool, events) => (await commitEvents(pool, events)).inserted;

/**
 * What the sink's database takes without the mesh: the sink's own statement (commitEvents), one batch
 * after another from ONE client, on fresh tables of a database of its own, as fast as it answers; then,
 * beside it, the bare insert of the same batches from the same client.
 */
export async function measureDatabaseCeiling(options: CeilingOptions): Promise<DatabaseCeiling> {
  const database = await createScratchDatabase({ poolSize: 1 });
  try {
    await createFloorTable(database.pool);
    const events = new JoinedEventFactory(options.users, options.products);
    const measure = async (statement: Statement): Promise<StatementRate> => {
      await commitFor(database, events, statement, options.warmupS, options);
      return commitFor(database, events, statement, options.durationS, options);
    };
    const ceiling = await measure(sinkStatement);
    const floor = await measure(bareInsert);
    if (options.signal?.aborted) throw new Error('stopped during the database ceiling');
    return { ...ceiling, batchSize: options.batchSize, floor };
  } finally {
    await database.drop();
  }
}

async function commitFor(
  database: { pool: pg.Pool; name: string }, events: JoinedEventFactory, statement: Statement, seconds: number, options: CeilingOptions,
): Promise<StatementRate> {
  let rows = 0;
  let batches = 0;
  const cpuBefore = { client: ownCpuSeconds(), postgres: postgresCpuSecondsOf(database.name) };
  const startMs = performance.now();
  let batch = events.batch(options.batchSize);
  while (performance.now() - startMs < seconds * 1000 && !options.signal?.aborted) {
    const committing = statement(database.pool, batch);
    batch = events.batch(options.batchSize); // made while the database works, so the client is never what it waits for
    rows += await committing;
    batches += 1;
  }
  const elapsedS = (performance.now() - startMs) / 1000;
  const msPerThousand = (cpuSeconds: number) => Math.round((cpuSeconds * 1e6) / Math.max(rows, 1));
  return {
    rowsPerS: rows / elapsedS,
    batches,
    seconds: elapsedS,
    cpuMsPerThousand: {
      client: msPerThousand(ownCpuSeconds() - cpuBefore.client),
      postgres: msPerThousand(postgresCpuSecondsOf(database.name) - cpuBefore.postgres),
    },
  };
}
