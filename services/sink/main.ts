import { setTimeout as sleep } from 'node:timers/promises';
import { Breaker, breakerSettings } from '../../lib/breaker.js';
import { runService } from '../../lib/service/runService.js';
import { runStage } from '../../lib/stage/runStage.js';
import { stageSettings } from '../../lib/stage/stageSettings.js';
import { applyMigrations } from '../../lib/storage/migrate.js';
import { createPool, isPermanentPostgresError } from '../../lib/storage/postgres.js';
import { commitEvents } from './commitEvents.js';

await runService('sink', async (env) => {
  const settings = stageSettings(env, '127.0.0.1:50054');
  const databaseUrl = env.url('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/mesh', ['postgres:', 'postgresql:']);
  const delayMs = env.integer('SINK_DELAY_MS', 0, { min: 0, max: 600_000 });
  const breaker = new Breaker('postgres', breakerSettings(env, 'postgres'), isPermanentPostgresError);
  env.done();

  const pool = createPool(databaseUrl, { max: settings.concurrency + 1, applicationName: 'mesh-sink' });
  await applyMigrations(pool);
  const stage = await runStage({
    ...settings,
    name: 'sink',
    async process(events) {
      if (delayMs > 0) await sleep(delayMs);
      await breaker.hold(() => commitEvents(pool, events));
      return [];
    },
  });
  return {
    address: stage.address,
    async stop() {
      await stage.stop();
      breaker.shutdown();
      await pool.end();
    },
  };
});
