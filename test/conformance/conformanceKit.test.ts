import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runConformance } from '../../conformance/runConformance.js';
import { startReferenceReceiver } from '../../conformance/referenceReceiver.js';
import type { CheckResult } from '../../conformance/checks.js';
import { acceptsOverCredit, grantsZero, neverReplenishes, startBrokenReceiver, type Breakage } from './brokenReceivers.js';

const cli = fileURLToPath(new URL('../../conformance/cli.js', import.meta.url));
const failedRules = (results: CheckResult[]) => [...new Set(results.filter((result) => !result.pass).map((result) => result.rule))].sort();

async function checkBroken(breakage: Breakage): Promise<CheckResult[]> {
  const receiver = await startBrokenReceiver(breakage);
  try {
    return await runConformance(receiver.target, { timeoutMs: 1_000 });
  } finally {
    receiver.stop();
  }
}

describe('conformance kit', { timeout: 60_000 }, () => {
  test('the reference receiver passes every check, covering rules 1, 2, 3, 5, 7, 8 and 9', async () => {
    const receiver = await startReferenceReceiver();
    try {
      const results = await runConformance(`127.0.0.1:${receiver.port}`);
      assert.deepEqual(results.filter((result) => !result.pass), []);
      assert.deepEqual([...new Set(results.map((result) => result.rule))].sort(), [1, 2, 3, 5, 7, 8, 9]);
    } finally {
      await receiver.stop();
    }
  });

  test('catches a receiver that grants 0 (rules 1 and 3)', async () => {
    const failed = failedRules(await checkBroken(grantsZero));
    assert.ok(failed.includes(1) && failed.includes(3), `failed rules: ${failed}`);
  });

  test('catches a receiver that never replenishes (rule 3)', async () => {
    const results = await checkBroken(neverReplenishes);
    const replenish = results.find((result) => result.rule === 3 && result.title.startsWith('credit is replenished'));
    assert.equal(replenish?.pass, false);
    assert.match(replenish!.seen, /no credit for 1000 ms after 100 events/);
  });

  test('catches a receiver that accepts batches beyond its credit (rule 2)', async () => {
    const results = await checkBroken(acceptsOverCredit);
    const overCredit = results.find((result) => result.rule === 2);
    assert.equal(overCredit?.pass, false);
    assert.match(overCredit!.seen, /accepted 101 events with only 100 granted/);
  });

  test('the command line prints one line per check and exits non-zero on any failure', async () => {
    const good = spawnSync(process.execPath, [cli, '--self'], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent' } });
    assert.equal(good.status, 0, good.stderr);
    const lines = good.stdout.split('\n').filter((line) => /^(PASS|FAIL) rule \d: /.test(line));
    assert.equal(lines.length, 13);
    assert.ok(lines.every((line) => line.startsWith('PASS')));

    const broken = await startBrokenReceiver(neverReplenishes);
    try {
      const bad = spawnSync(process.execPath, [cli, '--target', broken.target, '--timeout-ms', '500'], { encoding: 'utf8' });
      assert.equal(bad.status, 1);
      assert.match(bad.stdout, /^FAIL rule 3: credit is replenished/m);
    } finally {
      broken.stop();
    }

    const usage = spawnSync(process.execPath, [cli], { encoding: 'utf8' });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /usage: npm run conformance/);
  });
});
