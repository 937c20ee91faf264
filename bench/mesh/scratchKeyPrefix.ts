import { randomBytes } from 'node:crypto';
import { createRedis, deleteKeysWithPrefix, redisReady, type Redis } from '../../lib/storage/redis.js';

export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A random Redis key prefix of the benchmark's own; remove() deletes every key under it. */
export interface ScratchKeyPrefix {
  prefix: string;
  redis: Redis;
  remove(): Promise<void>;
}

export async function createScratchKeyPrefix(): Promise<ScratchKeyPrefix> {
  const prefix = `mesh-bench-${randomBytes(5).toString('hex')}:`;
  const redis = createRedis(redisUrl, { name: 'mesh-bench' });
  try {
    await redisReady(redis);
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  let removed: Promise<void> | undefined;
  const remove = () => (removed ??= deleteKeysWithPrefix(redis, prefix).finally(() => redis.disconnect()));
  return { prefix, redis, remove };
}
