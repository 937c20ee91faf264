import { runService } from '../../lib/service/runService.js';
import { defaultAddress, defaultAdminAddress } from '../../lib/service/stages.js';
import { runStage } from '../../lib/stage/runStage.js';
import { stageSettings } from '../../lib/stage/stageSettings.js';
import { createPool, isPermanentPostgresError, readDatabaseUrl } from '../../lib/storage/postgres.js';
import { ProductCatalog } from './ProductCatalog.js';

await runService('join', async (env, kit) => {
  const settings = stageSettings(env, kit, defaultAddress('join'));
  const sinkAddress = env.addresses('SINK_ADDR', defaultAddress('sink'));
  const databaseUrl = readDatabaseUrl(env);
  const cache = {
    maxEntries: env.integer('PRODUCT_CACHE_ENTRIES', 100_000, { min: 1, max: 10_000_000 }),
    maxBytes: env.integer('PRODUCT_CACHE_BYTES', 32 * 1024 * 1024, { min: 64 * 1024, max: 4 * 1024 * 1024 * 1024 }),
    ttlMs: env.integer('PRODUCT_CACHE_TTL_MS', 60_000, { min: 1, max: 86_400_000 }),
  };
  env.done();

  const pool = createPool(databaseUrl, { max: settings.concurrency + 1, applicationName: 'mesh-join' });
  kit.closeOnStop(() => pool.end());
  const breaker = kit.breaker('postgres', isPermanentPostgresError, () => pool.query('SELECT 1'));
  const catalog = new ProductCatalog(pool, breaker, cache);
  const stage = await runStage({
    ...settings,
    name: 'join',
    downstream: { target: sinkAddress, link: 'join->sink' },
    async process(events, trace, signal) {
      const products = await kit.pressure.clock.during('dependency', () => catalog.lookup(events.map((event) => event.itemId), { trace, signal }));
      return events.map((event) => ({ ...event, product: products.get(event.itemId)! }));
    },
  });
  return { address: stage.address, stop: () => stage.stop() };
}, { adminAddress: defaultAdminAddress('join') });
