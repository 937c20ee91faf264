import { randomBytes } from 'node:crypto';
import { createRedis, redisReady, type Redis } from '../../lib/storage/redis.js';

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
  const remove = () => (removed ??= deleteKeys(redis, prefix).finally(() => redis.disconnect()));
  return { prefix, redis, remove };
}

async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
