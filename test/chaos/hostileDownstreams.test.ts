import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { RawLink } from '../../conformance/RawLink.js';
import { flowService, type Downstream, type Upstream__Output } from '../../lib/contract/loadContract.js';
import { bindServer } from '../../lib/flow/FlowServer.js';
import { LinkSender } from '../../lib/flow/LinkSender.js';
import { ServiceProcess } from '../../tools/launcher/ServiceProcess.js';
import { redisUrl } from '../helpers/testServers.js';

const encodeDownstream = flowService.Exchange.responseSerialize as (frame: Downstream) => Buffer;
const decodeUpstream = flowService.Exchange.requestDeserialize as (bytes: Buffer) => Upstream__Output;
const compiledRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

type Answer = (call: grpc.ServerDuplexStream<Buffer, Buffer>, frames: Upstream__Output[]) => void;

/** A Flow server that answers every call with `answer` once its Open has come, on raw bytes so it can also send garbage. */
async function startDownstream(answer: Answer): Promise<{ port: number; calls: Array<Upstream__Output[]>; stop(): void }> {
  const calls: Array<Upstream__Output[]> = [];
  const server = new grpc.Server();
  server.addService({ Exchange: { ...flowService.Exchange, requestDeserialize: (bytes: Buffer) => bytes, responseSerialize: (bytes: Buffer) => bytes } }, {
    Exchange(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
      const frames: Upstream__Output[] = [];
      calls.push(frames);
      call.on('error', () => undefined);
      call.on('data', (bytes: Buffer) => {
        frames.push(decodeUpstream(bytes));
        if (frames.length === 1) answer(call, frames);
      });
    },
  });
  const port = await bindServer(server, '127.0.0.1:0');
  return { port, calls, stop: () => server.forceShutdown() };
}

const openedThenFail: Answer = (call) => {
  call.write(encodeDownstream({ opened: { receiver: 'flapping', protocolVersion: 1, maxBatchEvents: 100, maxBatchBytes: 1 << 20 } }));
  call.write(encodeDownstream({ credit: { events: 100 } }));
  setImmediate(() => call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'flapping on purpose' }));
};

test('reconnect storm: a downstream that answers Opened and then fails is redialled with a growing backoff, not about 19 times a second', { timeout: 30_000 }, async (t) => {
  const downstream = await startDownstream(openedThenFail);
  t.after(() => downstream.stop());
  const sender = new LinkSender({ target: `127.0.0.1:${downstream.port}`, link: 'storm', sender: 'storm-test' });
  const resets: number[] = [];
  sender.on('reset', () => resets.push(Date.now()));
  await sleep(6_000);
  sender.cancel();
  t.diagnostic(`${downstream.calls.length} calls in 6 s`);
  assert.ok(downstream.calls.length >= 3, 'it keeps trying');
  assert.ok(downstream.calls.length <= 20, `at most 20 dials in 6 s (${downstream.calls.length})`);
});

test('a downstream that sends an undecodable frame is told so with Close{INVALID_ARGUMENT}, and the link is redialled', { timeout: 20_000 }, async () => {
  const downstream = await startDownstream((call) => {
    call.write(encodeDownstream({ opened: { receiver: 'garbled', protocolVersion: 1, maxBatchEvents: 100, maxBatchBytes: 1 << 20 } }));
    call.write(Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0x0f]));
  });
  const sender = new LinkSender({ target: `127.0.0.1:${downstream.port}`, link: 'garbled', sender: 'garbled-test' });
  try {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !downstream.calls[0]?.some((frame) => frame.close)) await sleep(50);
    const close = downstream.calls[0]!.find((frame) => frame.close)?.close;
    assert.ok(close, 'the sender closed the call with a Close frame');
    assert.equal(close.code, grpc.status.INVALID_ARGUMENT);
    assert.match(close.reason, /undecodable frame/);
    while (Date.now() < deadline && downstream.calls.length < 2) await sleep(50);
    assert.ok(downstream.calls.length >= 2, 'and dialled again');
  } finally {
    sender.cancel();
    downstream.stop();
  }
});

test('a stage whose downstream flaps before carrying events keeps its upstream links, and logs each reset with its status', { timeout: 60_000 }, async (t) => {
  const downstream = await startDownstream(openedThenFail);
  t.after(() => downstream.stop());
  const lines: string[] = [];
  const enrichment = new ServiceProcess('enrichment', path.join(compiledRoot, 'services/enrichment/main.js'), {
    ...(process.env as Record<string, string>),
    LOG_LEVEL: 'warn',
    OTEL_SDK_DISABLED: 'true',
    LISTEN_ADDR: '127.0.0.1:0',
    ADMIN_ADDR: '127.0.0.1:0',
    JOIN_ADDR: `127.0.0.1:${downstream.port}`,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `flap-${randomBytes(4).toString('hex')}:`,
  }, (_service, line) => lines.push(line));
  const address = await enrichment.start();
  t.after(() => enrichment.stop());
  const upstream = new RawLink(address, grpc.credentials.createInsecure());
  t.after(() => upstream.dispose());
  upstream.send({ open: { link: 'source->enrichment', sender: 'flap-test', protocolVersion: 1 } });
  assert.ok(await upstream.awaitCredit(1, 5_000), 'the upstream link opens');
  await sleep(8_000);
  const resets = lines.filter((line) => line.includes('"link reset"'));
  t.diagnostic(`${downstream.calls.length} downstream calls, ${resets.length} resets logged; upstream link ${upstream.status ? grpc.status[upstream.status.code] : 'still open'}`);
  assert.ok(downstream.calls.length >= 2, 'the downstream flapped');
  assert.equal(upstream.status, undefined, 'the upstream link was never reset');
  assert.ok(resets.length >= 1 && resets.every((line) => /UNAVAILABLE: flapping on purpose/.test(line)), 'each reset is logged with its status');
});
