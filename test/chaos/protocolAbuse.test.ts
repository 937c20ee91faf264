import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { RawLink } from '../../conformance/RawLink.js';
import { startMeshUnderTest } from '../helpers/meshHarness.js';
import { postAndAwaitCommit, wireEvents } from '../helpers/httpEvents.js';
import { makeEvents } from '../helpers/events.js';

const insecure = grpc.credentials.createInsecure();
const open = { open: { link: 'abuse', sender: 'abuser', protocolVersion: 1 } };

test('protocol abuse from outside: clean statuses, the service stays up with bounded memory, and the mesh carries on', { timeout: 180_000 }, async (t) => {
  const run = await startMeshUnderTest({ env: { MAX_LINKS: '64' } });
  t.after(() => run.dispose());
  const target = run.mesh.address('enrichment');
  const enrichment = run.mesh.services.enrichment;
  const rssBefore = enrichment.rssMb()!;
  const statusOf = async (link: RawLink) => (await link.endWithin(5_000))?.code;

  const overCredit = new RawLink(target, insecure);
  overCredit.send(open);
  await overCredit.awaitCredit(1, 5_000);
  overCredit.send({ batch: { offset: 0, events: makeEvents(overCredit.outstanding + 1) } });
  assert.equal(await statusOf(overCredit), grpc.status.RESOURCE_EXHAUSTED, 'beyond its credit');

  const reopen = new RawLink(target, insecure);
  reopen.send(open);
  reopen.send(open);
  assert.equal(await statusOf(reopen), grpc.status.FAILED_PRECONDITION, 'Open twice');

  const garbage = new RawLink(target, insecure);
  garbage.sendBytes(randomBytes(4_096));
  const garbageStatus = await statusOf(garbage);
  assert.ok(garbageStatus !== undefined && garbageStatus !== grpc.status.OK, `garbage bytes end the call (${grpc.status[garbageStatus!]})`);

  const huge = new RawLink(target, insecure);
  huge.send(open);
  await huge.awaitCredit(1, 5_000);
  huge.send({ batch: { offset: 0, events: [{ ...makeEvents(1)[0], userId: 'u'.repeat(16 * 1024 * 1024) }] } });
  assert.equal(await statusOf(huge), grpc.status.RESOURCE_EXHAUSTED, 'a 16 MB frame');

  const deaf = new RawLink(target, insecure);
  deaf.send(open);
  await deaf.awaitCredit(1, 5_000);
  deaf.stopReading();
  for (let offset = 0; offset < 2_000; offset += 100) deaf.send({ batch: { offset, events: makeEvents(100) } });

  // Thousands of streams: beyond MAX_LINKS they are refused, and those that never open time out.
  const crowd = Array.from({ length: 2_000 }, () => new RawLink(target, insecure));
  for (const link of crowd) link.send(open);
  // Each one settles as admitted (an Opened frame) or refused (a status); on a loaded machine that can take a while.
  const settle = async (link: RawLink) => {
    const deadline = Date.now() + 60_000;
    while (!link.status && !link.frames.some((frame) => frame.opened) && Date.now() < deadline) await link.next(deadline - Date.now());
    return link.status?.code;
  };
  const crowdStatuses = await Promise.all(crowd.map(settle));
  const refused = crowdStatuses.filter((code) => code === grpc.status.RESOURCE_EXHAUSTED).length;
  const admitted = crowd.filter((link) => link.frames.some((frame) => frame.opened)).length;
  const peakRss = enrichment.rssMb()!;
  t.diagnostic(`2000 streams: ${admitted} admitted, ${refused} refused with RESOURCE_EXHAUSTED (MAX_LINKS 64, one held by the source); enrichment RSS ${Math.round(rssBefore)} MB before, ${Math.round(peakRss)} MB with all of them open`);
  assert.ok(admitted <= 63, `${admitted} admitted`);
  assert.equal(admitted + refused, crowd.length, 'every stream was either admitted or refused');
  assert.ok(crowdStatuses.every((code) => code === undefined || code === grpc.status.RESOURCE_EXHAUSTED), 'no other status');
  for (const link of [...crowd, overCredit, reopen, garbage, huge, deaf]) link.dispose();

  assert.ok(enrichment.running, 'enrichment is still up');
  assert.ok(peakRss - rssBefore < 150, `memory stays bounded (+${Math.round(peakRss - rssBefore)} MB)`);

  // The mesh's own link was never affected: events still flow end to end.
  const events = wireEvents(500, `abuse-${randomBytes(3).toString('hex')}`);
  assert.equal(await postAndAwaitCommit(run.mesh.gatewayUrl, run.pool, events), events.length);
  await sleep(500);
  t.diagnostic(`enrichment RSS after the abusers left: ${Math.round(enrichment.rssMb()!)} MB`);
});
