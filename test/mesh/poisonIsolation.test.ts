import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { RawLink } from '../../conformance/RawLink.js';
import type { Event } from '../../lib/contract/loadContract.js';
import { startMeshUnderTest, type MeshUnderTest } from '../helpers/meshHarness.js';
import { postUntilAccepted, wireEvents } from '../helpers/httpEvents.js';

const insecure = grpc.credentials.createInsecure();
const trigger = 'refused-by-trigger';

/** An operator's trigger that refuses some rows with a SQLSTATE of no class the sink knows (P0001), as any server-side rule could. */
async function installRefusingTrigger(run: MeshUnderTest): Promise<void> {
  await run.pool.query(`
    CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.id LIKE '%${trigger}%' THEN RAISE EXCEPTION 'refused by the operator''s trigger' USING ERRCODE = 'P0001'; END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER refuse_marked BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_marked();`);
}

const product = { found: true, name: 'Poison test product', category: 'test', listPriceCents: 100 };
const profile = { found: true, segment: 'test', country: 'NL', degraded: false };

/** Sends `events` over a link of its own, straight to a stage, and waits until the stage acknowledged all of them. */
async function sendOverLink(target: string, events: Event[]): Promise<void> {
  const link = new RawLink(target, insecure);
  try {
    link.send({ open: { link: 'poison->stage', sender: 'poison-test', protocolVersion: 1 } });
    assert.ok(await link.awaitCredit(events.length, 10_000), 'credit for the batch');
    link.send({ batch: { offset: 0, events } });
    const deadline = Date.now() + 30_000;
    while (!link.acks.includes(events.length) && Date.now() < deadline) await link.next(deadline - Date.now());
    assert.ok(link.acks.includes(events.length), `the stage acknowledged all ${events.length} events (acks ${link.acks.join(',')}; ${link.status?.details ?? 'open'})`);
  } finally {
    link.dispose();
  }
}

async function count(run: MeshUnderTest, sql: string, ids: string[]): Promise<number> {
  return Number((await run.pool.query(sql, [ids])).rows[0].count);
}

test('poison isolation: poison of every kind, from the edge and over links, is dead-lettered with its error while every normal event is committed once, and no stage stops for long', { timeout: 180_000 }, async (t) => {
  const run = await startMeshUnderTest();
  t.after(() => run.dispose());
  await installRefusingTrigger(run);
  const runId = `poison-${randomBytes(3).toString('hex')}`;

  // From the edge: valid events among 3000 that Postgres refuses for a reason the sink has never heard of.
  const edge = wireEvents(3_000, runId);
  const refusedAtEdge = [101, 1_337, 2_999].map((i) => { edge[i] = { ...edge[i]!, id: `${runId}-${trigger}-${i}` }; return edge[i]!.id; });
  const normalIds = edge.map((event) => event.id).filter((id) => !refusedAtEdge.includes(id));

  // Straight to the sink, as another program in join's place could send: one poison of each kind beside normal events.
  const base = (suffix: string): Event => ({
    id: `${runId}-link-${suffix}`, userId: 'user-1', itemId: 'item-1', kind: 'view', eventTimeMs: Date.now(), priceCents: 100, acceptedAtMs: Date.now(), profile, product,
  });
  const oversizedId = randomBytes(1_400).toString('hex'); // 2800 bytes of incompressible text: over Postgres' btree limit
  const sinkPoison: Array<{ event: Event; storedAs: string; reason: RegExp }> = [
    { event: { ...base('x'), id: oversizedId }, storedAs: `sha256:${createHash('sha256').update(oversizedId).digest('hex')}`, reason: /invalid id: longer than 512 bytes/ },
    { event: { ...base('kind'), kind: 'x' }, storedAs: `${runId}-link-kind`, reason: /invalid kind/ },
    { event: { ...base('price'), priceCents: -5 }, storedAs: `${runId}-link-price`, reason: /invalid price_cents/ },
    { event: { ...base('time'), eventTimeMs: 0 }, storedAs: `${runId}-link-time`, reason: /invalid event_time_ms/ },
    { event: { ...base('item'), itemId: 'i'.repeat(3_000) }, storedAs: `${runId}-link-item`, reason: /invalid item_id/ },
    { event: { ...base('product-nul'), product: { ...product, name: 'bad\u0000name' } }, storedAs: `${runId}-link-product-nul`, reason: /0x00|invalid byte sequence/ },
    { event: { ...base('segment-nul'), profile: { ...profile, segment: 'seg\u0000' } }, storedAs: `${runId}-link-segment-nul`, reason: /0x00|invalid byte sequence/ },
    { event: { ...base('no-product'), product: { ...product, found: false } }, storedAs: `${runId}-link-no-product`, reason: /unknown product/ },
    { event: { ...base(trigger) }, storedAs: `${runId}-link-${trigger}`, reason: /refused by the operator's trigger/ },
  ];
  const sinkNormal = Array.from({ length: 40 }, (_, i) => base(`ok-${i}`));
  const sinkBatch = [...sinkNormal.slice(0, 20), ...sinkPoison.map((p) => p.event), ...sinkNormal.slice(20)];

  // Straight to enrichment: fields it depends on, and the rest, are checked there too.
  const enrichmentPoison: Array<{ event: Event; reason: RegExp }> = [
    { event: { ...base('enrich-user'), profile: null, product: null, userId: 'u'.repeat(100_000) }, reason: /invalid user_id: longer than 512 bytes/ },
    { event: { ...base('enrich-kind'), profile: null, product: null, kind: 'x' }, reason: /invalid kind/ },
  ];

  // How long the commit count stood still while normal events were still outstanding.
  const expected = normalIds.length + sinkNormal.length;
  const allNormal = [...normalIds, ...sinkNormal.map((event) => event.id!)];
  let committed = 0;
  let longestStallMs = 0;
  let lastProgressAt = Date.now();
  const watching = (async () => {
    const deadline = Date.now() + 90_000;
    while (committed < expected && Date.now() < deadline) {
      const now = await count(run, 'SELECT count(*) FROM events WHERE id = ANY($1)', allNormal);
      if (now > committed) { committed = now; lastProgressAt = Date.now(); }
      longestStallMs = Math.max(longestStallMs, Date.now() - lastProgressAt);
      await sleep(100);
    }
  })();
  const started = Date.now();
  await Promise.all([
    (async () => { for (let from = 0; from < edge.length; from += 100) await postUntilAccepted(run.mesh.gatewayUrl, edge.slice(from, from + 100)); })(),
    sendOverLink(run.mesh.address('sink'), sinkBatch),
    sendOverLink(run.mesh.address('enrichment'), enrichmentPoison.map((p) => p.event)),
  ]);
  await watching;
  t.diagnostic(`${expected} normal events committed in ${Date.now() - started} ms; the longest stall of commits ${longestStallMs} ms`);

  assert.equal(committed, expected, 'every normal event is committed');
  assert.equal(await count(run, 'SELECT count(*) FROM events WHERE id = ANY($1)', refusedAtEdge), 0);
  const counted = Number((await run.pool.query('SELECT coalesce(sum(count), 0) AS total FROM item_minute')).rows[0].total);
  const rows = Number((await run.pool.query('SELECT count(*) FROM events')).rows[0].count);
  assert.equal(rows, expected, 'nothing but the normal events is in events');
  assert.equal(counted, rows, 'item_minute counts each committed event once');

  const deadLetters = async (stage: string) => new Map((await run.pool.query('SELECT event_id, reason FROM dead_letters WHERE stage = $1', [stage])).rows.map((row) => [row.event_id as string, row.reason as string]));
  const atSink = await deadLetters('sink');
  for (const id of refusedAtEdge) assert.match(atSink.get(id) ?? 'missing', /refused by the operator's trigger/, `dead letter of ${id}`);
  for (const poison of sinkPoison) assert.match(atSink.get(poison.storedAs) ?? 'missing', poison.reason, `dead letter of ${poison.storedAs.slice(0, 60)}`);
  assert.equal(atSink.size, refusedAtEdge.length + sinkPoison.length, 'no normal event is dead-lettered');
  const atEnrichment = await deadLetters('enrichment');
  for (const poison of enrichmentPoison) assert.match(atEnrichment.get(poison.event.id!) ?? 'missing', poison.reason);
  assert.ok(longestStallMs < 10_000, `no stage stopped for long (longest stall ${longestStallMs} ms)`);
  for (const name of ['source', 'enrichment', 'join', 'sink'] as const) assert.ok(run.mesh.services[name].running, `${name} is up`);
});

test('poison isolation: a stage holding a batch for a dependency that is down for everyone still stops on SIGTERM', { timeout: 90_000 }, async (t) => {
  const run = await startMeshUnderTest({ env: { FAULT_SWITCHES: 'on' } });
  t.after(() => run.dispose());
  const sink = run.mesh.services.sink;
  const faults = await fetch(`http://${run.mesh.adminAddress('sink')}/v1/faults`, { method: 'PUT', body: JSON.stringify({ postgres_failure_percent: 100 }) });
  assert.equal(faults.status, 200);
  await postUntilAccepted(run.mesh.gatewayUrl, wireEvents(50, `held-${randomBytes(3).toString('hex')}`));
  // The sink holds: its breaker opens.
  const deadline = Date.now() + 20_000;
  let opened = false;
  while (Date.now() < deadline && !opened) {
    const metrics = await (await fetch(`http://${run.mesh.adminAddress('sink')}/metrics`)).text();
    opened = /mesh_breaker_state\{[^}]*dependency="postgres"[^}]*\} 2/.test(metrics);
    await sleep(200);
  }
  assert.ok(opened, 'the sink holds its batch, its breaker open');
  const stopping = Date.now();
  const code = await sink.stop('SIGTERM', 30_000);
  const tookMs = Date.now() - stopping;
  t.diagnostic(`sink exited ${code} ${tookMs} ms after SIGTERM`);
  assert.equal(code, 0, 'it exits by itself, cleanly');
  assert.ok(tookMs < 12_000, `within its grace period and the close timeouts (${tookMs} ms)`);
});

test('poison isolation: an event too large for any frame the next stage accepts goes on as a dead letter, and its link carries on', { timeout: 90_000 }, async (t) => {
  const run = await startMeshUnderTest({ serviceEnv: { sink: { MAX_BATCH_BYTES: '4096' } } });
  t.after(() => run.dispose());
  const runId = `fat-${randomBytes(3).toString('hex')}`;
  const event = (suffix: string, segment = 'test'): Event => ({
    id: `${runId}-${suffix}`, userId: 'user-1', itemId: 'item-1', kind: 'view', eventTimeMs: Date.now(), priceCents: 100, acceptedAtMs: Date.now(), profile: { ...profile, segment },
  });
  const batch = [event('before'), event('fat', 's'.repeat(10_000)), event('after')];
  await sendOverLink(run.mesh.address('join'), batch);
  const committed = await count(run, 'SELECT count(*) FROM events WHERE id = ANY($1)', [`${runId}-before`, `${runId}-after`]);
  assert.equal(committed, 2, 'the events around it are committed');
  const dead = (await run.pool.query('SELECT stage, reason, payload FROM dead_letters WHERE event_id = $1', [`${runId}-fat`])).rows;
  assert.equal(dead.length, 1, 'the fat one is a dead letter');
  assert.equal(dead[0].stage, 'join');
  assert.match(dead[0].reason, /needs a \d+-byte frame; the receiver accepts at most 4096/);
  assert.ok(dead[0].payload.profile.segment.length <= 1_025, 'its payload cut to size');
});
