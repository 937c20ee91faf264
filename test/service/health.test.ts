import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import { Breaker } from '../../lib/breaker.js';
import { bindServer, createFlowServer } from '../../lib/flow/FlowServer.js';
import { ServiceHealth } from '../../lib/service/ServiceHealth.js';

type Callback<T> = (error: grpc.ServiceError | null, reply?: T) => void;
const healthcheckScript = fileURLToPath(new URL('../../tools/healthcheck.js', import.meta.url));

/** The container healthcheck's exit status (run asynchronously: the server it asks lives in this process). */
function runHealthcheck(address: string, kind = 'grpc'): Promise<number> {
  return new Promise((resolve) => execFile(process.execPath, [healthcheckScript, kind, address], { timeout: 10_000 }, (error) => resolve(error ? Number(error.code ?? 1) : 0)));
}

async function startHealthyServer(health: ServiceHealth): Promise<{ address: string; server: grpc.Server }> {
  const server = createFlowServer({ receiver: 'health-test', capacity: 10, maxBatchEvents: 10, maxBatchBytes: 1 << 20, maxLinks: 1 }, () => undefined);
  health.addTo(server);
  const port = await bindServer(server, '127.0.0.1:0');
  return { address: `127.0.0.1:${port}`, server };
}

function checkStatus(address: string, service = ''): Promise<string> {
  const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
  const client = new Health(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { check(request: { service: string }, callback: Callback<{ status: string }>): void };
  return new Promise((resolve, reject) => client.check({ service }, (error, reply) => { client.close(); if (error) reject(error); else resolve(reply!.status); }));
}

test('grpc.health.v1: SERVING, NOT_SERVING while a dependency\'s breaker is open, SERVING again once it closes, and NOT_SERVING for good once draining', async (t) => {
  const health = new ServiceHealth();
  const breaker = new Breaker('postgres', { timeoutMs: 1_000, errorThresholdPercentage: 50, resetTimeoutMs: 150, volumeThreshold: 2 });
  health.watch(breaker);
  const { address, server } = await startHealthyServer(health);
  t.after(() => { server.forceShutdown(); breaker.shutdown(); });

  assert.equal(await checkStatus(address), 'SERVING');
  assert.equal(await checkStatus(address, 'mesh.flow.v1.Flow'), 'SERVING');
  for (let i = 0; i < 2; i += 1) await assert.rejects(breaker.fire('SELECT', () => Promise.reject(new Error('down'))));
  assert.equal(breaker.state, 'open');
  assert.equal(await checkStatus(address), 'NOT_SERVING');
  assert.equal(await checkStatus(address, 'mesh.flow.v1.Flow'), 'NOT_SERVING');
  assert.equal(await runHealthcheck(address), 1, 'the container healthcheck fails');

  await new Promise((resolve) => setTimeout(resolve, 200)); // half-open: the next call is the probe
  await breaker.fire('SELECT', () => Promise.resolve(1));
  assert.equal(breaker.state, 'closed');
  assert.equal(await checkStatus(address), 'SERVING');
  assert.equal(await runHealthcheck(address), 0, 'the container healthcheck passes');

  health.drain();
  assert.equal(await checkStatus(address), 'NOT_SERVING');
  assert.equal(await runHealthcheck(address, 'tcp'), 0, 'a service without health is checked by its port alone');
  assert.equal(await runHealthcheck('127.0.0.1:1', 'tcp'), 1);
});

test('server reflection lists the Flow service and describes it from the contract', async (t) => {
  const { address, server } = await startHealthyServer(new ServiceHealth());
  t.after(() => server.forceShutdown());
  const reflectionProto = path.join(path.dirname(fileURLToPath(import.meta.resolve('@grpc/reflection'))), '..', 'proto', 'grpc', 'reflection', 'v1', 'reflection.proto');
  const definition = protoLoader.loadSync(reflectionProto, { keepCase: true, defaults: true, oneofs: true });
  const reflection = (grpc.loadPackageDefinition(definition) as unknown as { grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } } }).grpc.reflection.v1.ServerReflection;
  const client = new reflection(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { ServerReflectionInfo(): grpc.ClientDuplexStream<object, { list_services_response?: { service: Array<{ name: string }> }; file_descriptor_response?: { file_descriptor_proto: Buffer[] } }> };
  t.after(() => client.close());
  const call = client.ServerReflectionInfo();
  const replies: Array<Awaited<ReturnType<typeof nextReply>>> = [];
  const nextReply = () => new Promise<{ list_services_response?: { service: Array<{ name: string }> }; file_descriptor_response?: { file_descriptor_proto: Buffer[] } }>((resolve, reject) => { call.once('data', resolve); call.once('error', reject); });
  call.write({ list_services: '' });
  replies.push(await nextReply());
  call.write({ file_containing_symbol: 'mesh.flow.v1.Flow' });
  replies.push(await nextReply());
  call.end();
  assert.ok(replies[0]!.list_services_response!.service.map((service) => service.name).includes('mesh.flow.v1.Flow'));
  assert.ok(replies[1]!.file_descriptor_response!.file_descriptor_proto.length > 0);
});
