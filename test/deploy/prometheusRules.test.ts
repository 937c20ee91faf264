import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const prometheusFolder = path.join(root, 'deploy', 'prometheus');
const ruleFiles = readdirSync(path.join(prometheusFolder, 'rules')).filter((file) => file.endsWith('.rules.yml')).map((file) => path.join(prometheusFolder, 'rules', file));
const ruleTests = readdirSync(path.join(prometheusFolder, 'tests')).filter((file) => file.endsWith('.test.yml')).map((file) => path.join(prometheusFolder, 'tests', file));

/** promtool's output, or its complaint (it says what failed on stdout). */
async function promtool(...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd: prometheusFolder });
    return stdout + stderr;
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    assert.fail(`promtool ${args.join(' ')} failed:\n${stdout}${stderr}`);
  }
}

test('the recording and alerting rules pass promtool check rules, with no lint warnings', async () => {
  assert.deepEqual(ruleFiles.map((file) => path.basename(file)).sort(), ['alerts.rules.yml', 'pressure.rules.yml']);
  const output = await promtool('check', 'rules', '--lint=all', '--lint-fatal', ...ruleFiles);
  assert.equal(output.match(/SUCCESS/g)?.length, ruleFiles.length, output);
});

for (const ruleTest of ruleTests) {
  test(`promtool test rules ${path.relative(root, ruleTest)}: every case passes`, async () => {
    const output = await promtool('test', 'rules', ruleTest);
    assert.match(output, /SUCCESS/);
  });
}

test('the Compose project\'s Prometheus configuration is valid and loads every rule file', async () => {
  const output = await promtool('check', 'config', '--lint=all', '--lint-fatal', path.join(prometheusFolder, 'prometheus.yml'));
  assert.match(output, new RegExp(`SUCCESS: ${ruleFiles.length} rule files found`));
});

interface RuleGroups { groups: Array<{ rules: Array<{ record?: string; alert?: string }> }> }
interface RuleTests {
  tests: Array<{
    alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }>;
    promql_expr_test?: Array<{ expr: string }>;
  }>;
}

test('every alert is shown firing and not firing, and every recording rule\'s output is checked, by the rule tests', () => {
  const rules = ruleFiles.flatMap((file) => (parse(readFileSync(file, 'utf8')) as RuleGroups).groups.flatMap((group) => group.rules));
  const cases = ruleTests.flatMap((file) => (parse(readFileSync(file, 'utf8')) as RuleTests).tests);
  const alertChecks = cases.flatMap((testCase) => testCase.alert_rule_test ?? []);
  const checkedExpressions = cases.flatMap((testCase) => (testCase.promql_expr_test ?? []).map((check) => check.expr));
  const alerts = rules.flatMap((rule) => rule.alert ?? []);
  const records = rules.flatMap((rule) => rule.record ?? []);
  assert.ok(alerts.length >= 6 && records.length >= 15);
  for (const alert of alerts) {
    assert.ok(alertChecks.some((check) => check.alertname === alert && check.exp_alerts.length > 0), `${alert} is shown firing`);
    assert.ok(alertChecks.some((check) => check.alertname === alert && check.exp_alerts.length === 0), `${alert} is shown not firing`);
  }
  for (const record of records) {
    assert.ok(checkedExpressions.some((expr) => new RegExp(`(^|[^\\w:])${record.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\w:])`).test(expr)), `${record} is checked`);
  }
});
