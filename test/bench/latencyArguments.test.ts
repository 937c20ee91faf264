import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLatencyArguments } from '../../bench/latency/arguments.js';
import { recoverySeconds } from '../../bench/latency/phaseFigures.js';
import type { SecondSample } from '../../bench/burst/SecondRecorder.js';

test('latency bench: defaults, and every option parsed', () => {
  assert.deepEqual(parseLatencyArguments([]), {
    json: false, targetMs: 250, phaseS: 15, saturationS: 15, saturationRate: 60000, slowS: 20, afterS: 15, slowdown: 4, slowPer: 'event', drainS: 20,
    batch: 250, heapMb: 256, sinkConcurrency: 1, sinkDelayMs: 20, modes: ['fixed', 'adaptive'], reportDirectory: 'bench/results',
  });
  assert.deepEqual(parseLatencyArguments([
    '--json', '--target', '100', '--phase-s', '5', '--saturation-s', '8', '--saturation-rate', '1e5', '--slow-s', '7', '--after-s', '6',
    '--slowdown', '2.5', '--slow-per', 'batch', '--drain-s', '3', '--batch', '50', '--heap', '128', '--sink-concurrency', '2', '--sink-delay-ms', '10', '--modes', 'adaptive', '--report', '/tmp/r',
  ]), {
    json: true, targetMs: 100, phaseS: 5, saturationS: 8, saturationRate: 100000, slowS: 7, afterS: 6, slowdown: 2.5, slowPer: 'batch', drainS: 3,
    batch: 50, heapMb: 128, sinkConcurrency: 2, sinkDelayMs: 10, modes: ['adaptive'], reportDirectory: '/tmp/r',
  });
});

test('latency bench: a bad argument is refused with a message naming the option', () => {
  const cases: [string[], RegExp][] = [
    [['--target', '0'], /--target must be a number > 0/],
    [['--target', '2.5'], /--target must be an integer/],
    [['--phase-s', 'long'], /--phase-s must be a number/],
    [['--saturation-s', '5'], /--saturation-s must be more than 5/],
    [['--slowdown', '1'], /--slowdown must be more than 1/],
    [['--slow-per', 'row'], /--slow-per must be event or batch/],
    [['--modes', 'fixed,elastic'], /--modes: unknown mode 'elastic'/],
    [['--unknown'], /Unknown option/],
  ];
  for (const [args, message] of cases) assert.throws(() => parseLatencyArguments(args), message, args.join(' '));
});

test('latency bench: recovery is the first second after which p99 stays under the target', () => {
  const second = (t: number, p99: number | null, committed = 100): SecondSample => ({
    t, offered: 100, accepted: 100, rejected_429: 0, failed: 0, committed, rss_mb: {}, hops: null, redis_mb: null, p50_ms: null, p99_ms: p99,
  });
  assert.equal(recoverySeconds([second(9, 900), second(10, 100), second(11, 120)], 10, 12, 250), 0);
  assert.equal(recoverySeconds([second(10, 900), second(11, 100), second(12, 800), second(13, 200), second(14, 100)], 10, 15, 250), 3);
  assert.equal(recoverySeconds([second(10, 100), second(11, 900)], 10, 12, 250), null);
  // Nothing committed while load was offered is a stall, over the target.
  assert.equal(recoverySeconds([second(10, 100), second(11, null, 0), second(12, 100)], 10, 13, 250), 2);
  assert.equal(recoverySeconds([], 10, 13, 250), null);
});
