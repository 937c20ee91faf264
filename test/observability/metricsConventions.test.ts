import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { stageNames } from '../../lib/service/stages.js';
import { postEvents, wireEvents } from '../helpers/httpEvents.js';
import { startMeshUnderTest } from '../helpers/meshHarness.js';

const promtool = '/usr/bin/promtool';

/** What `promtool check metrics` says of the project's own families (mesh_*) in `text`. */
function promtoolProblems(text: string): string[] {
  const checked = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.notEqual(checked.status, null, `promtool did not run: ${checked.error}`);
  return `${checked.stdout}\n${checked.stderr}`.split('\n').filter((line) => /\bmesh_/.test(line));
}

/** The stages that report a family, from the series of `text`. */
function stagesOf(text: string, family: string): Set<string> {
  const stages = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${family}{`) && !line.startsWith(`${family}_bucket{`)) continue;
    const stage = /stage="([^"]+)"/.exec(line)?.[1];
    if (stage) stages.add(stage);
  }
  return stages;
}

test('every hop\'s /metrics and the gateway\'s merged one pass promtool, carry stage and replica labels, and a family only where its stage owns it', { timeout: 60_000 }, async (t) => {
  assert.ok(existsSync(promtool), `this test runs Debian's promtool at ${promtool}, which is missing: install it with "apt-get install prometheus"`);
  const run = await startMeshUnderTest({ serviceEnv: { sink: { REPLICA: 'sink-a' } } });
  t.after(() => run.dispose());
  const runId = `conventions-${randomBytes(4).toString('hex')}`;
  for (let batch = 0; batch < 3; batch += 1) assert.equal((await postEvents(run.mesh.gatewayUrl, JSON.stringify(wireEvents(50, runId, { from: batch * 50 })))).status, 202);
  await waitForCommits(run.mesh.adminAddress('sink'), 150);

  for (const stage of stageNames) {
    const text = await (await fetch(`http://${run.mesh.adminAddress(stage)}/metrics`)).text();
    assert.deepEqual(promtoolProblems(text), [], `${stage}'s /metrics`);
    assert.match(text, new RegExp(`^mesh_stage_busy_seconds_total\\{stage="${stage}",replica="[^"]+"\\} [\\d.e+-]+$`, 'm'), stage);
  }
  const merged = await (await fetch(`${run.mesh.gatewayUrl}/metrics`)).text();
  assert.deepEqual(promtoolProblems(merged), [], "the gateway's merged /metrics");
  assert.doesNotMatch(merged, /_ms_per_second/, 'no gauges of ms per second');
  for (const family of ['busy', 'backpressured', 'idle']) {
    assert.match(merged, new RegExp(`^# TYPE mesh_stage_${family}_seconds_total counter$`, 'm'));
    assert.deepEqual(stagesOf(merged, `mesh_stage_${family}_seconds_total`), new Set(['gateway', ...stageNames]), family);
  }
  assert.match(merged, /^# TYPE mesh_stage_batch_events histogram$/m);
  assert.match(merged, /^# TYPE mesh_sink_accept_to_commit_seconds histogram$/m);
  assert.match(merged, /^mesh_sink_accept_to_commit_seconds_count\{stage="sink",replica="sink-a"\} 150$/m, 'every committed event is observed once, on the replica named by REPLICA');
  assert.match(merged, /^mesh_stage_event_time_lag_seconds\{stage="join",replica="[^"]+"\} [\d.e+-]+$/m);
  for (const family of ['mesh_intake_length', 'mesh_intake_capacity', 'mesh_intake_lag', 'mesh_intake_pending']) assert.deepEqual(stagesOf(merged, family), new Set(['source']), family);
  assert.deepEqual(stagesOf(merged, 'mesh_sink_accept_to_commit_seconds'), new Set(['sink']));
  assert.deepEqual(stagesOf(merged, 'mesh_link_credit_available'), new Set(['gateway', 'source', 'enrichment', 'join']), 'credit only where a link goes out');
  const families = merged.split('\n').filter((line) => line.startsWith('# TYPE '));
  assert.equal(new Set(families).size, families.length, 'each family appears once, however many hops report it');
  const unlabelled = merged.split('\n').filter((line) => line.startsWith('mesh_') && !/replica="[^"]+"/.test(line));
  assert.deepEqual(unlabelled, [], 'every series names its replica');
});

async function waitForCommits(sinkAdmin: string, events: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const text = await (await fetch(`http://${sinkAdmin}/metrics`)).text();
    const committed = Number(/^mesh_stage_events_out_total\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
    if (committed >= events) return;
    assert.ok(Date.now() < deadline, `the sink committed ${committed} of ${events} events within 20 s`);
    await sleep(100);
  }
}
