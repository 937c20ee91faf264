import { runService } from '../../lib/service/runService.js';
import { defaultAddress, defaultAdminAddress } from '../../lib/service/stages.js';
import { runStage } from '../../lib/stage/runStage.js';
import { stageSettings } from '../../lib/stage/stageSettings.js';
import { applyMigrations } from '../../lib/storage/migrate.js';
import { createPool, isPermanentPostgresError, readDatabaseUrl } from '../../lib/storage/postgres.js';
import { commitEvents } from './commitEvents.js';

await runService('sink', async (env, kit) => {
  const settings = stageSettings(env, kit, defaultAddress('sink'));
  const databaseUrl = readDatabaseUrl(env);
  env.done();

  // One connection beyond the batches in flight: the probe that tells a refused batch from a server that is down.
  const pool = createPool(databaseUrl, { max: settings.concurrency + 1, applicationName: 'mesh-sink' });
  kit.closeOnStop(() => pool.end());
  const breaker = kit.breaker('postgres', isPermanentPostgresError, () => pool.query('SELECT 1'));
  await applyMigrations(pool);
  const stage = await runStage({
    ...settings,
    name: 'sink',
    async process(events, trace, signal) {
      await kit.faults.slowSink(events.length);
      await kit.pressure.clock.during('dependency', () => breaker.hold('INSERT events', () => commitEvents(pool, events), { trace, signal }));
      return [];
    },
  });
  return { address: stage.address, stop: () => stage.stop() };
}, { adminAddress: defaultAdminAddress('sink') });
