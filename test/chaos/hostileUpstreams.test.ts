import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { RawLink } from '../../conformance/RawLink.js';
import { flowService } from '../../lib/contract/loadContract.js';
import { startMeshUnderTest } from '../helpers/meshHarness.js';
import { postAndAwaitCommit, wireEvents } from '../helpers/httpEvents.js';
import { makeEvents } from '../helpers/events.js';

const insecure = grpc.credentials.createInsecure();
const open = (link = 'hostile', sender = 'hostile-test') => ({ open: { link, sender, protocolVersion: 1 } });

/** A call that never sends a frame, on a connection of its own (one HTTP/2 connection per `connection` key). */
function silentCall(target: string, connection: number): { call: grpc.ClientDuplexStream<Buffer, Buffer>; client: grpc.Client; ended: Promise<grpc.StatusObject> } {
  const client = new grpc.Client(target, insecure, { 'grpc.use_local_subchannel_pool': 1, 'grpc.primary_user_agent': `silent-${connection}` });
  const call = client.makeBidiStreamRequest<Buffer, Buffer>(flowService.Exchange.path, (bytes) => bytes, (bytes) => bytes);
  call.on('error', () => undefined);
  call.on('data', () => undefined);
  const ended = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  return { call, client, ended };
}

/** A link opened the proper way: resolves with whether Opened and a first Credit came. */
async function legitimateOpen(target: string): Promise<{ opened: boolean; status?: string }> {
  const link = new RawLink(target, insecure);
  try {
    link.send(open('legitimate', 'legitimate-upstream'));
    const opened = await link.awaitCredit(1, 5_000);
    return { opened, status: link.status && `${grpc.status[link.status.code]} ${link.status.details}` };
  } finally {
    link.dispose();
  }
}

test('hostile upstreams: slots, names, frames and caches cannot be exhausted, every breach gets its status and a bounded log line, and legitimate links still open', { timeout: 240_000 }, async (t) => {
  const logBytes: Record<string, number> = {};
  const logLines: Record<string, string[]> = {};
  const run = await startMeshUnderTest({
    env: { MAX_LINKS: '64' },
    onLine: (service, line) => {
      logBytes[service] = (logBytes[service] ?? 0) + line.length + 1;
      (logLines[service] ??= []).push(line.slice(0, 300));
    },
  });
  t.after(() => run.dispose());
  const target = run.mesh.address('enrichment');
  const enrichment = run.mesh.services.enrichment;
  const rssStart = enrichment.rssMb()!;

  await t.test('link slots: calls that never send Open, kept renewed, do not lock a legitimate upstream out', async () => {
    const silent: Array<ReturnType<typeof silentCall>> = [];
    // 100 calls over 25 connections, renewed each half second for 5 s: far more than MAX_LINKS waiting at once.
    for (let round = 0; round < 10; round += 1) {
      for (let i = 0; i < 10; i += 1) silent.push(silentCall(target, (round * 10 + i) % 25));
      if (round === 5) {
        const legit = await legitimateOpen(target);
        assert.ok(legit.opened, `a legitimate Open succeeds while the silent calls wait (${legit.status ?? 'open'})`);
      }
      await sleep(500);
    }
    const statuses = await Promise.all(silent.map((s) => Promise.race([s.ended, sleep(8_000).then(() => undefined)])));
    const codes = new Set(statuses.map((status) => (status ? grpc.status[status.code] : 'still open')));
    t.diagnostic(`silent calls ended with ${[...codes].join(', ')}`);
    assert.ok([...codes].every((code) => code === 'RESOURCE_EXHAUSTED' || code === 'DEADLINE_EXCEEDED'), `every silent call is evicted or times out (${[...codes].join(', ')})`);
    for (const s of silent) { s.call.cancel(); s.client.close(); }
    assert.ok((await legitimateOpen(target)).opened, 'and afterwards');
  });

  await t.test('names: 120 links with 1.9 MB names are refused with INVALID_ARGUMENT, and neither the log nor memory grows with them', async () => {
    const logBefore = logBytes.enrichment ?? 0;
    const huge = 'n'.repeat(1_900_000);
    const statuses: Array<number | undefined> = [];
    // Four at a time: more calls of one connection waiting for their Open are refused before their Open is read.
    for (let batch = 0; batch < 30; batch += 1) {
      const links = Array.from({ length: 4 }, () => new RawLink(target, insecure));
      links.forEach((link, i) => link.send(open(`${huge}${batch}-${i}`, huge)));
      statuses.push(...(await Promise.all(links.map((link) => link.endWithin(10_000)))).map((status) => status?.code));
      for (const link of links) link.dispose();
    }
    const logGrowth = (logBytes.enrichment ?? 0) - logBefore;
    t.diagnostic(`120 links with 1.9 MB names: enrichment's log grew ${logGrowth} bytes, RSS ${Math.round(enrichment.rssMb()! - rssStart)} MB over the start`);
    assert.ok(statuses.every((code) => code === grpc.status.INVALID_ARGUMENT), `all refused with INVALID_ARGUMENT (${new Set(statuses.map((code) => grpc.status[code!])).size} kinds)`);
    assert.ok(logGrowth < 120 * 4_096, `every log line is bounded (${logGrowth} bytes for 120 refusals)`);
  });

  await t.test('frames: an undecodable one gets INVALID_ARGUMENT and one over the byte limit RESOURCE_EXHAUSTED, both logged', async () => {
    const garbage = new RawLink(target, insecure);
    garbage.sendBytes(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    assert.equal((await garbage.endWithin(5_000))?.code, grpc.status.INVALID_ARGUMENT, 'an undecodable frame');
    const huge = new RawLink(target, insecure);
    huge.send(open());
    await huge.awaitCredit(1, 5_000);
    huge.send({ batch: { offset: 0, events: [{ ...makeEvents(1)[0], userId: 'u'.repeat(5 * 1024 * 1024) }] } });
    assert.equal((await huge.endWithin(5_000))?.code, grpc.status.RESOURCE_EXHAUSTED, 'a 5 MB frame');
    garbage.dispose();
    huge.dispose();
    await sleep(300);
    const lines = (logLines.enrichment ?? []).join('\n');
    assert.match(lines, /undecodable frame/);
    assert.match(lines, /frame refused for size/);
  });

  await t.test('caches: 400 distinct 100 KB item ids sent straight to join are dead letters, never looked up', async () => {
    const join = run.mesh.services.join;
    const joinBefore = join.rssMb()!;
    const link = new RawLink(run.mesh.address('join'), insecure);
    link.send(open('hostile->join'));
    const ids: string[] = [];
    for (let sent = 0; sent < 400;) {
      assert.ok(await link.awaitCredit(20, 20_000), 'credit from join');
      const events = makeEvents(20).map((event, i) => ({ ...event, itemId: `${sent + i}-${randomBytes(50_000).toString('hex')}`, profile: { found: false, segment: '', country: '', degraded: false } }));
      ids.push(...events.map((event) => event.id!));
      link.send({ batch: { offset: sent, events } });
      sent += events.length;
    }
    const deadline = Date.now() + 60_000;
    while (!link.acks.includes(400) && Date.now() < deadline) await link.next(deadline - Date.now());
    link.dispose();
    assert.ok(link.acks.includes(400), 'join acknowledged them all (once the sink wrote them)');
    const dead = (await run.pool.query("SELECT count(*) FROM dead_letters WHERE stage = 'join' AND event_id = ANY($1) AND reason LIKE 'invalid item_id%'", [ids])).rows[0].count;
    assert.equal(Number(dead), 400);
    // Decoding 40 MB of frames takes memory for a while whatever the cache does; the cache's own bound is ProductCatalog's test.
    t.diagnostic(`join RSS ${Math.round(joinBefore)} MB before, ${Math.round(join.rssMb()!)} MB after 40 MB of item ids`);
    assert.ok(join.running, 'join is up');
  });

  assert.ok(enrichment.running && run.mesh.services.join.running, 'the stages are still up');
  t.diagnostic(`enrichment RSS ${Math.round(rssStart)} MB at the start, ${Math.round(enrichment.rssMb()!)} MB at the end`);
  assert.ok(enrichment.rssMb()! - rssStart < 150, 'enrichment memory stays bounded');
  const events = wireEvents(200, `after-hostile-${randomBytes(3).toString('hex')}`);
  assert.equal(await postAndAwaitCommit(run.mesh.gatewayUrl, run.pool, events), events.length, 'the mesh still carries events end to end');
});
