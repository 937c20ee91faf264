import type { Environment } from '../config.js';
import { readLinkCredentials } from '../security/linkCredentials.js';
import type { ServiceKit } from '../service/runService.js';
import { isPermanentRedisError, readKeyPrefix, readRedisUrl } from '../storage/redis.js';
import { readMeshMode, unlimitedCredit, type MeshMode } from './meshMode.js';
import { readRouting } from './openOutbound.js';
import type { StageDefinition } from './runStage.js';
import { stageWiring } from './StageWiring.js';
import { Topics } from './topics/Topics.js';

export type StageSettings = Pick<StageDefinition, 'listen' | 'receiver' | 'concurrency' | 'credentials' | 'pressure' | 'health' | 'wiring'> & { mode: MeshMode };

/**
 * The settings every hop reads the same way: where it listens, its link limits, its concurrency,
 * its link TLS, and how it is wired (MESH_MODE; the decoupled mode's topics live in REDIS_URL).
 */
export function stageSettings(env: Environment, kit: ServiceKit, defaultListen: string): StageSettings {
  const mode = readMeshMode(env);
  const topics = mode === 'decoupled'
    ? new Topics(readRedisUrl(env), readKeyPrefix(env), kit.breaker('redis', isPermanentRedisError))
    : undefined;
  const credentials = readLinkCredentials(env);
  return {
    mode,
    wiring: stageWiring({ credentials, topics, routing: readRouting(env) }),
    pressure: kit.pressure,
    health: kit.health,
    listen: env.address('LISTEN_ADDR', defaultListen),
    receiver: {
      capacity: env.integer('LINK_CAPACITY', mode === 'naive' ? unlimitedCredit : 4096, { min: 1, max: unlimitedCredit }),
      maxBatchEvents: env.integer('MAX_BATCH_EVENTS', 500, { min: 1, max: 100_000 }),
      maxBatchBytes: env.integer('MAX_BATCH_BYTES', 4 * 1024 * 1024, { min: 1024, max: 64 * 1024 * 1024 }),
      maxLinks: env.integer('MAX_LINKS', 64, { min: 1, max: 10_000 }),
      maxPendingOpens: env.integer('MAX_PENDING_OPENS', 16, { min: 1, max: 10_000 }),
      openTimeoutMs: env.integer('OPEN_TIMEOUT_MS', 2_000, { min: 100, max: 600_000 }),
    },
    concurrency: env.integer('STAGE_CONCURRENCY', 4, { min: 1, max: 1_000 }),
    credentials,
  };
}
