import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { StageClock } from '../../lib/telemetry/StageClock.js';
import { RateWindow } from '../../lib/telemetry/RateWindow.js';

test('the stage clock puts every millisecond in exactly one of busy, back-pressured and idle', async () => {
  const clock = new StageClock();
  await sleep(60);
  const endWork = clock.begin('work');
  await sleep(60);
  endWork();
  const endCreditWait = clock.begin('credit');
  await sleep(60);
  const totals = clock.totals();
  const started = totals.idle + totals.busy + totals.backpressured;
  assert.ok(totals.idle >= 55 && totals.busy >= 55 && totals.backpressured >= 55, JSON.stringify(totals));
  await sleep(30);
  // The stretch in progress counts as it goes, in the current state only.
  const later = clock.totals();
  assert.ok(later.backpressured - totals.backpressured >= 25);
  assert.equal(later.busy, totals.busy);
  assert.ok(later.idle + later.busy + later.backpressured > started);
  endCreditWait();
  endCreditWait();
  assert.equal(clock.state, 'idle', 'ending an activity twice ends it once');
});

test('a hop with several things in hand is busy while any work is in progress, else back-pressured while anything waits for credit', async () => {
  const clock = new StageClock();
  const endCreditWait = clock.begin('credit');
  assert.equal(clock.state, 'backpressured');
  const endFirst = clock.begin('work');
  const endSecond = clock.begin('work');
  assert.equal(clock.state, 'busy', 'work in progress outweighs a wait for credit');
  endFirst();
  assert.equal(clock.state, 'busy', 'one batch still in work');
  endSecond();
  assert.equal(clock.state, 'backpressured');
  endCreditWait();
  assert.equal(clock.state, 'idle');
});

test('a call to the dependency is busy time, and is counted apart as the part of it spent waiting on the dependency', async () => {
  const clock = new StageClock();
  await clock.during('dependency', () => sleep(60));
  assert.equal(clock.state, 'idle');
  const endWork = clock.begin('work');
  await sleep(60);
  endWork();
  const totals = clock.totals();
  assert.ok(totals.busy >= 115, `busy ${totals.busy} ms`);
  assert.ok(clock.dependencyTotal() >= 55 && clock.dependencyTotal() < 100, `dependency ${clock.dependencyTotal()} ms`);
  await assert.rejects(clock.during('dependency', () => Promise.reject(new Error('refused'))), /refused/);
  assert.equal(clock.state, 'idle', 'a failed call ends its activity');
});

test('a rate window reports per-second rates of cumulative figures from its oldest sample', async () => {
  let events = 0;
  const rates = new RateWindow(() => ({ events }), 5_000);
  try {
    const ticker = setInterval(() => { events += 10; }, 10);
    await sleep(1_100);
    clearInterval(ticker);
    const { events: perSecond } = rates.rates();
    assert.ok(perSecond! > 500 && perSecond! < 1_100, `${perSecond} events/s`);
  } finally {
    rates.stop();
  }
});
