import type { Environment } from '../config.js';
import { readLinkCredentials } from '../security/linkCredentials.js';
import type { ServiceKit } from '../service/runService.js';
import { isPermanentRedisError, readKeyPrefix, readRedisUrl } from '../storage/redis.js';
import { readMeshMode, unlimitedCredit, type MeshMode } from './meshMode.js';
import { readRouting } from './openOutbound.js';
import type { StageDefinition } from './runStage.js';
import { stageWiring } from './StageWiring.js';
import { Topics } from './topics/Topics.js';

/**
 * The queues accepted work passes between the gateway's 202 and the sink's commit (the intake's
 * unread entries and the links into enrichment, join and sink): each holds its share of the target.
 * The gateway's link to the source is sized by a share too, though its wait comes before the 202.
 */
export const latencyShares = 4;

/**
 * Fixed windows unless told. Sized by time (250 ms is the benchmark's target) holds p99 at 10x
 * overload to a few hundred ms where fixed windows give seconds, committing as much at saturation
 * (`npm run bench -- latency`); but a hop whose every batch costs a fixed time (a slow dependency's
 * round trip) can still be held below its throughput for a while at low rates, so it is opt-in.
 */
export const defaultLatencyTargetMs = 0;

/**
 * LATENCY_TARGET_MS: 50..60000, or 0 to keep every window at its capacity (fixed windows).
 * A value of 1..49 is read again with the narrower bounds, so that start-up names it.
 */
export function readLatencyTargetMs(env: Environment): number {
  const target = env.integer('LATENCY_TARGET_MS', defaultLatencyTargetMs, { min: 0, max: 60_000 });
  return target > 0 && target < 50 ? env.integer('LATENCY_TARGET_MS', defaultLatencyTargetMs, { min: 50, max: 60_000 }) : target;
}

/**
 * The smallest window sized by time, unless told: small, because a floor is what a slowed or
 * stalled hop's queues hold whatever its rate (at 1,000 events/s a floor of one whole batch of
 * 500 is 500 ms in every queue); a busy hop's batches are kept whole by its own link (see
 * LinkReceiver), for the hops whose cost is per batch, not by the floor.
 */
export function defaultMinWindow(maxBatchEvents: number): number {
  return Math.min(64, maxBatchEvents);
}

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
  const maxBatchEvents = env.integer('MAX_BATCH_EVENTS', 500, { min: 1, max: 100_000 });
  return {
    mode,
    wiring: stageWiring({ credentials, topics, routing: readRouting(env) }),
    pressure: kit.pressure,
    health: kit.health,
    listen: env.address('LISTEN_ADDR', defaultListen),
    receiver: {
      capacity: env.integer('LINK_CAPACITY', mode === 'naive' ? unlimitedCredit : 4096, { min: 1, max: unlimitedCredit }),
      maxBatchEvents,
      maxBatchBytes: env.integer('MAX_BATCH_BYTES', 4 * 1024 * 1024, { min: 1024, max: 64 * 1024 * 1024 }),
      maxLinks: env.integer('MAX_LINKS', 64, { min: 1, max: 10_000 }),
      maxPendingOpens: env.integer('MAX_PENDING_OPENS', 16, { min: 1, max: 10_000 }),
      openTimeoutMs: env.integer('OPEN_TIMEOUT_MS', 2_000, { min: 100, max: 600_000 }),
      latencyShareMs: readLatencyTargetMs(env) / latencyShares,
      minWindow: env.integer('LINK_MIN_WINDOW', defaultMinWindow(maxBatchEvents), { min: 1, max: unlimitedCredit }),
    },
    concurrency: env.integer('STAGE_CONCURRENCY', 4, { min: 1, max: 1_000 }),
    credentials,
  };
}
