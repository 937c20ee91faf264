import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMeshUnderTest } from '../helpers/meshHarness.js';
import { postEvents, wireEvents } from '../helpers/httpEvents.js';

const ofKind = (kind: string, count: number, runId: string, from: number) => wireEvents(count, runId, { from }).map((event) => ({ ...event, kind }));

test('under pressure the edge sheds views first and keeps purchases, says which class it shed and why, and shows each class in /v1/pressure and /metrics', { timeout: 120_000 }, async (t) => {
  // A sink that takes seconds per batch and a small intake: a few requests use up most of its window.
  const run = await startMeshUnderTest({
    env: { INTAKE_MAX_LENGTH: '1000', LINK_CAPACITY: '1000' },
    serviceEnv: { sink: { SINK_DELAY_MS: '1500', STAGE_CONCURRENCY: '1', MAX_BATCH_EVENTS: '100' } },
  });
  t.after(() => run.dispose());
  const runId = `priority-${randomBytes(3).toString('hex')}`;
  let next = 0;
  const post = (kind: string) => postEvents(run.mesh.gatewayUrl, JSON.stringify(ofKind(kind, 100, runId, (next += 100))));

  // Requests wait for the intake's room while they hold their credit on the link to the source (1000
  // events): views come one after another, without waiting for their answers, until one is refused.
  // Small purchases come all along (room is kept for a class only while it is offered events).
  const answers: Array<ReturnType<typeof post>> = [];
  let viewsDone = false;
  const purchasing = (async () => {
    for (let sent = 0; !viewsDone && sent < 200; sent += 1) {
      answers.push(postEvents(run.mesh.gatewayUrl, JSON.stringify(ofKind('purchase', 1, runId, (next += 1)))));
      await sleep(250);
    }
  })();
  let refusedView: Awaited<ReturnType<typeof post>> | undefined;
  for (let attempt = 0; attempt < 100 && !refusedView; attempt += 1) {
    const answer = post('view');
    answers.push(answer);
    const early = await Promise.race([answer, sleep(100).then(() => undefined)]);
    if (early?.status === 429) refusedView = early;
  }
  assert.ok(refusedView, 'views are refused once the intake\'s window is used up to their reserve');
  assert.equal(refusedView.body.class, 'view');
  assert.equal(refusedView.body.reason, 'reserve');
  const retryAfter = refusedView.body.retry_after_seconds as Record<string, number>;
  assert.deepEqual(Object.keys(retryAfter), ['purchase', 'cart', 'click', 'view']);
  assert.ok(retryAfter.view! >= retryAfter.purchase!, `a view waits at least as long as a purchase (${JSON.stringify(retryAfter)})`);
  assert.equal(Number(refusedView.retryAfter), retryAfter.view, 'Retry-After is the refused class\'s');
  const edge = () => fetch(`${run.mesh.gatewayUrl}/v1/pressure`).then(async (response) => (await response.json() as any).edge.classes as Record<string, { offered_per_second: number; admitted_per_second: number; shed_per_second: number; p99_ms: number | null }>);
  const justShed = await edge();
  assert.ok(justShed.view!.offered_per_second > 0 && justShed.view!.shed_per_second > 0, JSON.stringify(justShed.view));
  assert.equal(justShed.purchase!.shed_per_second, 0);

  viewsDone = true;
  await purchasing;
  // The view was refused to keep room for higher classes: a purchase now is admitted (once the intake has room for it).
  const purchase = await post('purchase');
  assert.equal(purchase.status, 202, JSON.stringify(purchase.body));
  assert.equal(purchase.body.class, 'purchase');
  for (const answer of await Promise.all(answers)) assert.ok([202, 429].includes(answer.status), JSON.stringify(answer.body));

  // The classes as the edge and the sink see them; the sink's p99 comes once a purchase is committed.
  let classes = await edge();
  for (let waited = 0; waited < 30_000 && !classes.purchase?.p99_ms; waited += 500) {
    await sleep(500);
    classes = await edge();
  }
  assert.ok(classes.purchase!.p99_ms! > 0, `a p99 accept-to-commit for purchases, from the sink: ${JSON.stringify(classes.purchase)}`);
  const metrics = await (await fetch(`${run.mesh.gatewayUrl}/metrics`)).text();
  assert.match(metrics, /^mesh_edge_class_events_total\{class="view",outcome="shed",stage="gateway",replica="[^"]+"\} [1-9]\d*$/m);
  assert.match(metrics, /^mesh_edge_class_events_total\{class="purchase",outcome="admitted",stage="gateway",replica="[^"]+"\} [1-9]\d*$/m);
  assert.match(metrics, /^mesh_edge_key_events_total\{key="anonymous",outcome="admitted",stage="gateway",replica="[^"]+"\} [1-9]\d*$/m);
  assert.match(metrics, /^mesh_sink_class_accept_to_commit_seconds\{quantile="0.99",class="purchase",stage="sink",replica="[^"]+"\} [\d.e-]+$/m);
});

test('a request may ask for a lower class with X-Priority-Class, not a higher one than its events\' unless its key allows it', { timeout: 60_000 }, async (t) => {
  const run = await startMeshUnderTest({ serviceEnv: { gateway: { GATEWAY_API_KEYS: 'shop:shop-token,partner:partner-token', GATEWAY_KEY_MAX_CLASS: 'partner:cart' } } });
  t.after(() => run.dispose());
  const runId = `override-${randomBytes(3).toString('hex')}`;
  let next = 0;
  const post = async (token: string, kind: string, requested: string) => {
    const response = await fetch(`${run.mesh.gatewayUrl}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-priority-class': requested },
      body: JSON.stringify(ofKind(kind, 10, runId, (next += 10))),
    });
    return { status: response.status, body: await response.json() as any };
  };
  assert.deepEqual(await post('shop-token', 'purchase', 'view'), { status: 202, body: { accepted: 10, class: 'view' } });
  const raised = await post('shop-token', 'view', 'cart');
  assert.equal(raised.status, 400);
  assert.match(raised.body.error, /class view at most/);
  assert.deepEqual(await post('partner-token', 'view', 'cart'), { status: 202, body: { accepted: 10, class: 'cart' } });
  const tooHigh = await post('partner-token', 'view', 'purchase');
  assert.equal(tooHigh.status, 400);
  assert.match(tooHigh.body.error, /class cart at most/);
  assert.match((await post('shop-token', 'view', 'gold')).body.error, /no priority class "gold"/);
});

test('a purchase that finds no room waits for it instead of being refused, and while it waits the room that comes back is kept from views', { timeout: 120_000 }, async (t) => {
  const run = await startMeshUnderTest({
    env: { INTAKE_MAX_LENGTH: '300', LINK_CAPACITY: '600' },
    serviceEnv: { sink: { SINK_DELAY_MS: '500', STAGE_CONCURRENCY: '1', MAX_BATCH_EVENTS: '100' }, gateway: { GATEWAY_PRIORITY_WAIT_MS: '20000' } },
  });
  t.after(() => run.dispose());
  const runId = `waiting-${randomBytes(3).toString('hex')}`;
  let next = 0;
  const post = (kind: string, count: number, headers: Record<string, string> = {}) => fetch(`${run.mesh.gatewayUrl}/v1/events`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(ofKind(kind, count, runId, (next += count))),
  }).then(async (response) => ({ status: response.status, body: await response.json() as any }));

  // Views, one after another without waiting for their answers, until the link to the source has no room left.
  const views: Array<ReturnType<typeof post>> = [];
  let full = false;
  for (let attempt = 0; attempt < 100 && !full; attempt += 1) {
    const answer = post('view', 100);
    views.push(answer);
    const early = await Promise.race([answer, sleep(100).then(() => undefined)]);
    full = early?.status === 429 && early.body.reason === 'no-room';
  }
  assert.ok(full, 'the views used up the room');

  // A purchase larger than a chunk of returning credit: it waits through the first chunk, which a small view would fit in.
  let purchaseAnswer: Awaited<ReturnType<typeof post>> | undefined;
  const purchase = post('purchase', 500, { 'x-priority-class': 'purchase' }).then((answer) => (purchaseAnswer = answer));
  const viewsWhileWaiting: Array<Awaited<ReturnType<typeof post>>> = [];
  while (!purchaseAnswer) {
    const answer = await post('view', 1);
    if (!purchaseAnswer) viewsWhileWaiting.push(answer);
    await sleep(100);
  }
  assert.equal(purchaseAnswer.status, 202, JSON.stringify(purchaseAnswer.body));
  assert.equal(purchaseAnswer.body.class, 'purchase');
  assert.ok(viewsWhileWaiting.length > 0, 'the purchase waited');
  assert.deepEqual(viewsWhileWaiting.filter((answer) => answer.status !== 429), [], 'no view was admitted while the purchase waited');
  assert.ok(viewsWhileWaiting.some((answer) => answer.body.reason === 'reserve'), `a view that fitted was refused to keep the room for the purchase: ${JSON.stringify(viewsWhileWaiting.map((answer) => answer.body.reason))}`);
  await purchase;
  for (const answer of await Promise.all(views)) assert.ok([202, 429].includes(answer.status), JSON.stringify(answer.body));
});
