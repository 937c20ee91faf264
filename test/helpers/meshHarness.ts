import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { applyMigrations } from '../../lib/storage/migrate.js';
import { createRedis, deleteKeysWithPrefix, redisReady, type Redis } from '../../lib/storage/redis.js';
import { seedProducts, seedProfiles } from '../../tools/seed.js';
import { Mesh, type MeshOptions, type ServiceName } from '../../tools/launcher/Mesh.js';
import { RecentLines } from './RecentLines.js';
import { freshDatabase, redisUrl } from './testServers.js';

export interface MeshUnderTest {
  mesh: Mesh;
  pool: pg.Pool;
  redis: Redis;
  keyPrefix: string;
  databaseUrl: string;
  /** The last lines a service wrote, for a failure's diagnostics. */
  recentLines(service: ServiceName): string[];
  /** Stops the mesh, then removes the database and every key of this run. */
  dispose(): Promise<void>;
}

/**
 * A whole mesh of real processes for one test, on a database and a Redis key
 * prefix of its own, seeded with `users` profiles and `products` products.
 */
export async function startMeshUnderTest(options: { users?: number; products?: number } & Partial<Pick<MeshOptions, 'env' | 'serviceEnv' | 'replace' | 'replicas' | 'replicaEnv' | 'adminPorts' | 'onLine'>> = {}): Promise<MeshUnderTest> {
  const database = await freshDatabase();
  const pool = database.pool();
  const keyPrefix = `mesh-test-${randomBytes(5).toString('hex')}:`;
  const redis = createRedis(redisUrl, { name: 'mesh-test' });
  await redisReady(redis);
  await applyMigrations(pool);
  await seedProfiles(redis, keyPrefix, options.users ?? 200);
  await seedProducts(pool, options.products ?? 100);
  const dispose = async () => {
    await mesh?.stop();
    await deleteKeysWithPrefix(redis, keyPrefix);
    redis.disconnect();
    await database.drop();
  };
  let mesh: Mesh | undefined;
  const recent = new RecentLines();
  try {
    mesh = await Mesh.start({
      databaseUrl: database.url,
      redisUrl,
      keyPrefix,
      // No tracing unless a test asks for it (with its own OTLP receiver).
      env: { LOG_LEVEL: 'warn', OTEL_SDK_DISABLED: 'true', ...options.env },
      serviceEnv: options.serviceEnv,
      replace: options.replace,
      replicas: options.replicas,
      replicaEnv: options.replicaEnv,
      adminPorts: options.adminPorts,
      onLine: (service, line) => {
        recent.record(service, line);
        options.onLine?.(service, line);
      },
    });
  } catch (error) {
    await dispose();
    throw error;
  }
  return { mesh, pool, redis, keyPrefix, databaseUrl: database.url, recentLines: (service) => recent.of(service), dispose };
}

