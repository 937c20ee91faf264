import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { defaultAdminPorts, defaultGatewayPort, stageNames } from '../../lib/service/stages.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

interface ComposeService { image?: string; profiles?: string[]; command?: string[]; volumes?: string[]; ports?: string[]; depends_on?: Record<string, unknown> }
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };

interface ScrapeJob { job_name: string; dns_sd_configs: Array<{ names: string[]; type: string; port: number }>; metric_relabel_configs?: Array<{ source_labels: string[]; regex: string; action: string }> }
const prometheusConfig = parse(read('deploy/prometheus/prometheus.yml')) as { rule_files: string[]; scrape_configs: ScrapeJob[] };

/** Every metric family the services register (a name in quotes in their source), and every recorded series. */
function knownSeriesNames(): Set<string> {
  const names = new Set<string>();
  const walk = (folder: string) => {
    for (const entry of readdirSync(path.join(root, folder), { withFileTypes: true })) {
      const file = path.join(folder, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.ts')) for (const match of read(file).matchAll(/'(mesh_[a-z_]+)'/g)) names.add(match[1]!);
    }
  };
  for (const folder of ['lib', 'gateway', 'services']) walk(folder);
  for (const file of readdirSync(path.join(root, 'deploy/prometheus/rules'))) {
    const rules = parse(read(`deploy/prometheus/rules/${file}`)) as { groups: Array<{ rules: Array<{ record?: string }> }> };
    for (const rule of rules.groups.flatMap((group) => group.rules)) if (rule.record) names.add(rule.record);
  }
  return names;
}

test('Compose runs Prometheus and Grafana under the metrics profile, with the rules and the dashboard mounted', () => {
  const prometheus = compose.services.prometheus!;
  assert.deepEqual(prometheus.profiles, ['metrics']);
  assert.match(prometheus.image!, /^prom\/prometheus:v\d/);
  assert.ok(prometheus.volumes!.includes('./deploy/prometheus:/etc/prometheus:ro'));
  assert.ok(prometheus.command!.includes('--config.file=/etc/prometheus/prometheus.yml'));
  assert.ok('prometheus-data' in compose.volumes);
  assert.deepEqual(prometheusConfig.rule_files, ['rules/*.rules.yml']);

  const grafana = compose.services.grafana!;
  assert.deepEqual(grafana.profiles, ['metrics']);
  assert.ok(grafana.depends_on!.prometheus);
  assert.ok(grafana.volumes!.includes('./deploy/grafana/provisioning:/etc/grafana/provisioning:ro'));
  const dashboardMount = grafana.volumes!.find((volume) => volume.startsWith('./deploy/grafana/mesh-pressure.json:'))!;
  const provider = parse(read('deploy/grafana/provisioning/dashboards/flow-mesh.yml')) as { providers: Array<{ options: { path: string } }> };
  assert.equal(path.posix.dirname(dashboardMount.split(':')[1]!), provider.providers[0]!.options.path);
  const datasources = parse(read('deploy/grafana/provisioning/datasources/prometheus.yml')) as { datasources: Array<{ type: string; url: string }> };
  assert.deepEqual(datasources.datasources.map((source) => [source.type, source.url]), [['prometheus', 'http://prometheus:9090']]);
});

test('Prometheus scrapes every replica of every service on its metrics port, and only the gateway\'s own series from the gateway', () => {
  const jobs = Object.fromEntries(prometheusConfig.scrape_configs.map((job) => [job.job_name, job]));
  const expectedPorts = { ...defaultAdminPorts, gateway: defaultGatewayPort };
  assert.deepEqual(Object.keys(jobs).sort(), [...stageNames, 'gateway'].sort());
  for (const [service, port] of Object.entries(expectedPorts)) {
    assert.ok(compose.services[service], `${service} is a Compose service`);
    assert.deepEqual(jobs[service]!.dns_sd_configs, [{ names: [service], type: 'A', port, refresh_interval: '15s' }], `${service} is found by name, every replica`);
  }
  assert.deepEqual(jobs.gateway!.metric_relabel_configs, [{ source_labels: ['stage'], regex: 'gateway', action: 'keep' }]);
  for (const stage of stageNames) assert.equal(jobs[stage]!.metric_relabel_configs, undefined);
});

interface Panel { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; targets?: Array<{ expr: string; refId: string }> }

test('the Grafana dashboard is valid JSON whose every query parses as PromQL and reads only series the services or the rules make', async () => {
  const dashboard = JSON.parse(read('deploy/grafana/mesh-pressure.json')) as { uid: string; title: string; panels: Panel[]; templating: { list: Array<{ name: string; type: string }> } };
  assert.ok(dashboard.uid && dashboard.title);
  assert.deepEqual(dashboard.templating.list.map((variable) => [variable.name, variable.type]), [['datasource', 'datasource']]);
  const ids = dashboard.panels.map((panel) => panel.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  for (const panel of dashboard.panels) assert.ok(panel.gridPos.x + panel.gridPos.w <= 24, `${panel.title} fits the grid`);

  const expressions = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })));
  assert.ok(expressions.length >= 15);
  const known = knownSeriesNames();
  for (const { panel, expr } of expressions) {
    const names = [...expr.matchAll(/\b((?:stage_replica|stage|mesh):[a-z_:0-9]+|mesh_[a-z_]+)/g)].map((match) => match[1]!.replace(/_bucket$/, ''));
    assert.ok(names.length > 0, `${panel}: ${expr}`);
    for (const name of names) assert.ok(known.has(name), `${panel}: ${name} is exported by a service or recorded by a rule`);
  }
  // promtool parses PromQL in rule files: each query as a recording rule, Grafana's $__rate_interval as a range.
  const folder = mkdtempSync(path.join(tmpdir(), 'dashboard-queries-'));
  try {
    const rules = { groups: [{ name: 'dashboard', rules: expressions.map(({ expr }, index) => ({ record: `dashboard:query_${index}`, expr: expr.replaceAll('$__rate_interval', '1m') })) }] };
    writeFileSync(path.join(folder, 'queries.yml'), stringify(rules));
    const { stdout } = await run('promtool', ['check', 'rules', path.join(folder, 'queries.yml')]).catch((error: { stdout?: string; stderr?: string }) => assert.fail(`${error.stdout}${error.stderr}`));
    assert.match(stdout, new RegExp(`SUCCESS: ${expressions.length} rules found`));
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
