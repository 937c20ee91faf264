import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { defaultAdminPorts, defaultPorts, stageNames } from '../../lib/service/stages.js';
import { serviceNames } from '../../tools/launcher/Mesh.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  mem_limit?: string;
  profiles?: string[];
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };
const peerAddresses = Object.fromEntries(stageNames.map((stage) => [`${stage.toUpperCase()}_ADDR`, `${stage}:${defaultPorts[stage]}`]));
const adminAddresses = Object.fromEntries(stageNames.map((stage) => [`${stage.toUpperCase()}_ADMIN_ADDR`, `${stage}:${defaultAdminPorts[stage]}`]));

test('the Compose file runs the launcher\'s topology: the same services on the same ports, wired by the same *_ADDR variables', () => {
  for (const name of [...serviceNames, 'redis', 'postgres', 'jaeger', 'seed', 'loadgen']) assert.ok(compose.services[name], `service ${name}`);
  for (const stage of stageNames) {
    const service = compose.services[stage]!;
    assert.deepEqual(service.command, ['node', `dist/services/${stage}/main.js`]);
    assert.equal(service.environment?.LISTEN_ADDR, `0.0.0.0:${defaultPorts[stage]}`);
    assert.equal(service.environment?.ADMIN_ADDR, `0.0.0.0:${defaultAdminPorts[stage]}`);
    assert.deepEqual(service.healthcheck?.test, ['CMD', 'node', 'dist/tools/healthcheck.js', 'grpc', `127.0.0.1:${defaultPorts[stage]}`]);
  }
  for (const name of serviceNames) {
    const environment = compose.services[name]!.environment!;
    for (const [variable, address] of Object.entries(peerAddresses)) assert.equal(environment[variable], address, `${name} ${variable}`);
    assert.match(environment.REDIS_URL!, /^redis:\/\/redis:6379$/);
    assert.match(environment.DATABASE_URL!, /@postgres:5432\/mesh$/);
    assert.equal(environment.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://jaeger:4318');
    assert.equal(environment.OTEL_SERVICE_NAME, name);
  }
  const gateway = compose.services.gateway!;
  for (const [variable, address] of Object.entries(adminAddresses)) assert.equal(gateway.environment![variable], address);
  assert.deepEqual(gateway.healthcheck?.test, ['CMD', 'node', 'dist/tools/healthcheck.js', 'http', 'http://127.0.0.1:8080/readyz']);
});

test('the Compose file publishes only the gateway (HTTP and gRPC ingest), Jaeger\'s UI and (under a profile) Prometheus and Grafana, limits every service\'s memory, and starts each service once what it needs is healthy', () => {
  const published = Object.entries(compose.services).filter(([, service]) => service.ports).map(([name, service]) => [name, service.ports!.map((port) => port.split(':').at(-1))]);
  assert.deepEqual(published, [['jaeger', ['16686']], ['gateway', ['8080', '50050']], ['prometheus', ['9090']], ['grafana', ['3000']]]);
  for (const [name, service] of Object.entries(compose.services)) {
    assert.ok(service.mem_limit, `${name} has a memory limit`);
    if (!service.profiles && name !== 'seed') assert.ok(service.healthcheck, `${name} has a healthcheck`);
    for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
      assert.ok(compose.services[dependency], `${name} depends on ${dependency}`);
      if (condition === 'service_healthy') assert.ok(compose.services[dependency]!.healthcheck, `${dependency} has a healthcheck for ${name} to wait on`);
    }
  }
  assert.deepEqual(compose.services.loadgen!.profiles, ['demo']);
  for (const stage of ['enrichment', 'join']) assert.ok((compose.services[stage] as { deploy?: { replicas: number } }).deploy!.replicas >= 2, `${stage} runs replicas`);
  assert.deepEqual(compose.services.redis!.command, ['redis-server', '--appendonly', 'yes']);
  assert.ok(compose.services.postgres!.environment && JSON.stringify(compose.services.postgres).includes('./deploy/sql:/docker-entrypoint-initdb.d'));
});

test('every file the Dockerfile copies from the project exists, and it runs as a non-root user on node:20-bookworm-slim', () => {
  const dockerfile = read('deploy/Dockerfile');
  const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((match) => match[1]!.trim().split(/\s+/));
  assert.ok(sources.length > 5);
  for (const source of sources) assert.ok(existsSync(path.join(root, source)), `COPY ${source}`);
  assert.deepEqual([...dockerfile.matchAll(/^FROM (\S+)/gm)].map((match) => match[1]), ['node:20-bookworm-slim', 'node:20-bookworm-slim']);
  assert.match(dockerfile, /^USER node$/m);
  const ignored = read('.dockerignore').split('\n');
  for (const entry of ['node_modules', 'dist', '.git']) assert.ok(ignored.includes(entry), `.dockerignore has ${entry}`);
});

interface K8sObject { kind: string; metadata: { name: string }; spec?: any; data?: Record<string, string> }

test('the Kubernetes manifests parse, name only files that exist, and give every stage a Service, probes and resources on the launcher\'s ports', () => {
  const kustomization = parse(read('deploy/k8s/kustomization.yaml')) as { resources: string[] };
  const objects: K8sObject[] = [];
  for (const file of kustomization.resources) {
    assert.ok(existsSync(path.join(root, 'deploy/k8s', file)), file);
    if (!file.endsWith('.yaml')) continue; // a folder with a kustomization of its own
    for (const document of parseAllDocuments(read(`deploy/k8s/${file}`))) {
      assert.deepEqual(document.errors, [], file);
      objects.push(document.toJS() as K8sObject);
    }
  }
  const find = (kind: string, name: string) => objects.find((object) => object.kind === kind && object.metadata.name === name);
  const config = find('ConfigMap', 'mesh-config')!.data!;
  for (const [variable, address] of Object.entries({ ...peerAddresses, ...adminAddresses })) assert.equal(config[variable], address, variable);
  for (const stage of stageNames) {
    const service = find('Service', stage)!;
    assert.equal(service.spec.clusterIP, 'None', `${stage}'s name resolves to every replica`);
    assert.ok(find('Deployment', stage)!.spec.replicas >= 2, `${stage} runs replicas`);
    assert.deepEqual(service.spec.ports.map((port: { port: number }) => port.port), [defaultPorts[stage], defaultAdminPorts[stage]]);
    const container = find('Deployment', stage)!.spec.template.spec.containers[0];
    assert.deepEqual(container.command, ['node', `dist/services/${stage}/main.js`]);
    assert.equal(container.readinessProbe.grpc.port, defaultPorts[stage], `${stage} is ready when grpc.health.v1 says SERVING`);
    assert.equal(container.livenessProbe.httpGet.path, '/healthz');
    assert.ok(container.resources.limits.memory && container.resources.requests.cpu);
  }
  assert.ok(find('Deployment', 'gateway')!.spec.replicas >= 2, 'the edge runs replicas');
  for (const name of ['redis', 'postgres']) assert.ok(find('StatefulSet', name), name);
  assert.ok(find('Secret', 'mesh-secrets'));
  assert.ok(find('Job', 'seed'));
});
