import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runConformance } from '../../conformance/runConformance.js';
import { startReferenceReceiver } from '../../conformance/referenceReceiver.js';
import {
  batchAfterClose, emptyBatch, halfClose, idleGrant, malformedFrames, openNames, pendingOpens, scenarios, sizedWindows,
  type CheckResult, type Scenario,
} from '../../conformance/checks.js';
import {
  acceptsEmptyFrames, acceptsOverCredit, conforming, countsCallsBeforeOpen, grantsOnlyWholeChunks, grantsZero, ignoresClose,
  ignoresHalfClose, ignoresMinWindow, ignoresNameLimits, neverReplenishes, slowConsumer, startBrokenReceiver, undecodableIsInternal, type Breakage,
} from './brokenReceivers.js';

const cli = fileURLToPath(new URL('../../conformance/cli.js', import.meta.url));
const failedRules = (results: CheckResult[]) => [...new Set(results.filter((result) => !result.pass).map((result) => result.rule))].sort();
/** Every check the kit makes, one line each on the command line. */
const checkCount = 29;

/** Runs the command line without blocking this process, which may be serving the receiver it checks. */
function runCli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, LOG_LEVEL: 'silent' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => { stdout += text; });
    child.stderr.setEncoding('utf8').on('data', (text: string) => { stderr += text; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function checkBroken(breakage: Breakage, only?: Scenario[]): Promise<CheckResult[]> {
  const receiver = await startBrokenReceiver(breakage);
  try {
    return await runConformance(receiver.target, { timeoutMs: 1_000, scenarios: only });
  } finally {
    receiver.stop();
  }
}

function find(results: CheckResult[], title: RegExp): CheckResult {
  const found = results.filter((result) => title.test(result.title));
  assert.equal(found.length, 1, `one check titled ${title}, among: ${results.map((result) => result.title).join(' | ')}`);
  return found[0]!;
}

describe('conformance kit', { timeout: 120_000 }, () => {
  test('the reference receiver passes every check, covering rules 1, 2, 3, 5, 7, 8 and 9', async () => {
    const receiver = await startReferenceReceiver();
    try {
      const results = await runConformance(`127.0.0.1:${receiver.port}`);
      assert.deepEqual(results.filter((result) => !result.pass), []);
      assert.equal(results.length, checkCount);
      assert.deepEqual([...new Set(results.map((result) => result.rule))].sort(), [1, 2, 3, 5, 7, 8, 9]);
    } finally {
      await receiver.stop();
    }
  });

  test('rule 3: the reference receiver sized by time, its window shrinking, passes every check', async () => {
    const receiver = await startReferenceReceiver('127.0.0.1:0', { latencyShareMs: 20, minWindow: 50 });
    try {
      const results = await runConformance(`127.0.0.1:${receiver.port}`);
      assert.deepEqual(results.filter((result) => !result.pass), []);
      assert.equal(results.length, checkCount);
    } finally {
      await receiver.stop();
    }
  });

  test('rule 3: catches a receiver whose window stays below the Open.min_window its sender announced', async () => {
    const results = await checkBroken(ignoresMinWindow, [sizedWindows]);
    const minWindow = find(results, /Open\.min_window/);
    assert.equal(minWindow.pass, false, minWindow.seen);
    assert.equal(find(results, /never refused/).pass, true, 'shrinking by withholding is allowed');
  });

  test('a receiver written against the proto alone that keeps the contract passes every check', async () => {
    const results = await checkBroken(conforming);
    assert.deepEqual(results.filter((result) => !result.pass), []);
    assert.equal(results.length, checkCount);
  });

  test('every check has a title that names its rule\'s subject and says what it saw', async () => {
    const results = await checkBroken(conforming);
    for (const result of results) {
      assert.ok(result.title.length >= 20, `title: ${result.title}`);
      assert.ok(result.seen.length >= 2, `seen of ${result.title}: ${result.seen}`);
    }
    assert.equal(new Set(results.map((result) => result.title)).size, results.length, 'titles are unique');
  });

  test('catches a receiver that grants 0 (rules 1 and 3)', async () => {
    const failed = failedRules(await checkBroken(grantsZero));
    assert.ok(failed.includes(1) && failed.includes(3), `failed rules: ${failed}`);
  });

  test('catches a receiver that never replenishes (rule 3)', async () => {
    const results = await checkBroken(neverReplenishes);
    const replenish = find(results, /^credit is replenished/);
    assert.equal(replenish.pass, false);
    assert.match(replenish.seen, /no credit for 1000 ms after 100 events/);
  });

  test('catches a receiver that accepts batches beyond its credit (rule 2)', async () => {
    const results = await checkBroken(acceptsOverCredit);
    const overCredit = results.find((result) => result.rule === 2);
    assert.equal(overCredit?.pass, false);
    assert.match(overCredit!.seen, /accepted 101 events with only 100 granted/);
  });

  test('catches a receiver that grants only whole chunks, leaving its sender short for good (rule 3)', async () => {
    const [check] = await checkBroken(grantsOnlyWholeChunks, [idleGrant]);
    assert.equal(check!.pass, false);
    assert.match(check!.seen, /outstanding credit stayed at 99 of 100/);
    const [kept] = await checkBroken(conforming, [idleGrant]);
    assert.equal(kept!.pass, true, kept!.seen);
  });

  test('catches a receiver that does not bound names in bytes, or takes an unnamed link (rule 7)', async () => {
    const results = await checkBroken(ignoresNameLimits, [openNames]);
    for (const title of [/link name is 257 bytes/, /sender is 257 bytes/, /empty link name/]) {
      const check = find(results, title);
      assert.equal(check.pass, false, check.title);
      assert.match(check.seen, /no status \(the link stayed open\), after answering Opened/);
    }
    assert.equal(find(results, /exactly 256 bytes/).pass, true);
  });

  test('catches a receiver that lets grpc-js refuse an undecodable frame with INTERNAL (rule 7)', async () => {
    const results = await checkBroken(undecodableIsInternal, [malformedFrames]);
    const check = find(results, /does not decode/);
    assert.equal(check.pass, false);
    assert.match(check.seen, /^INTERNAL/);
  });

  test('catches a receiver that takes a frame with nothing in it, or a Batch of no events (rules 7 and 9)', async () => {
    const results = await checkBroken(acceptsEmptyFrames, [malformedFrames, emptyBatch]);
    for (const title of [/carries none of open, batch and close/, /Batch of no events/]) {
      const check = find(results, title);
      assert.equal(check.pass, false, check.title);
      assert.match(check.seen, /no status/);
    }
  });

  test('catches a receiver whose calls hold a link slot before their Open (rule 7)', async () => {
    const results = await checkBroken(countsCallsBeforeOpen, [pendingOpens]);
    const proper = find(results, /a proper Open/);
    assert.equal(proper.pass, false);
    assert.match(proper.seen, /^ended before Opened: RESOURCE_EXHAUSTED/);
    const idle = find(results, /never send Open/);
    assert.equal(idle.pass, false);
    assert.match(idle.seen, /64 still open/);
  });

  test('a receiver that keeps the contract evicts calls waiting for their Open and times the rest out (rule 7)', async () => {
    const results = await checkBroken(conforming, [pendingOpens]);
    assert.ok(results.every((result) => result.pass), JSON.stringify(results));
    // 16 wait at most: the 64 oldest are evicted by newer ones and one more by the proper call; the 15 newest run out of time.
    assert.match(find(results, /never send Open/).seen, /65 RESOURCE_EXHAUSTED, 15 DEADLINE_EXCEEDED/);
  });

  test('catches a receiver that takes a Batch after Close (rule 8)', async () => {
    const [check] = await checkBroken(ignoresClose, [batchAfterClose]);
    assert.equal(check!.pass, false);
    assert.match(check!.seen, /acknowledged 51 events: the Batch after Close was accepted/);
  });

  test('a receiver still holding events when Close arrives refuses the Batch behind it with FAILED_PRECONDITION (rule 8)', async () => {
    const [check] = await checkBroken(slowConsumer, [batchAfterClose]);
    assert.equal(check!.pass, true, check!.seen);
    assert.match(check!.seen, /^FAILED_PRECONDITION "Batch after Close"/);
  });

  test('catches a receiver that ignores a half-close (rule 8)', async () => {
    const results = await checkBroken(ignoresHalfClose, [halfClose]);
    assert.equal(results.length, 2);
    for (const check of results) {
      assert.equal(check.pass, false, check.title);
      assert.match(check.seen, /no status \(the link stayed open\)/);
    }
  });

  test('runs the scenarios it is given, in order, and all of them by default', async () => {
    assert.ok(scenarios.includes(pendingOpens) && scenarios.at(-1)!.name === 'grantsInRange');
    const results = await checkBroken(conforming, [emptyBatch, idleGrant]);
    assert.deepEqual(results.map((result) => result.rule), [9, 3]);
  });

  test('the command line prints one line per check and exits non-zero on any failure', async () => {
    const good = await runCli(['--self']);
    const lines = good.stdout.split('\n').filter((line) => /^(PASS|FAIL) rule \d: /.test(line));
    assert.equal(lines.length, checkCount);
    assert.deepEqual(lines.filter((line) => !line.startsWith('PASS')), []);
    assert.equal(good.status, 0, good.stderr);

    const broken = await startBrokenReceiver(neverReplenishes);
    try {
      const bad = await runCli(['--target', broken.target, '--timeout-ms', '500']);
      assert.equal(bad.status, 1, bad.stderr);
      assert.match(bad.stdout, /^FAIL rule 3: credit is replenished/m);
      assert.match(bad.stdout, /^PASS rule 2: /m);
      // Against a target, it says what the run leaves behind in a live mesh.
      assert.match(bad.stdout, /^the kit sent \d+ events \(\d+ acknowledged\); .*dead_letters with event ids starting 'conformance-\d+-'/m);
    } finally {
      broken.stop();
    }

    const usage = spawnSync(process.execPath, [cli], { encoding: 'utf8' });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /usage: npm run conformance/);
  });
});
