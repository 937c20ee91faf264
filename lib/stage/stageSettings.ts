import type { Environment } from '../config.js';
import { readLinkCredentials } from '../security/linkCredentials.js';
import type { StageDefinition } from './runStage.js';

/** The settings every hop reads the same way: where it listens, its link limits, its concurrency and its link TLS. */
export function stageSettings(env: Environment, defaultListen: string): Pick<StageDefinition, 'listen' | 'receiver' | 'concurrency' | 'credentials'> {
  return {
    listen: env.address('LISTEN_ADDR', defaultListen),
    receiver: {
      capacity: env.integer('LINK_CAPACITY', 4096, { min: 1, max: 1_000_000 }),
      maxBatchEvents: env.integer('MAX_BATCH_EVENTS', 500, { min: 1, max: 100_000 }),
      maxBatchBytes: env.integer('MAX_BATCH_BYTES', 4 * 1024 * 1024, { min: 1024, max: 64 * 1024 * 1024 }),
      maxLinks: env.integer('MAX_LINKS', 64, { min: 1, max: 10_000 }),
    },
    concurrency: env.integer('STAGE_CONCURRENCY', 4, { min: 1, max: 1_000 }),
    credentials: readLinkCredentials(env),
  };
}
