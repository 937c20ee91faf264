import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { StageClock } from '../../lib/telemetry/StageClock.js';
import { RateWindow } from '../../lib/telemetry/RateWindow.js';

test('the stage clock puts every millisecond in exactly one of busy, back-pressured and idle', async () => {
  const clock = new StageClock();
  await sleep(60);
  clock.enter('busy');
  await sleep(60);
  clock.enter('backpressured');
  clock.enter('backpressured');
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
