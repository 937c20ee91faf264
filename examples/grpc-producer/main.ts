// A producer on the gateway's gRPC ingest, written against proto/ alone (grpc-js and
// proto-loader): it streams EVENTS generated events over one Flow link, sending only within the
// credit the gateway grants and the limits its Opened announced, then waits for the Ack of the
// last one and closes. Where an HTTP client is answered 429 when the mesh is full, this one is
// simply granted less credit, and waits for it.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

interface Event { id: string; userId: string; itemId: string; kind: string; eventTimeMs: number; priceCents: number }
interface Upstream {
  open?: { link: string; sender: string; protocolVersion: number };
  batch?: { offset: number; events: Event[] };
  close?: { reason: string; code: number };
}
interface Downstream { opened?: { receiver: string; maxBatchEvents: number; maxBatchBytes: number }; credit?: { events: number }; ack?: { offset: number } }

const kinds = ['view', 'click', 'cart', 'purchase'];
const seededUsers = 1_000;
const seededProducts = 500;

function readSettings() {
  const problems: string[] = [];
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const text = process.env[name] || String(fallback);
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) problems.push(`${name} must be an integer from ${min} to ${max}, not "${text}"`);
    return Number(text);
  };
  const address = process.env.INGEST_ADDR || '127.0.0.1:50050';
  const port = Number(/:(\d+)$/.exec(address)?.[1]);
  if (!/^\S+:\d+$/.test(address) || !(port >= 1 && port <= 65_535)) problems.push(`INGEST_ADDR must be host:port, not "${address}"`);
  const token = process.env.INGEST_TOKEN || undefined;
  if (token !== undefined && !/^\S+$/.test(token)) problems.push('INGEST_TOKEN must be one word: the token of one of the gateway\'s GATEWAY_API_KEYS (name:token)');
  const priorityClass = process.env.PRIORITY_CLASS || undefined;
  if (priorityClass !== undefined && !/^[a-z][a-z0-9_-]{0,31}$/.test(priorityClass)) problems.push(`PRIORITY_CLASS must be a class name (a-z, then up to 31 of a-z 0-9 _ -), not "${priorityClass}"`);
  const idPrefix = process.env.ID_PREFIX || `grpc-producer-${randomBytes(4).toString('hex')}`;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(idPrefix)) problems.push('ID_PREFIX must be 1..64 of A-Z a-z 0-9 . _ -');
  const settings = { address, token, priorityClass, idPrefix, events: integer('EVENTS', 10_000, 1, 100_000_000), batch: integer('BATCH', 500, 1, 100_000) };
  if (problems.length > 0) {
    for (const problem of problems) console.error(`grpc-producer: ${problem}`);
    process.exit(2);
  }
  return settings;
}

const settings = readSettings();
// A batch's class is that of its lowest event: asking for a kind's class, send only that kind.
const onlyKind = kinds.includes(settings.priorityClass ?? '') ? settings.priorityClass : undefined;
const startedAtMs = Date.now();
const pick = (n: number) => 1 + Math.floor(Math.random() * n);
const generate = (from: number, count: number): Event[] => Array.from({ length: count }, (_, i) => ({
  id: `${settings.idPrefix}-${from + i + 1}`,
  userId: `user-${pick(seededUsers)}`,
  itemId: `item-${pick(seededProducts)}`,
  kind: onlyKind ?? kinds[Math.random() < 0.7 ? 0 : pick(3)]!,
  eventTimeMs: Date.now(),
  priceCents: 100 * pick(200) - 1,
}));

const protoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'proto');
const contract = protoLoader.loadSync('mesh/flow/v1/flow.proto', { includeDirs: [protoRoot], longs: Number, enums: String, defaults: true, oneofs: true });
const Flow = (grpc.loadPackageDefinition(contract) as unknown as { mesh: { flow: { v1: { Flow: grpc.ServiceClientConstructor } } } }).mesh.flow.v1.Flow;
const exchange = Flow.service.Exchange!;
const encode = (frame: Upstream) => exchange.requestSerialize(frame) as Buffer;

const metadata = new grpc.Metadata();
if (settings.token) metadata.set('authorization', `Bearer ${settings.token}`);
if (settings.priorityClass) metadata.set('x-priority-class', settings.priorityClass);
const client = new grpc.Client(settings.address, grpc.credentials.createInsecure());
// Frames are encoded here, so that a batch can be measured against max_batch_bytes before it is sent.
const call = client.makeBidiStreamRequest<Buffer, Downstream>(exchange.path, (frame) => frame, exchange.responseDeserialize, metadata);

let opened: Downstream['opened'];
let credit = 0; // granted and not yet used
let sent = 0;
let acknowledged = 0;
let batches = 0;
let creditWaitMs = 0;
let ended: grpc.StatusObject | undefined;
let wake = () => {};
const somethingChanged = () => new Promise<void>((resolve) => { wake = resolve; });
call.on('data', (frame: Downstream) => {
  if (frame.opened) {
    opened = frame.opened;
    console.log(`opened: "${opened.receiver}" takes at most ${opened.maxBatchEvents} events and ${opened.maxBatchBytes} bytes a batch`);
  }
  if (frame.credit) credit += frame.credit.events;
  if (frame.ack) acknowledged = frame.ack.offset;
  wake();
});
call.on('error', () => undefined); // the status says what happened
const finished = new Promise<grpc.StatusObject>((resolve) => call.on('status', (status: grpc.StatusObject) => {
  ended = status;
  wake();
  resolve(status);
}));

console.log(`grpc-producer: ${settings.events} events (ids ${settings.idPrefix}-1..${settings.events}) to ${settings.address}`
  + `${settings.priorityClass ? `, class ${settings.priorityClass}` : ''}, at most ${settings.batch} a batch`);
let last = { acknowledged: 0, creditWaitMs: 0 };
const ticker = setInterval(() => {
  console.log(`sent=${sent} acknowledged=${acknowledged} acknowledged_per_s=${acknowledged - last.acknowledged} credit=${credit} `
    + `credit_wait_ms_per_s=${Math.round(creditWaitMs - last.creditWaitMs)}`);
  last = { acknowledged, creditWaitMs };
}, 1_000);

call.write(encode({ open: { link: 'producer->gateway', sender: 'grpc-producer', protocolVersion: 1 } }));
while (!ended && sent < settings.events) {
  if (!opened || credit === 0) {
    const waitStarted = performance.now();
    await somethingChanged();
    if (opened) creditWaitMs += performance.now() - waitStarted;
    continue;
  }
  // Within credit (rule 2) and Opened's limits (rule 9), offsets continuing from 0 (rule 5).
  let events = generate(sent, Math.min(credit, opened.maxBatchEvents, settings.batch, settings.events - sent));
  let frame = encode({ batch: { offset: sent, events } });
  while (frame.length > opened.maxBatchBytes && events.length > 1) {
    events = events.slice(0, Math.ceil(events.length / 2));
    frame = encode({ batch: { offset: sent, events } });
  }
  credit -= events.length;
  sent += events.length;
  batches += 1;
  if (!call.write(frame)) await Promise.race([once(call, 'drain'), finished]);
}
while (!ended && acknowledged < sent) await somethingChanged();
if (!ended) {
  call.write(encode({ close: { reason: 'grpc-producer finished', code: 0 } }));
  call.end();
}
const status = await finished;
clearInterval(ticker);
client.close();
const seconds = (Date.now() - startedAtMs) / 1000;
if (status.code === grpc.status.OK && acknowledged === settings.events) {
  console.log(`done: ${acknowledged} events acknowledged in ${seconds.toFixed(1)} s (${Math.round(acknowledged / seconds)} events/s), `
    + `${batches} batches, ${Math.round(creditWaitMs)} ms waiting for credit`);
} else {
  console.error(`link ended early: ${grpc.status[status.code]} ${status.details} (${sent} events sent, ${acknowledged} acknowledged)`);
  process.exitCode = 1;
}
