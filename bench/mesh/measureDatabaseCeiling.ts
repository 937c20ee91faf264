import { commitEvents } from '../../services/sink/commitEvents.js';
import { JoinedEventFactory } from './joinedEvents.js';
import { ownCpuSeconds, postgresCpuSecondsOf } from './processCpu.js';
import { createScratchDatabase } from './scratchDatabase.js';

export interface DatabaseCeiling {
  rowsPerS: number;
  batchSize: number;
  batches: number;
  seconds: number;
  /** CPU time per 1000 rows of this process (the client) and of its PostgreSQL backend. */
  cpuMsPerThousand: { client: number; postgres: number };
}

export interface CeilingOptions {
  batchSize: number;
  durationS: number;
  warmupS: number;
  users: number;
  products: number;
  signal?: AbortSignal;
}

/**
 * What the sink's database takes without the mesh: the sink's own statement (commitEvents), one batch
 * after another from ONE client, on fresh tables of a database of its own, as fast as it answers.
 */
export async function measureDatabaseCeiling(options: CeilingOptions): Promise<DatabaseCeiling> {
  const database = await createScratchDatabase({ poolSize: 1 });
  try {
    const events = new JoinedEventFactory(options.users, options.products);
    const commitFor = async (seconds: number): Promise<DatabaseCeiling> => {
      let rows = 0;
      let batches = 0;
      const cpuBefore = { client: ownCpuSeconds(), postgres: postgresCpuSecondsOf(database.name) };
      const startMs = performance.now();
      let batch = events.batch(options.batchSize);
      while (performance.now() - startMs < seconds * 1000 && !options.signal?.aborted) {
        const committing = commitEvents(database.pool, batch);
        batch = events.batch(options.batchSize); // made while the database works, so the client is never what it waits for
        rows += (await committing).inserted;
        batches += 1;
      }
      const elapsedS = (performance.now() - startMs) / 1000;
      const msPerThousand = (cpuSeconds: number) => Math.round((cpuSeconds * 1e6) / Math.max(rows, 1));
      return {
        rowsPerS: rows / elapsedS,
        batchSize: options.batchSize,
        batches,
        seconds: elapsedS,
        cpuMsPerThousand: {
          client: msPerThousand(ownCpuSeconds() - cpuBefore.client),
          postgres: msPerThousand(postgresCpuSecondsOf(database.name) - cpuBefore.postgres),
        },
      };
    };
    await commitFor(options.warmupS);
    const measured = await commitFor(options.durationS);
    if (options.signal?.aborted) throw new Error('stopped during the database ceiling');
    return measured;
  } finally {
    await database.drop();
  }
}
