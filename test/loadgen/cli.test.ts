import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startFakeGateway } from './fakeGateway.js';

const CLI = fileURLToPath(new URL('../../bench/loadgen/main.js', import.meta.url));

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], { interruptAfterMs }: { interruptAfterMs?: number } = {}): Promise<Finished> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  if (interruptAfterMs !== undefined) setTimeout(() => child.kill('SIGINT'), interruptAfterMs);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

function lastLineAsJson(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

test('bad arguments exit 2 with a message naming the option', async () => {
  const cases: [string[], string][] = [
    [['--duration', '1'], '--rate'],
    [['--rate', '-5', '--duration', '1'], '--rate'],
    [['--rate', '10', '--duration', '1', '--burst', 'x:1:1'], '--burst'],
    [['--rate', '10', '--duration', '1', '--batch', '0'], '--batch'],
    [['--rate', '10', '--duration', '1', '--nope'], '--nope'],
  ];
  const results = await Promise.all(cases.map(([args]) => runCli(args)));
  results.forEach((result, index) => {
    assert.equal(result.code, 2, cases[index]![0].join(' '));
    assert.match(result.stderr, new RegExp(`^loadgen: .*${cases[index]![1]}`));
  });
});

test('--json prints the summary as the last line on stdout, with the per-second figures', async () => {
  const gateway = await startFakeGateway();
  try {
    const result = await runCli(['--rate', '1000', '--duration', '0.5', '--batch', '50', '--url', gateway.url, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const summary = lastLineAsJson(result.stdout);
    for (const field of ['sent', 'accepted', 'rejected', 'failed', 'dropped_by_client', 'p50_ms', 'p99_ms', 'duration_s', 'offered_rate', 'accepted_per_s', 'per_second']) {
      assert.ok(field in summary, `no ${field}`);
    }
    assert.equal(summary.accepted, gateway.requests.length * 50);
    assert.deepEqual(Object.keys((summary.per_second as object[])[0]!).slice(0, 6), ['t', 'offered', 'sent', 'accepted', 'rejected', 'failed']);
    assert.match(result.stderr, /t=0s {2}sent \d+ {2}accepted \d+ {2}429 0 {2}failed 0/);
  } finally {
    await gateway.close();
  }
});

test('SIGINT stops the run and still prints the summary of what was done', async () => {
  const gateway = await startFakeGateway();
  try {
    const result = await runCli(['--rate', '1000', '--duration', '60', '--batch', '50', '--url', gateway.url, '--json'], { interruptAfterMs: 700 });
    assert.equal(result.code, 0, result.stderr);
    const summary = lastLineAsJson(result.stdout);
    assert.equal(summary.stopped_early, true);
    assert.ok((summary.accepted as number) > 0);
    assert.equal(summary.accepted, gateway.requests.length * 50);
  } finally {
    await gateway.close();
  }
});

test('a gateway that is not there: every batch failed, exit 1', async () => {
  const closedPort = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  const result = await runCli(['--rate', '100', '--duration', '0.3', '--batch', '10', '--url', `http://127.0.0.1:${closedPort}`, '--json']);
  assert.equal(result.code, 1);
  const summary = lastLineAsJson(result.stdout);
  assert.equal(summary.accepted, 0);
  assert.equal(summary.failed, summary.sent);
  assert.match(result.stdout, /network ECONNREFUSED/);
});
