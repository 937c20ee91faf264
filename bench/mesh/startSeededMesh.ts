import type pg from 'pg';
import { Mesh, type MeshOptions } from '../../tools/launcher/Mesh.js';
import { seedProducts, seedProfiles } from '../../tools/seed.js';
import { createScratchDatabase } from './scratchDatabase.js';
import { redisServerPid } from './redisServerPid.js';
import { createScratchKeyPrefix, redisUrl } from './scratchKeyPrefix.js';

export interface SeededMesh {
  mesh: Mesh;
  /** A pool on the mesh's database, for counting what it committed. */
  pool: pg.Pool;
  databaseName: string;
  /** The Redis server's pid when it runs on this machine (its CPU is then counted), else undefined. */
  redisPid: number | undefined;
  /** Stops the mesh, then deletes its Redis keys and drops its database; safe to call more than once. */
  dispose(): Promise<void>;
}

export interface SeededMeshOptions extends Pick<MeshOptions, 'env' | 'serviceEnv' | 'onLine' | 'replicas' | 'replicaEnv'> {
  users: number;
  products: number;
}

/** The five services as processes, on a fresh database and Redis key prefix, seeded with profiles and products. */
export async function startSeededMesh(options: SeededMeshOptions): Promise<SeededMesh> {
  const keys = await createScratchKeyPrefix();
  const database = await createScratchDatabase().catch(async (error: unknown) => {
    await keys.remove();
    throw error;
  });
  let mesh: Mesh | undefined;
  let redisPid: number | undefined;
  let disposed: Promise<void> | undefined;
  const dispose = () => (disposed ??= (async () => {
    try {
      await mesh?.stop();
    } finally {
      const outcomes = await Promise.allSettled([keys.remove(), database.drop()]);
      for (const outcome of outcomes) if (outcome.status === 'rejected') console.error(`mesh bench: cleanup failed: ${String(outcome.reason)}`);
    }
  })());
  try {
    redisPid = await redisServerPid(keys.redis);
    await seedProfiles(keys.redis, keys.prefix, options.users);
    await seedProducts(database.pool, options.products);
    mesh = await Mesh.start({
      databaseUrl: database.url,
      redisUrl,
      keyPrefix: keys.prefix,
      env: { LOG_LEVEL: 'warn', OTEL_SDK_DISABLED: 'true', ...options.env },
      serviceEnv: options.serviceEnv,
      replicas: options.replicas,
      replicaEnv: options.replicaEnv,
      onLine: options.onLine,
    });
  } catch (error) {
    await dispose();
    throw error;
  }
  return { mesh, pool: database.pool, databaseName: database.name, redisPid, dispose };
}
