// A second enrichment, written against nothing but the wire contract in proto/ (and grpc-js,
// proto-loader, ioredis): what a user who replaces one hop of the mesh writes. It keeps the
// rules of proto/CONTRACT.md by the simplest means: one credit window per upstream link, given back
// only when join has acknowledged what the events became (rules 3, 4, 5), refusals with the
// statuses the contract names (rules 1, 2, 7, 9), and every upstream link reset when the link
// to join fails, so the source re-delivers (rule 8).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Redis } from 'ioredis';

interface Event { id: string; userId: string; deadLetter?: unknown; profile?: unknown; [field: string]: unknown }
interface Upstream { open?: { link: string; sender: string; protocolVersion: number }; batch?: { offset: number; events: Event[]; traceContext: Record<string, string> }; close?: object }
interface Downstream { opened?: { receiver: string; protocolVersion: number; maxBatchEvents: number; maxBatchBytes: number }; credit?: { events: number }; ack?: { offset: number } }
type FlowClient = grpc.Client & { Exchange(): grpc.ClientDuplexStream<Upstream, Downstream> };
interface Pending { link: UpstreamLink; end: number; joinEnd: number; events: number }

const setting = (name: string, fallback: string) => process.env[name] || fallback;
const listen = setting('LISTEN_ADDR', '127.0.0.1:50052');
const joinAddress = setting('JOIN_ADDR', '127.0.0.1:50053');
const keyPrefix = setting('REDIS_KEY_PREFIX', 'mesh:');
const capacity = Number(setting('LINK_CAPACITY', '1000'));
const maxBatchEvents = 500;
const maxBatchBytes = 4 * 1024 * 1024;
const maxNameBytes = 256;
const openTimeoutMs = 2_000;
const protocolVersion = 1;

const protoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'proto');
const contract = protoLoader.loadSync('mesh/flow/v1/flow.proto', { includeDirs: [protoRoot], longs: Number, enums: String, defaults: true, oneofs: true });
const Flow = (grpc.loadPackageDefinition(contract) as unknown as { mesh: { flow: { v1: { Flow: grpc.ServiceClientConstructor } } } }).mesh.flow.v1.Flow;
const exchangeMethod = Flow.service.Exchange!;
const redis = new Redis(setting('REDIS_URL', 'redis://127.0.0.1:6379'), { maxRetriesPerRequest: null });

/** One upstream link, as this hop receives it. */
class UpstreamLink {
  opened = false;
  closing = false;
  received = 0;
  outstanding = 0;
  freed = 0;
  inFlight = 0;

  readonly openTimer = setTimeout(() => this.fail(grpc.status.DEADLINE_EXCEEDED, `no Open within ${openTimeoutMs} ms`), openTimeoutMs);

  constructor(readonly call: grpc.ServerDuplexStream<Buffer, Downstream>) {}

  fail(code: grpc.status, details: string): void {
    clearTimeout(this.openTimer);
    this.call.emit('error', { code, details });
    links.delete(this);
  }

  /** Close, or a half-close: deliver and acknowledge what is in flight, then end with OK. */
  close(): void {
    this.closing = true;
    if (this.inFlight === 0) this.call.end();
  }

  grant(events: number): void {
    this.outstanding += events;
    this.call.write({ credit: { events } });
  }

  /** Join has what these events became: acknowledge them, and give their space back in chunks (or when nothing is left in flight). */
  done(end: number, events: number): void {
    this.inFlight -= events;
    this.call.write({ ack: { offset: end } });
    this.freed += events;
    if (this.freed >= Math.ceil(capacity / 4) || this.inFlight === 0) {
      this.grant(this.freed);
      this.freed = 0;
    }
    if (this.closing && this.inFlight === 0) this.call.end();
  }
}

/** The link to join: credit counted, batches cut to it, acknowledgements handed back to the upstream links. */
class JoinLink {
  call: grpc.ClientDuplexStream<Upstream, Downstream> | undefined;
  credit = 0;
  sent = 0;
  maxEvents = maxBatchEvents;
  pending: Pending[] = [];
  #wake: (() => void) | undefined;
  readonly #client = new Flow(joinAddress, grpc.credentials.createInsecure()) as unknown as FlowClient;

  connect(): void {
    const call = this.#client.Exchange();
    Object.assign(this, { call, credit: 0, sent: 0, pending: [] });
    call.write({ open: { link: 'enrichment->join', sender: 'plain-enrichment', protocolVersion } });
    call.on('data', (frame: Downstream) => {
      if (frame.opened) this.maxEvents = Math.min(maxBatchEvents, frame.opened.maxBatchEvents);
      if (frame.credit) { this.credit += frame.credit.events; this.#wake?.(); }
      if (frame.ack) {
        while (this.pending.length > 0 && this.pending[0]!.joinEnd <= frame.ack.offset) {
          const done = this.pending.shift()!;
          done.link.done(done.end, done.events);
        }
      }
    });
    call.on('error', () => this.#lost());
    call.on('end', () => this.#lost());
  }

  async send(events: Event[], traceContext: Record<string, string>): Promise<number> {
    for (let next = 0; next < events.length;) {
      while (this.credit < 1) await new Promise<void>((resolve) => { this.#wake = resolve; });
      const count = Math.min(this.credit, this.maxEvents, events.length - next);
      this.call!.write({ batch: { offset: this.sent, events: events.slice(next, next + count), traceContext } });
      this.credit -= count;
      this.sent += count;
      next += count;
    }
    return this.sent;
  }

  /** Whatever was on its way is re-delivered from the intake: every upstream link is reset. */
  #lost(): void {
    if (!this.call) return;
    this.call = undefined;
    for (const link of links) link.fail(grpc.status.UNAVAILABLE, 'the link to join was lost');
    setTimeout(() => this.connect(), 500);
  }
}

const links = new Set<UpstreamLink>();
const join = new JoinLink();
join.connect();
const queue: Array<{ link: UpstreamLink; end: number; events: Event[]; traceContext: Record<string, string> }> = [];
let wakeProcessor: (() => void) | undefined;

function exchange(call: grpc.ServerDuplexStream<Buffer, Downstream>): void {
  const link = new UpstreamLink(call);
  links.add(link);
  call.on('data', (bytes: Buffer) => {
    let frame: Upstream & { frame?: string };
    try {
      frame = exchangeMethod.requestDeserialize(bytes) as typeof frame;
    } catch {
      return link.fail(grpc.status.INVALID_ARGUMENT, 'a frame that does not decode');
    }
    if (!frame.frame) return link.fail(grpc.status.INVALID_ARGUMENT, 'a frame must carry open, batch or close');
    if (!link.opened) {
      if (!frame.open) return link.fail(grpc.status.FAILED_PRECONDITION, 'the first frame must be Open');
      if (frame.open.protocolVersion !== protocolVersion) return link.fail(grpc.status.FAILED_PRECONDITION, `protocol version ${frame.open.protocolVersion} is not ${protocolVersion}`);
      if (!frame.open.link || Buffer.byteLength(frame.open.link) > maxNameBytes || Buffer.byteLength(frame.open.sender) > maxNameBytes) {
        return link.fail(grpc.status.INVALID_ARGUMENT, `a link name of 1..${maxNameBytes} bytes and a sender of at most ${maxNameBytes}`);
      }
      clearTimeout(link.openTimer);
      link.opened = true;
      call.write({ opened: { receiver: 'plain-enrichment', protocolVersion, maxBatchEvents, maxBatchBytes } });
      return link.grant(capacity);
    }
    if (frame.open) return link.fail(grpc.status.FAILED_PRECONDITION, 'a second Open');
    if (link.closing) return link.fail(grpc.status.FAILED_PRECONDITION, 'a frame after Close');
    if (frame.close) return link.close();
    const batch = frame.batch!;
    const count = batch.events.length;
    if (count === 0) return link.fail(grpc.status.INVALID_ARGUMENT, 'an empty Batch');
    if (count > maxBatchEvents) return link.fail(grpc.status.RESOURCE_EXHAUSTED, `more than ${maxBatchEvents} events in a Batch`);
    if (batch.offset !== link.received) return link.fail(grpc.status.INVALID_ARGUMENT, `offset ${batch.offset} does not continue the link at ${link.received}`);
    if (count > link.outstanding) return link.fail(grpc.status.RESOURCE_EXHAUSTED, `${count} events with ${link.outstanding} granted`);
    link.outstanding -= count;
    link.received += count;
    link.inFlight += count;
    queue.push({ link, end: link.received, events: batch.events, traceContext: batch.traceContext });
    wakeProcessor?.();
  });
  call.on('end', () => (link.opened ? link.close() : link.fail(grpc.status.FAILED_PRECONDITION, 'half-closed before Open')));
  call.on('cancelled', () => { clearTimeout(link.openTimer); links.delete(link); });
  call.on('error', () => { clearTimeout(link.openTimer); links.delete(link); });
}

/** One batch at a time: look the profiles up (one MGET), add them, pass the batch on. */
async function enrichForever(): Promise<never> {
  for (;;) {
    const item = queue.shift();
    if (!item) { await new Promise<void>((resolve) => { wakeProcessor = resolve; }); continue; }
    if (!links.has(item.link) || !join.call) continue;
    const live = item.events.filter((event) => !event.deadLetter);
    const stored = live.length > 0 ? await redis.mget(live.map((event) => `${keyPrefix}profile:${event.userId}`)) : [];
    const enriched = item.events.map((event) => {
      if (event.deadLetter) return event;
      const text = stored[live.indexOf(event)];
      if (text == null) return { ...event, profile: { found: false, segment: '', country: '', degraded: false } };
      try {
        const { segment, country } = JSON.parse(text) as { segment: string; country: string };
        return { ...event, profile: { found: true, segment, country, degraded: false } };
      } catch {
        return { ...event, deadLetter: { stage: 'enrichment', reason: `the stored profile of ${event.userId} is not JSON` } };
      }
    });
    const joinEnd = await join.send(enriched, item.traceContext);
    join.pending.push({ link: item.link, end: item.end, joinEnd, events: item.events.length });
  }
}

const server = new grpc.Server({ 'grpc.max_receive_message_length': maxBatchBytes });
// Frames arrive as bytes and are decoded in exchange(), so one that does not decode is answered with INVALID_ARGUMENT.
server.addService({ Exchange: { ...exchangeMethod, requestDeserialize: (bytes: Buffer) => bytes } }, { Exchange: exchange });
server.bindAsync(listen, grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) { console.error(`plain enrichment: ${error.message}`); process.exit(1); }
  console.log(`enrichment listening on ${listen.replace(/:\d+$/, `:${port}`)}`);
});
process.on('SIGTERM', () => { server.forceShutdown(); redis.disconnect(); process.exit(0); });
void enrichForever();
