import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startSeededMesh } from '../mesh/startSeededMesh.js';
import { BurstyLoad } from './burstyLoad.js';
import { RandomKiller } from './RandomKiller.js';

const users = 1000;
const products = 500;

/**
 * `npm run bench -- soak --duration S`: bursty load with random kill -9 and
 * restarts of random services for S seconds, then the mesh drains and every
 * accepted event is looked for: lost ones are missing from `events`,
 * duplicated ones are counted twice in `item_minute` (the primary key keeps
 * `events` itself from holding an id twice).
 */
export async function runSoakBenchmark(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      duration: { type: 'string', default: '60' },
      'kill-every': { type: 'string', default: '3:8' },
      json: { type: 'boolean', default: false },
    },
  });
  const durationS = Number(values.duration);
  const [minKill, maxKill] = values['kill-every'].split(':').map(Number);
  if (!(durationS > 0) || !(minKill! > 0) || !(maxKill! >= minKill!)) {
    console.error('usage: npm run bench -- soak [--duration S] [--kill-every MIN:MAX seconds] [--json]');
    process.exit(2);
  }

  const seeded = await startSeededMesh({ users, products });
  const stopOnSignal = () => void seeded.dispose().then(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  try {
    const { mesh, pool } = seeded;
    const committedCount = async () => Number((await pool.query('SELECT count(*) FROM events')).rows[0].count);
    console.log(`soak: ${durationS} s of bursty load, a random service killed every ${minKill}-${maxKill} s`);
    const load = new BurstyLoad({ gatewayUrl: mesh.gatewayUrl, runId: `soak-${randomBytes(4).toString('hex')}`, users, products, clients: 6, batch: 200, steadySeconds: 6, burstSeconds: 3 });
    const killer = new RandomKiller(mesh, minKill!, maxKill!);
    const started = Date.now();
    while (Date.now() - started < durationS * 1000) {
      await sleep(1000);
      const last = killer.kills.at(-1);
      console.log(`t=${Math.round((Date.now() - started) / 1000)}s accepted=${load.accepted.length} committed=${await committedCount()} kills=${killer.kills.length}${last ? ` last=${last.service}` : ''}`);
    }
    await killer.stop();
    await load.stop();
    console.log('soak: load stopped, draining');

    const drainStarted = Date.now();
    let committed = await committedCount();
    for (let stable = 0; stable < 8 && Date.now() - drainStarted < 180_000;) {
      await sleep(500);
      const now = await committedCount();
      stable = now === committed && now >= load.accepted.length ? stable + 1 : 0;
      committed = now;
    }
    const accepted = load.accepted;
    const present = Number((await pool.query('SELECT count(*) FROM events WHERE id = ANY($1)', [accepted])).rows[0].count);
    const counted = Number((await pool.query('SELECT coalesce(sum(count), 0) AS total FROM item_minute')).rows[0].total);
    const result = {
      duration_s: durationS,
      accepted: accepted.length,
      committed,
      lost: accepted.length - present,
      duplicated: counted - committed,
      kills: killer.kills.length,
      kills_by_service: Object.fromEntries([...new Set(killer.kills.map((kill) => kill.service))].map((service) => [service, killer.kills.filter((kill) => kill.service === service).length])),
      answers: Object.fromEntries(load.answers),
      drain_s: Math.round((Date.now() - drainStarted) / 100) / 10,
    };
    console.log(`soak: accepted ${result.accepted}, committed ${result.committed}, lost ${result.lost}, duplicated ${result.duplicated}, kills ${result.kills} ${JSON.stringify(result.kills_by_service)}, answers ${JSON.stringify(result.answers)}`);
    if (values.json) console.log(JSON.stringify(result));
    if (result.lost !== 0 || result.duplicated !== 0) process.exitCode = 1;
  } finally {
    process.off('SIGINT', stopOnSignal);
    await seeded.dispose();
  }
}
