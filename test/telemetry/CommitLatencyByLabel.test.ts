import assert from 'node:assert/strict';
import test from 'node:test';
import { Registry } from 'prom-client';
import { CommitLatencyByLabel, maxObservedPerCommit } from '../../lib/telemetry/CommitLatencyByLabel.js';

const countOf = (text: string, label: string, value: string): number => {
  const match = new RegExp(`^mesh_sink_${label}_accept_to_commit_seconds_count\\{${label}="${value}"\\} (\\d+)$`, 'm').exec(text);
  assert.ok(match, `no count for ${label}="${value}" in:\n${text}`);
  return Number(match[1]);
};

test('a commit adds at most a bounded, evenly spread sample of each class and key to its summary', async () => {
  const registry = new Registry();
  const summaries = new CommitLatencyByLabel(registry);
  // 1000 views of key a, their latencies 0..999 ms in order; 3 purchases of key b.
  const events = [
    ...Array.from({ length: 1000 }, () => ({ priorityClass: 'view', producerKey: 'a' })),
    ...Array.from({ length: 3 }, () => ({ priorityClass: 'purchase', producerKey: 'b' })),
    { priorityClass: '', producerKey: 'c' },
  ];
  const seconds = [...Array.from({ length: 1000 }, (_, i) => i / 1000), 0.5, 0.5, 0.5, 0.2];
  summaries.observeCommit(events, seconds);
  const text = await registry.metrics();
  assert.equal(countOf(text, 'class', 'view'), maxObservedPerCommit);
  assert.equal(countOf(text, 'key', 'a'), maxObservedPerCommit);
  assert.equal(countOf(text, 'class', 'purchase'), 3, 'a class with few events in a commit has every one observed');
  assert.equal(countOf(text, 'key', 'b'), 3);
  assert.doesNotMatch(text, /key="c"/, 'an event with no class is not counted by key either');
  // Spread over the whole commit, not its first events: the sample's p99 is near the commit's.
  const p99 = Number(/^mesh_sink_class_accept_to_commit_seconds\{quantile="0.99",class="view"\} ([\d.]+)$/m.exec(text)?.[1]);
  assert.ok(p99 > 0.9 && p99 < 1, `p99 of the spread sample ${p99}`);
});

test('an event without an acceptance time is not observed', async () => {
  const registry = new Registry();
  new CommitLatencyByLabel(registry).observeCommit([{ priorityClass: 'view', producerKey: 'a' }, { priorityClass: 'view', producerKey: 'a' }], [-1, 0.1]);
  assert.equal(countOf(await registry.metrics(), 'class', 'view'), 1);
});
