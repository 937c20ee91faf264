import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConfigError, Environment } from '../lib/config.js';
import { readLatencyTargetMs } from '../lib/stage/stageSettings.js';

test('configuration is read from the environment with defaults, and every problem is named at once', () => {
  const env = new Environment({ LINK_CAPACITY: 'lots', SINK_DELAY_MS: '-5', JOIN_ADDR: 'join', MODE: 'fast', GATEWAY_PORT: '9090' });
  assert.equal(env.integer('GATEWAY_PORT', 8080, { min: 0, max: 65_535 }), 9090);
  assert.equal(env.integer('MAX_LINKS', 64), 64);
  env.integer('LINK_CAPACITY', 4096, { min: 1 });
  env.integer('SINK_DELAY_MS', 0, { min: 0 });
  env.address('JOIN_ADDR', '127.0.0.1:50053');
  env.oneOf('MODE', ['hold', 'degrade'] as const, 'hold');
  env.url('DATABASE_URL', 'mysql://x', ['postgres:']);
  assert.throws(() => env.done(), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(error.problems.map((problem) => problem.split(' ')[0]), ['LINK_CAPACITY', 'SINK_DELAY_MS', 'JOIN_ADDR', 'MODE', 'DATABASE_URL']);
    return true;
  });
});

test('a service with invalid configuration exits at start-up with status 2, naming the variable', () => {
  const sink = fileURLToPath(new URL('../services/sink/main.js', import.meta.url));
  const result = spawnSync(process.execPath, [sink], { env: { ...process.env, SINK_DELAY_MS: 'slow', LISTEN_ADDR: 'nowhere', LOG_LEVEL: 'loud' }, encoding: 'utf8', timeout: 10_000 });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /SINK_DELAY_MS must be an integer, got "slow"/);
  assert.match(result.stderr, /LISTEN_ADDR must be host:port, got "nowhere"/);
  assert.match(result.stderr, /LOG_LEVEL must be one of debug, info, warn, error, silent, got "loud"/);
});

test('a stage\'s address may list its replicas, each host:port, and a malformed entry is named', () => {
  const env = new Environment({ JOIN_ADDR: 'join-a:50053, join-b:50053', SINK_ADDR: 'sink:50054,sink' });
  assert.equal(env.addresses('JOIN_ADDR', 'x:1'), 'join-a:50053,join-b:50053');
  env.addresses('SINK_ADDR', 'x:1');
  assert.throws(() => env.done(), /SINK_ADDR must be host:port, or several separated by commas, got "sink:50054,sink"/);
});

test('LATENCY_TARGET_MS is 0 (fixed windows) unless told, 250 sizes them by time, and a target under 50 ms is named at start-up', () => {
  assert.equal(readLatencyTargetMs(new Environment({})), 0);
  assert.equal(readLatencyTargetMs(new Environment({ LATENCY_TARGET_MS: '250' })), 250);
  assert.equal(readLatencyTargetMs(new Environment({ LATENCY_TARGET_MS: '0' })), 0);
  assert.equal(readLatencyTargetMs(new Environment({ LATENCY_TARGET_MS: '1000' })), 1000);
  for (const value of ['20', '-1', '60001', 'soon']) {
    const env = new Environment({ LATENCY_TARGET_MS: value });
    readLatencyTargetMs(env);
    assert.throws(() => env.done(), (error: unknown) => error instanceof ConfigError && /^LATENCY_TARGET_MS/.test(error.problems[0]!), value);
  }
});
