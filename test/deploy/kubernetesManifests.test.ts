import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import * as kedaV1alpha1 from '@kubernetes-models/keda/keda.sh/v1alpha1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as rbacV1 from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import * as coreV1 from 'kubernetes-models/v1';
import { stageNames } from '../../lib/service/stages.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The model classes by apiVersion: each validates an object of its kind against the API's schema. */
const modelsByApiVersion: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'batch/v1': batchV1,
  'rbac.authorization.k8s.io/v1': rbacV1,
  'keda.sh/v1alpha1': kedaV1alpha1,
};

interface K8sObject { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec?: any; data?: Record<string, string> }

async function render(): Promise<K8sObject[]> {
  const { stdout } = await run('kubectl', ['kustomize', path.join(root, 'deploy', 'k8s')], { maxBuffer: 16 * 1024 * 1024 });
  return parseAllDocuments(stdout).map((document) => {
    assert.deepEqual(document.errors, []);
    return document.toJS() as K8sObject;
  });
}

const rendered = render();
const find = async (kind: string, name: string) => (await rendered).find((object) => object.kind === kind && object.metadata.name === name);
const scaledServices = [...stageNames, 'gateway'];

test('kubectl kustomize deploy/k8s renders objects that each validate against the Kubernetes (or KEDA) API schema of their kind', async () => {
  const objects = await rendered;
  assert.ok(objects.length > 20);
  for (const object of objects) {
    const label = `${object.apiVersion} ${object.kind} ${object.metadata.name}`;
    const Model = modelsByApiVersion[object.apiVersion]?.[object.kind] as (new (data: unknown) => { validate(): void }) | undefined;
    assert.ok(Model, `${label}: a model to validate it against`);
    assert.doesNotThrow(() => new Model(object).validate(), label);
    if (object.kind !== 'Namespace') assert.equal(object.metadata.namespace, 'flow-mesh', label);
  }
});

test('the schema check refuses an object its kind\'s schema does not allow (the check is real)', () => {
  const scaledObject = { metadata: { name: 'enrichment' }, spec: { scaleTargetRef: { name: 'enrichment' }, triggers: [{ type: 'prometheus', metadata: { threshold: 1 } }] } };
  assert.throws(() => new kedaV1alpha1.ScaledObject(scaledObject as never).validate(), /threshold must be string/);
  assert.throws(() => new appsV1.Deployment({ metadata: { name: 'x' }, spec: { replicas: 'two', selector: {}, template: {} } } as never).validate(), /replicas must be integer/);
});

test('every stage and the gateway scale through KEDA on the desired-replicas signal, with windows against flapping', async () => {
  const scaledObjects = (await rendered).filter((object) => object.kind === 'ScaledObject');
  assert.deepEqual(scaledObjects.map((object) => object.metadata.name).sort(), [...scaledServices].sort());
  const prometheusService = (await find('Service', 'prometheus'))!;
  for (const service of scaledServices) {
    const { spec } = (await find('ScaledObject', service))!;
    const deployment = (await find('Deployment', service))!;
    assert.deepEqual(spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: service });
    assert.ok(spec.minReplicaCount >= 1 && spec.minReplicaCount <= deployment.spec.replicas && deployment.spec.replicas <= spec.maxReplicaCount, `${service}'s replicas within its bounds`);
    assert.equal(spec.triggers.length, 1, `${service} scales on the pressure signal alone, not on CPU`);
    const [trigger] = spec.triggers;
    assert.equal(trigger.type, 'prometheus');
    // AverageValue with threshold 1: the HPA runs ceil(desired / 1) = desired replicas.
    assert.equal(trigger.metricType, 'AverageValue');
    assert.equal(trigger.metadata.threshold, '1');
    assert.equal(trigger.metadata.query, `max(stage:mesh_stage_desired_replicas:count{stage="${service}"})`);
    assert.equal(trigger.metadata.serverAddress, `http://prometheus:${prometheusService.spec.ports[0].port}`);
    assert.equal(trigger.metadata.ignoreNullValues, 'false', 'no series is an error (fallback keeps what runs), not zero');
    assert.equal(spec.fallback.behavior, 'currentReplicas');
    const { scaleUp, scaleDown } = spec.advanced.horizontalPodAutoscalerConfig.behavior;
    assert.ok(scaleUp.stabilizationWindowSeconds >= 30, `${service} scales out on a rise that holds`);
    assert.ok(scaleDown.stabilizationWindowSeconds >= 5 * 60 && scaleDown.stabilizationWindowSeconds > scaleUp.stabilizationWindowSeconds, `${service} scales in only on a fall that holds longer`);
    assert.deepEqual(scaleDown.policies, [{ type: 'Pods', value: 1, periodSeconds: 120 }]);
  }
});

test('the cluster\'s Prometheus loads the very rule files the rule tests check, and scrapes every annotated pod of the namespace', async () => {
  const deployment = (await find('Deployment', 'prometheus'))!;
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const mounts = Object.fromEntries(container.volumeMounts.map((mount: { name: string; mountPath: string }) => [mount.name, mount.mountPath]));
  const configMapOf = (volume: string) => pod.volumes.find((entry: { name: string }) => entry.name === volume).configMap.name as string;
  const rules = (await find('ConfigMap', configMapOf('rules')))!;
  const config = (await find('ConfigMap', configMapOf('config')))!;
  for (const file of ['pressure.rules.yml', 'alerts.rules.yml']) {
    assert.equal(rules.data![file], readFileSync(path.join(root, 'deploy/prometheus/rules', file), 'utf8'), `${file} as it is in deploy/prometheus/rules`);
  }
  const prometheusConfig = parse(config.data!['prometheus.yml']!) as { rule_files: string[]; scrape_configs: Array<{ kubernetes_sd_configs: Array<{ role: string }>; metric_relabel_configs: Array<{ source_labels: string[]; regex: string; action: string }> }> };
  assert.deepEqual(prometheusConfig.rule_files, [`${mounts.rules}/*.rules.yml`]);
  assert.ok(container.args.includes(`--config.file=${mounts.config}`));
  assert.equal(pod.serviceAccountName, 'prometheus');
  const role = (await find('Role', 'prometheus'))!;
  assert.deepEqual((role as unknown as { rules: unknown }).rules, [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
  const [job] = prometheusConfig.scrape_configs;
  assert.equal(job!.kubernetes_sd_configs[0]!.role, 'pod');
  assert.deepEqual(job!.metric_relabel_configs, [{ source_labels: ['app', 'stage'], regex: 'gateway;(source|enrichment|join|sink)', action: 'drop' }]);
  for (const service of scaledServices) {
    const annotations = (await find('Deployment', service))!.spec.template.metadata.annotations;
    assert.equal(annotations['prometheus.io/scrape'], 'true', `${service} is scraped`);
  }
});
