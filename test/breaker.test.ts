import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Breaker, DataFailure } from '../lib/breaker.js';
import { createRedis } from '../lib/storage/redis.js';
import { ProfileStore } from '../services/enrichment/ProfileStore.js';
import { freshDatabase } from './helpers/testServers.js';

const settings = { timeoutMs: 500, errorThresholdPercentage: 50, resetTimeoutMs: 200, volumeThreshold: 2 };

test('hold: while the dependency fails, the breaker opens and only its half-open probes reach it; the call completes when it recovers', async () => {
  const breaker = new Breaker('flaky', settings);
  let calls = 0;
  const healthyAt = Date.now() + 1_000;
  const result = await breaker.hold('call', async () => {
    calls += 1;
    if (Date.now() < healthyAt) throw new Error('down');
    return 'up';
  });
  assert.equal(result, 'up');
  assert.equal(breaker.state, 'closed');
  // About one probe per reset interval (200 ms) over one second, plus the calls that opened it: not a storm.
  assert.ok(calls >= 3 && calls <= 12, `${calls} calls reached the dependency`);
  breaker.shutdown();
});

test('hold gives up when its signal aborts', async () => {
  const breaker = new Breaker('dead', settings);
  const stop = new AbortController();
  setTimeout(() => stop.abort(new Error('stopping')), 300);
  await assert.rejects(breaker.hold('call', () => Promise.reject(new Error('down')), { signal: stop.signal }), /stopping/);
  breaker.shutdown();
});

test('enrichment in degrade mode passes events on with the profile marked degraded while Redis is unreachable', async () => {
  const unreachable = createRedis('redis://127.0.0.1:1', { name: 'unreachable' });
  const breaker = new Breaker('redis', settings);
  const store = new ProfileStore(unreachable, 'x:', breaker, 'degrade');
  const profiles = await store.lookup(['user-1', 'user-2']);
  assert.deepEqual(profiles.get('user-1'), { found: false, segment: '', country: '', degraded: true });
  assert.equal(profiles.size, 2);
  unreachable.disconnect();
  breaker.shutdown();
});

test('hold: a batch that Postgres keeps refusing while it answers a probe is a DataFailure, given up after three attempts without opening the breaker, whatever its SQLSTATE class', async (t) => {
  const database = await freshDatabase();
  t.after(() => database.drop());
  const pool = database.pool();
  await pool.query('CREATE TABLE keyed (id text PRIMARY KEY)');
  // Everything counts as a dependency failure here: only the probe can tell the batch from the server.
  const breaker = new Breaker('postgres', { ...settings, volumeThreshold: 2 }, () => false, undefined, () => pool.query('SELECT 1'));
  t.after(() => breaker.shutdown());
  let attempts = 0;
  const insertTooLargeKey = () => { attempts += 1; return pool.query('INSERT INTO keyed VALUES ($1)', [randomBytes(1_500).toString('hex')]); };
  const error = await breaker.hold('INSERT keyed', insertTooLargeKey).then(() => undefined, (failure: unknown) => failure);
  assert.ok(error instanceof DataFailure, `a DataFailure (${String(error)})`);
  assert.match(error.message, /index row size .* exceeds .* \(54000\)/);
  assert.equal(attempts, 3);
  assert.equal(breaker.state, 'closed', 'the breaker stays closed: the server answers everyone else');
  assert.equal(breaker.failures, 0);
  assert.equal((await breaker.hold('INSERT keyed', () => pool.query("INSERT INTO keyed VALUES ('ok')"))).rowCount, 1, 'the next batch goes through');
});

test('hold: when the probe fails too the dependency is down for everyone, and the call holds', async (t) => {
  const breaker = new Breaker('postgres', settings, () => false, undefined, () => Promise.reject(new Error('connection refused')));
  t.after(() => breaker.shutdown());
  const stop = new AbortController();
  setTimeout(() => stop.abort(new Error('stopping')), 800);
  let attempts = 0;
  await assert.rejects(breaker.hold('call', () => { attempts += 1; return Promise.reject(new Error('down')); }, { signal: stop.signal }), /stopping/);
  assert.equal(breaker.state, 'open', 'failures of the dependency open the breaker');
  assert.ok(attempts >= 2, `${attempts} attempts`);
});
