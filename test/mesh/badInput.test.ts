import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMeshUnderTest, type MeshUnderTest } from '../helpers/meshHarness.js';
import { postEvents, wireEvents } from '../helpers/httpEvents.js';

describe('bad input at the gateway', { timeout: 60_000 }, () => {
  let run: MeshUnderTest;
  const runId = `bad-${randomBytes(4).toString('hex')}`;
  before(async () => { run = await startMeshUnderTest(); });
  after(() => run.dispose());

  const eventCount = async () => Number((await run.pool.query('SELECT count(*) FROM events')).rows[0].count);
  const intakeLength = () => run.redis.xlen(`${run.keyPrefix}intake`);

  test('malformed JSON, wrong types and missing fields get 400 with a reason per event, and nothing is written', async () => {
    const [good] = wireEvents(1, runId);
    const cases: Array<{ body: string; type?: string; expect: RegExp }> = [
      { body: '[{"id": "x", ', expect: /malformed JSON/ },
      { body: '{"id": "not an array"}', expect: /JSON array/ },
      { body: JSON.stringify([{ ...good, price_cents: '100' }]), expect: /price_cents/ },
      { body: JSON.stringify([{ ...good, kind: 'teleport' }]), expect: /kind/ },
      { body: JSON.stringify([{ ...good, event_time: 'yesterday' }]), expect: /event_time/ },
      { body: JSON.stringify([{ ...good, user_id: undefined }]), expect: /user_id/ },
      { body: JSON.stringify([good, { ...good, id: `${runId}-other`, item_id: 'x'.repeat(129) }]), expect: /item_id/ },
      { body: JSON.stringify([good, good]), expect: /repeats/ },
      { body: `${JSON.stringify(good)}\n{"id": oops}\n`, type: 'application/x-ndjson', expect: /malformed JSON/ },
    ];
    for (const { body, type, expect } of cases) {
      const answer = await postEvents(run.mesh.gatewayUrl, body, type);
      assert.equal(answer.status, 400, body);
      assert.match(JSON.stringify(answer.body), expect);
    }
    const partly = await postEvents(run.mesh.gatewayUrl, JSON.stringify([good, { ...good, id: `${runId}-bad`, price_cents: -1 }]));
    assert.deepEqual(partly.body.errors, [{ index: 1, field: 'price_cents', reason: 'required, an integer >= 0' }]);
    await sleep(300);
    assert.equal(await intakeLength(), 0);
    assert.equal(await eventCount(), 0, 'a request with any invalid event writes none of them');
  });

  test('oversized bodies, too many events and unknown content types are refused', async () => {
    const huge = await postEvents(run.mesh.gatewayUrl, JSON.stringify(wireEvents(1, runId)).padEnd(2 * 1024 * 1024, ' '));
    assert.equal(huge.status, 413);
    const tooMany = await postEvents(run.mesh.gatewayUrl, JSON.stringify(wireEvents(1001, runId)));
    assert.equal(tooMany.status, 413);
    assert.match(tooMany.body.error, /at most 1000 events/);
    const text = await postEvents(run.mesh.gatewayUrl, 'hello', 'text/plain');
    assert.equal(text.status, 415);
    const wrongMethod = await fetch(`${run.mesh.gatewayUrl}/v1/events`);
    assert.equal(wrongMethod.status, 405);
    assert.equal(await eventCount(), 0);
  });

  test('an event whose product does not exist becomes a dead_letters row while the stream goes on', async () => {
    const [orphan, ...rest] = wireEvents(20, `${runId}-dl`);
    const answer = await postEvents(run.mesh.gatewayUrl, JSON.stringify([{ ...orphan!, item_id: 'item-does-not-exist' }, ...rest]));
    assert.equal(answer.status, 202);
    assert.deepEqual(answer.body, { accepted: 20, class: 'view' }, 'mixed kinds: the class of the lowest');
    const after = await postEvents(run.mesh.gatewayUrl, wireEvents(5, `${runId}-after`).map((event) => JSON.stringify(event)).join('\n'), 'application/x-ndjson');
    assert.equal(after.status, 202);
    const deadline = Date.now() + 10_000;
    while ((await eventCount()) < 24 && Date.now() < deadline) await sleep(100);
    assert.equal(await eventCount(), 24);
    const dead = await run.pool.query('SELECT event_id, stage, reason FROM dead_letters');
    assert.deepEqual(dead.rows, [{ event_id: orphan!.id, stage: 'sink', reason: 'unknown product item-does-not-exist' }]);
  });

  test('hot items of the current minute, and clear errors for a bad minute or limit', async () => {
    const answer = await fetch(`${run.mesh.gatewayUrl}/v1/hot-items?limit=3`);
    assert.equal(answer.status, 200);
    const body = await answer.json() as { minute: string; items: Array<{ item_id: string; count: number }> };
    assert.equal(body.items.length, 3);
    assert.ok(body.items[0]!.count >= body.items[2]!.count);
    const top = await run.pool.query('SELECT item_id, count FROM item_minute WHERE minute = $1 ORDER BY count DESC, item_id LIMIT 3', [body.minute]);
    assert.deepEqual(body.items, top.rows.map((row) => ({ item_id: row.item_id, count: Number(row.count) })));
    assert.equal((await fetch(`${run.mesh.gatewayUrl}/v1/hot-items?minute=noon`)).status, 400);
    assert.equal((await fetch(`${run.mesh.gatewayUrl}/v1/hot-items?limit=0`)).status, 400);
    assert.equal((await fetch(`${run.mesh.gatewayUrl}/healthz`)).status, 200);
    assert.equal((await fetch(`${run.mesh.gatewayUrl}/readyz`)).status, 200);
  });
});
