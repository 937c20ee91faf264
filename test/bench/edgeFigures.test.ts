import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEdgeArguments } from '../../bench/edge/arguments.js';
import { Outcome, originCode, EventLedger } from '../../bench/edge/EventLedger.js';
import { fairShares, refusedWhileLowerAdmitted, shareError } from '../../bench/edge/figures.js';
import { ledgerFigures } from '../../bench/edge/ledgerFigures.js';
import { ClassSplitter, keyShares, parseMix, parseWeights } from '../../bench/edge/traffic.js';

test('fair shares fill by weight, and a key that wants less than its share leaves the rest to the others', () => {
  assert.deepEqual(fairShares({ a: 100, b: 100 }, { a: 1, b: 1 }, 100), { a: 50, b: 50 });
  assert.deepEqual(fairShares({ a: 100, b: 100 }, { a: 3, b: 1 }, 100), { a: 75, b: 25 });
  assert.deepEqual(fairShares({ a: 10, b: 500 }, { a: 1, b: 1 }, 100), { a: 10, b: 90 });
  assert.deepEqual(fairShares({ a: 10, b: 20 }, { a: 1, b: 1 }, 100), { a: 10, b: 20 });
  assert.deepEqual(fairShares({ a: 0, b: 50 }, { a: 1, b: 1 }, 40), { a: 0, b: 40 });
});

test('the share error is the largest relative deviation from the fair share', () => {
  const even = shareError({ calm: 1000, flood: 5000 }, { calm: 500, flood: 500 }, { calm: 1, flood: 1 });
  assert.equal(even.max, 0);
  const skewed = shareError({ calm: 1000, flood: 5000 }, { calm: 300, flood: 700 }, { calm: 1, flood: 1 });
  assert.equal(skewed.max, 0.4);
  assert.equal(skewed.byKey.calm.fair, 500);
  // The calm key wanted only 200: it had all of it, and the flood key the rest, its fair share.
  assert.equal(shareError({ calm: 200, flood: 5000 }, { calm: 200, flood: 800 }, { calm: 1, flood: 1 }).max, 0);
  assert.equal(shareError({ calm: 0, flood: 0 }, { calm: 0, flood: 0 }, { calm: 1, flood: 1 }).max, null);
});

test('purchases refused count only in buckets where a view was admitted too', () => {
  assert.deepEqual(refusedWhileLowerAdmitted([
    { highRefused: 5, lowAdmitted: 0 }, { highRefused: 3, lowAdmitted: 10 }, { highRefused: 0, lowAdmitted: 10 }, { highRefused: 2, lowAdmitted: 1 },
  ]), { events: 5, buckets: 2 });
});

test('batches split by class keep to the mix over time, carrying fractions of events', () => {
  const splitter = new ClassSplitter(parseMix('purchase:0.1,cart:0.2,click:0.3,view:0.4'));
  const totals = { purchase: 0, cart: 0, click: 0, view: 0 };
  for (let i = 0; i < 100; i += 1) for (const [name, count] of Object.entries(splitter.next(25))) totals[name as keyof typeof totals] += count;
  assert.deepEqual(totals, { purchase: 250, cart: 500, click: 750, view: 1000 });
  assert.deepEqual(parseMix('purchase:1,cart:2,click:3,view:4'), { purchase: 0.1, cart: 0.2, click: 0.3, view: 0.4 });
  assert.throws(() => parseMix('purchase:1,cart:2,click:3'), /missing view/);
  assert.throws(() => parseMix('purchase:1,cart:2,click:3,view:4,refund:1'), /no event kind 'refund'/);
  assert.throws(() => parseMix('purchase:-1,cart:2,click:3,view:4'), /must be a number >= 0/);
});

test('the flood key offers F times as much per weight; weights are validated', () => {
  assert.deepEqual(keyShares({ calm: 1, flood: 1 }), { calm: 0.5, flood: 0.5 });
  const flooding = keyShares({ calm: 1, flood: 1 }, 5);
  assert.ok(Math.abs(flooding.flood - 5 / 6) < 1e-12);
  assert.deepEqual(parseWeights('2:1'), { calm: 2, flood: 1 });
  assert.throws(() => parseWeights('1'), /two numbers/);
  assert.throws(() => parseWeights('1:0'), /two numbers/);
});

test('arguments: defaults, and clear errors', () => {
  const settings = parseEdgeArguments([]);
  assert.equal(settings.burstS, 30);
  assert.equal(settings.factor, 10);
  assert.equal(settings.steadyShare, 0.6);
  assert.equal(parseEdgeArguments(['--burst-s', '5']).burstS, 5);
  assert.throws(() => parseEdgeArguments(['--burst-s', '0']), /--burst-s must be a number > 0/);
  assert.throws(() => parseEdgeArguments(['--grpc-share', '2']), /--grpc-share must be a number from 0 to 1/);
  assert.throws(() => parseEdgeArguments(['--saturation-s', '9']), /more than 10/);
  assert.throws(() => parseEdgeArguments(['--latency-target', '20']), /--latency-target/);
  assert.throws(() => parseEdgeArguments(['--batch', '3000']), /at most 1000 per request/);
  assert.throws(() => parseEdgeArguments(['--grpc-backlog', '10']), /at least --grpc-batch/);
  assert.throws(() => parseEdgeArguments(['--nonsense']), /Unknown option/);
});

test('the ledger counts each phase by when its events were offered, and each second by when they were answered', () => {
  const ledger = new EventLedger();
  const httpPurchase = originCode({ protocol: 'http', key: 'calm', priority: 'purchase' });
  const grpcView = originCode({ protocol: 'grpc', key: 'flood', priority: 'view' });
  const purchases = ledger.allocate(4, httpPurchase, 12);
  ledger.settleRange(purchases, 2, Outcome.noRoom, 13);
  ledger.settleRange(purchases + 2, 2, Outcome.admitted, 15);
  const views = ledger.allocate(3, grpcView, 14);
  ledger.settle(views, Outcome.admitted, 17);
  ledger.settle(views + 1, Outcome.dropped, 14);
  assert.equal(ledger.admitted, 3);
  const figures = ledgerFigures(ledger, [{ name: 'burst', fromS: 1, toS: 2 }]);
  const burst = figures.phases.burst!;
  assert.deepEqual([burst.all.offered, burst.all.admitted, burst.all.shed, burst.all.pending], [7, 3, 3, 1]);
  assert.equal(burst.classes.purchase.no_room, 2);
  assert.equal(burst.classes.view.grpc_backlog_full, 1);
  assert.equal(burst.keys.flood.offered, 3);
  assert.equal(burst.pairs['grpc:view']!.admitted, 1);
  const second = figures.seconds[1]!;
  assert.deepEqual(second.purchaseRefusedByTenth[3], 2);
  assert.deepEqual(second.viewAdmittedByTenth[7], 1);
  assert.equal(second.admitted.calm, 2);
});
