import { EventEmitter } from 'node:events';
import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import { decodeUpstream } from '../contract/batchDecoder.js';
import { PROTOCOL_VERSION, type Downstream, type Event__Output, type Upstream__Output } from '../contract/loadContract.js';
import { createLogger } from '../log.js';
import { AckTracker } from './AckTracker.js';
import type { BatchCost } from './BatchCost.js';
import { CreditRoundTrip } from './CreditRoundTrip.js';
import { DrainRate } from './DrainRate.js';
import { ProtocolError, failedPrecondition, invalidArgument, resourceExhausted } from './ProtocolError.js';
import { ReceiveWindow } from './ReceiveWindow.js';
import { heldBackShare, timeSizedWindow } from './timeSizedWindow.js';

const log = createLogger('flow.receiver');

/** The most UTF-8 bytes of the link and sender names an Open may carry. */
export const maxNameBytes = 256;

export interface LinkReceiverOptions {
  /** The name this side announces in Opened. */
  receiver: string;
  /** Events this link may buffer; its first grant (rule 3). */
  capacity: number;
  /** Freed space is granted back once this many events are free; default a quarter of the capacity. */
  replenishChunk?: number;
  /** Rule 9: the most events one Batch may carry. */
  maxBatchEvents: number;
  /** Rule 9: the most bytes one encoded Upstream frame may take (enforced by the gRPC server's receive limit). */
  maxBatchBytes: number;
  /** Deliveries handed out and not yet acknowledged before `take` waits. */
  maxUnacknowledgedDeliveries?: number;
  /** Once the buffer has been empty this long, freed space short of a chunk is granted too. */
  idleGrantMs?: number;
  /** How long a new call may wait before its Open. */
  openTimeoutMs?: number;
  /**
   * Sized by time: the window is held to what the consumer drains in this
   * many milliseconds (at least `minWindow`, at most the capacity); 0 or
   * absent keeps it at the capacity.
   */
  latencyShareMs?: number;
  /** How its consumer's time per batch depends on the batch's size: whether a smaller batch would be quicker (see timeSizedWindow's busyBatchShares). */
  batchCost?: BatchCost;
  /** The smallest window a link sized by time is held to (default: one whole batch, maxBatchEvents), whatever its drain rate and round trip; the stages set it from LINK_MIN_WINDOW. */
  minWindow?: number;
}

/** How often a link sized by time measures its drain rate and sets its window. */
const resizeEveryMs = 250;

/** While its consumer keeps up, a window above what the target sizes comes down by this factor an interval. */
const windowEasing = 0.75;

/** A window that starves its sender while its consumer keeps up grows to at most what drains in this many shares, or two whole batches. */
const maxGrowthShares = 2;

/** The call of one link: frames arrive as bytes, decoded here so that an undecodable one is a contract breach like any other. */
export type LinkCall = ServerDuplexStream<Buffer, Downstream>;

/** A run of consecutive events of one link, handed to the consumer; acknowledge it once it is done downstream. */
export interface Delivery {
  readonly link: string;
  /** Link offset of the first event. */
  readonly offset: number;
  readonly events: Event__Output[];
  /** The W3C trace context of the batch it came in (rule 6). */
  readonly traceContext: Record<string, string>;
  /** When its batch arrived (epoch ms): where waiting at this hop began. */
  readonly receivedAtMs: number;
  /** True once its link has ended: an acknowledgement can no longer reach upstream, which will re-deliver. */
  readonly abandoned: boolean;
  acknowledge(): void;
  /** It cannot be processed now: ends its link with UNAVAILABLE, so upstream re-delivers it. */
  reject(details: string): void;
}

export type LinkEnd =
  | { reason: 'closed' }
  | { reason: 'cancelled' }
  | { reason: 'failed'; code: status; details: string };

interface BufferedBatch { offset: number; events: Event__Output[]; traceContext: Record<string, string>; receivedAtMs: number }

type State = 'awaiting-open' | 'open' | 'closing' | 'ended';

/**
 * The downstream end of one link (one Exchange call): it checks every frame
 * against the contract, buffers at most `capacity` events, grants credit as the
 * consumer takes them, and passes the consumer's acknowledgements upstream.
 * Events: `readable` (something may be takeable now, or the link finished),
 * `received` ({ count, buffered, capacity }), `end` (LinkEnd).
 */
export class LinkReceiver extends EventEmitter implements AsyncIterable<Delivery> {
  name = '';
  sender = '';
  readonly window: ReceiveWindow;
  readonly closed: Promise<LinkEnd>;
  readonly drain = new DrainRate();
  readonly roundTrip = new CreditRoundTrip();
  /** Open.min_window: what the sender must have granted at once to make progress. */
  #senderMinWindow = 0;
  /** The largest delivery taken since the last resize from a backed-up link (half its window or more buffered) by a consumer its own downstream did not hold back: it is the slower side. */
  #busyBatch = 0;
  /** Since the last resize: the consumer found nothing to take; its own downstream held it back; the sender had (nearly) used up its credit. */
  #consumerWaited = false;
  #consumerHeldBack = false;
  /** Since the last resize: how long the consumer had waited for its downstream's credit before the deliveries it took. */
  #heldBackMs = 0;
  #lastResizeMs = performance.now();
  #senderStarved = false;

  #state: State = 'awaiting-open';
  #buffer: BufferedBatch[] = [];
  #received = 0;
  #acks: AckTracker;
  #ackScheduled = false;
  #wakeTaker: (() => void) | undefined;
  #openTimer: NodeJS.Timeout | undefined;
  #idleGrantTimer: NodeJS.Timeout | undefined;
  #resizeTimer: NodeJS.Timeout | undefined;
  #resolveClosed!: (end: LinkEnd) => void;

  constructor(
    private readonly call: LinkCall,
    private readonly options: LinkReceiverOptions,
    /** Called on a valid Open, before Opened is sent; it refuses the link by throwing a ProtocolError. */
    private readonly onOpen: (link: LinkReceiver) => void,
  ) {
    super();
    this.window = new ReceiveWindow(options.capacity, options.replenishChunk ?? Math.max(1, Math.ceil(options.capacity / 4)));
    this.#acks = new AckTracker(options.maxUnacknowledgedDeliveries ?? 1024);
    this.closed = new Promise((resolve) => { this.#resolveClosed = resolve; });
    this.#openTimer = setTimeout(() => this.#fail(new ProtocolError(status.DEADLINE_EXCEEDED, `no Open within ${options.openTimeoutMs ?? 10_000} ms`)), options.openTimeoutMs ?? 10_000);
    call.on('data', (bytes: Buffer) => this.#onBytes(bytes));
    // A cancelled call also ends its readable side, just before 'cancelled': look a turn later to tell the two apart.
    call.on('end', () => setImmediate(() => this.#beginClosing()));
    call.on('cancelled', () => this.#end({ reason: 'cancelled' }));
    call.on('error', () => this.#end({ reason: 'cancelled' }));
  }

  get state(): State { return this.#state; }
  get acknowledged(): number { return this.#acks.acknowledged; }
  get received(): number { return this.#received; }

  /**
   * The next delivery of at most `maxEvents` events; waits while the buffer is
   * empty or too many deliveries are unacknowledged. Undefined once the link has
   * ended or closed and everything buffered has been taken.
   */
  async take(maxEvents = Number.POSITIVE_INFINITY): Promise<Delivery | undefined> {
    if (this.#wakeTaker) throw new Error('only one consumer may take from a link at a time');
    for (;;) {
      const delivery = this.takeNow(maxEvents);
      if (delivery || this.finished) return delivery;
      await new Promise<void>((resolve) => { this.#wakeTaker = resolve; });
      this.#wakeTaker = undefined;
    }
  }

  /**
   * A delivery of at most `maxEvents` events if one can be handed out now; `readable` says when to
   * try again. `heldBackMs`: the consumer's own downstream limits what it takes, and it waited this
   * long for its credit (see Inbound#next).
   */
  takeNow(maxEvents = Number.POSITIVE_INFINITY, heldBackMs = 0): Delivery | undefined {
    const heldBack = heldBackMs > 0;
    if (this.#buffer.length === 0) this.#consumerWaited = true;
    if (heldBack) this.#consumerHeldBack = true;
    if (this.#state === 'ended' || this.#buffer.length === 0 || this.#acks.full) return undefined;
    this.#heldBackMs += heldBackMs;
    return this.#deliver(Math.max(1, maxEvents), heldBack);
  }

  /** Nothing more will ever be delivered: the link ended, or closed with its buffer drained. */
  get finished(): boolean {
    return this.#state === 'ended' || (this.#state === 'closing' && this.#buffer.length === 0);
  }

  /**
   * Ends the link from this side with UNAVAILABLE: what it buffered is dropped
   * and its unacknowledged events will be re-delivered upstream (rule 8). A
   * stage does this when its own downstream link resets.
   */
  reset(details: string): void {
    this.#end({ reason: 'failed', code: status.UNAVAILABLE, details }, () => this.call.emit('error', { code: status.UNAVAILABLE, details }));
  }

  /** Ends the link with `error`'s status, as a breach of the contract would. */
  refuse(error: ProtocolError): void {
    this.#fail(error);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Delivery> {
    for (let delivery = await this.take(); delivery; delivery = await this.take()) yield delivery;
  }

  /**
   * Up to `maxEvents` events from the head of the buffer, across as many
   * consecutive batches as they fill: a sender short of credit sends small
   * frames, and a hop whose cost is per batch (a commit) must not pay it per frame.
   */
  #deliver(maxEvents: number, heldBack: boolean): Delivery {
    const head = this.#buffer[0]!;
    const { offset, receivedAtMs } = head;
    let { traceContext } = head;
    const parts: Event__Output[][] = [];
    for (let room = maxEvents; room > 0 && this.#buffer.length > 0;) {
      const next = this.#buffer[0]!;
      // A batch's trace context is present only where its trace is sampled: the delivery continues the first such.
      if (Object.keys(traceContext).length === 0) traceContext = next.traceContext;
      if (next.events.length > room) {
        parts.push(next.events.slice(0, room));
        next.events = next.events.slice(room);
        next.offset += room;
        break;
      }
      parts.push(next.events);
      room -= next.events.length;
      this.#buffer.shift();
    }
    const events = parts.length === 1 ? parts[0]! : parts.flat();
    if (!heldBack && 2 * this.window.buffered >= this.window.limit) this.#busyBatch = Math.max(this.#busyBatch, events.length);
    const complete = this.#acks.track(offset + events.length);
    this.drain.taken(events.length);
    this.drain.backlog(this.#buffer.length > 0);
    const grant = this.window.release(events.length);
    if (grant > 0 && this.#state === 'open') this.#grant(grant);
    else if (this.#buffer.length === 0) this.#grantWhenIdle();
    const link = this;
    return {
      link: this.name,
      offset,
      events,
      traceContext,
      receivedAtMs,
      get abandoned() { return link.#state === 'ended'; },
      reject: (details) => this.reset(details),
      acknowledge: () => {
        if (this.#state === 'ended') return;
        if (complete() !== undefined) this.#scheduleAck();
        this.#wake();
        this.#finishIfDrained();
      },
    };
  }

  #onBytes(bytes: Buffer): void {
    if (this.#state === 'ended') return;
    try {
      const frame = decodeUpstream(bytes);
      switch (frame.frame) {
        case 'open': return this.#onOpen(frame.open!);
        case 'batch': return this.#onBatch(frame.batch!);
        case 'close': return this.#onClose(frame.close!);
        default: throw invalidArgument('a frame must carry open, batch or close');
      }
    } catch (error) {
      this.#fail(error instanceof ProtocolError ? error : invalidArgument(`undecodable frame: ${String(error)}`));
    }
  }

  #onOpen(open: NonNullable<Upstream__Output['open']>): void {
    if (this.#state !== 'awaiting-open') throw failedPrecondition('Open may be sent only once, as the first frame');
    if (open.protocolVersion !== PROTOCOL_VERSION) {
      throw failedPrecondition(`protocol version ${open.protocolVersion} is not supported; this receiver speaks ${PROTOCOL_VERSION}`);
    }
    if (!open.link) throw invalidArgument('Open must name the link');
    if (Buffer.byteLength(open.link) > maxNameBytes || Buffer.byteLength(open.sender) > maxNameBytes) {
      throw invalidArgument(`link and sender names are at most ${maxNameBytes} bytes`);
    }
    clearTimeout(this.#openTimer);
    this.name = open.link;
    this.sender = open.sender;
    this.#senderMinWindow = Math.min(open.minWindow, this.window.capacity);
    this.onOpen(this);
    this.#state = 'open';
    this.#write({
      opened: {
        receiver: this.options.receiver,
        protocolVersion: PROTOCOL_VERSION,
        maxBatchEvents: this.options.maxBatchEvents,
        maxBatchBytes: this.options.maxBatchBytes,
      },
    });
    // The opening grant is no round trip's start: the sender may have nothing to send yet.
    this.#write({ credit: { events: this.window.openingGrant(), window: this.window.limit } });
    if (this.options.latencyShareMs) {
      this.#resizeTimer = setInterval(() => this.#resize(), resizeEveryMs);
      this.#resizeTimer.unref();
    }
  }

  /**
   * The window that drains in the link's share of the latency target, at the rate the consumer
   * drains it. While the consumer keeps up nothing waits here, so a window above that costs no
   * time: one that starved its sender (the window, not the consumer, held the link back) doubles,
   * up to what drains in two shares or two whole batches, and any other comes down to it by a
   * quarter an interval rather than at once.
   */
  #resize(): void {
    const rate = this.drain.sample();
    const nowMs = performance.now();
    const heldBack = this.#consumerHeldBack;
    const busyBatch = this.#busyBatch;
    // Kept up: it found nothing to take at times, and neither did its own downstream hold it back nor did it find its link backed up.
    const keptUp = this.#consumerWaited && !heldBack && busyBatch === 0;
    const mostlyHeldBack = 2 * this.#heldBackMs >= nowMs - this.#lastResizeMs;
    this.#lastResizeMs = nowMs;
    this.#heldBackMs = 0;
    const starved = this.#senderStarved;
    this.#busyBatch = 0;
    this.#consumerWaited = false;
    this.#consumerHeldBack = false;
    this.#senderStarved = false;
    if (rate === undefined || this.#state !== 'open') return;
    const shareMs = this.options.latencyShareMs!;
    const sized = timeSizedWindow({
      perSecond: rate,
      // Held back by its own downstream most of the time, this hop is not the bottleneck: what it holds only waits.
      shareMs: mostlyHeldBack ? shareMs * heldBackShare : shareMs,
      roundTripMs: this.roundTrip.estimateMs,
      busyBatch,
      busyBatchShares: this.#busyBatchShares(),
      min: this.#minimumWindow(heldBack),
      max: this.window.capacity,
    });
    const grown = Math.min(this.window.limit * 2, Math.max((rate * shareMs * maxGrowthShares) / 1_000, 2 * this.options.maxBatchEvents));
    const limit = keptUp ? Math.max(sized, starved ? grown : this.window.limit * windowEasing) : sized;
    const grant = this.window.setLimit(limit);
    if (grant > 0) this.#grant(grant);
  }

  /**
   * LINK_MIN_WINDOW and the sender's Open.min_window; and one whole batch, unless the consumer's
   * batches are measurably quicker smaller or its own downstream holds it back: for any other a
   * smaller batch gains no time and costs throughput (and the rate, and the window, would follow
   * it down).
   */
  #minimumWindow(consumerHeldBack: boolean): number {
    const cost = this.options.batchCost;
    const wholeBatch = consumerHeldBack || cost === undefined || cost.smallerIsQuicker === true ? 0 : this.options.maxBatchEvents;
    const floor = Math.max(this.options.minWindow ?? this.options.maxBatchEvents, this.#senderMinWindow, wholeBatch);
    return Math.min(this.window.capacity, floor);
  }

  /**
   * How many shares a busy consumer's batch may take to drain (see timeSizedWindow): two when its
   * batches are quicker smaller (most of their time grows with their size: the bottleneck's own
   * queue may hold twice another's, the queues before it being held to their shares); no limit when
   * they are not (a smaller batch would gain no time, only lose throughput). While its batch cost
   * cannot tell (batches all alike), a batch taking over half the target is held to two shares,
   * which tries it smaller: that is how the cost comes to tell.
   */
  #busyBatchShares(): number {
    const cost = this.options.batchCost;
    const smallerIsQuicker = cost?.smallerIsQuicker;
    if (smallerIsQuicker !== undefined) return smallerIsQuicker ? 1 : Number.POSITIVE_INFINITY;
    const meanMs = cost?.meanMs;
    return meanMs !== undefined && meanMs > 2 * this.options.latencyShareMs! ? 2 : 4;
  }

  /** Sends a grant the window has already counted as outstanding. */
  #grant(events: number): void {
    const senderHad = this.window.outstanding - events;
    // Starved: it had less than a quarter of the window left to send with.
    if (4 * senderHad < this.window.limit) this.#senderStarved = true;
    this.roundTrip.granted(senderHad === 0);
    this.#write({ credit: { events, window: this.window.limit } });
  }

  #onBatch(batch: NonNullable<Upstream__Output['batch']>): void {
    if (this.#state === 'awaiting-open') throw failedPrecondition('the first frame must be Open');
    if (this.#state === 'closing') throw failedPrecondition('Batch after Close');
    const count = batch.events.length;
    if (count === 0) throw invalidArgument('a Batch must carry at least one event');
    if (count > this.options.maxBatchEvents) {
      throw resourceExhausted(`a Batch of ${count} events is over the limit of ${this.options.maxBatchEvents}`);
    }
    if (batch.offset !== this.#received) {
      throw invalidArgument(`Batch offset ${batch.offset} does not continue the link at ${this.#received}`);
    }
    this.window.admit(count);
    this.roundTrip.received();
    this.#received += count;
    this.#buffer.push({ offset: batch.offset, events: batch.events, traceContext: batch.traceContext, receivedAtMs: Date.now() });
    this.drain.backlog(true);
    this.emit('received', { count, buffered: this.window.buffered, capacity: this.window.capacity });
    this.#wake();
  }

  #onClose(close: NonNullable<Upstream__Output['close']>): void {
    if (this.#state === 'awaiting-open') throw failedPrecondition('the first frame must be Open');
    if (close.code !== 0) log.warn('sender closed the link over a contract breach', { link: this.name, code: close.code, reason: close.reason });
    this.#beginClosing();
  }

  #beginClosing(): void {
    if (this.#state === 'ended' || this.#state === 'closing') return;
    if (this.#state === 'awaiting-open') return this.#end({ reason: 'closed' }, () => this.call.end());
    this.#state = 'closing';
    this.#wake();
    this.#finishIfDrained();
  }

  #finishIfDrained(): void {
    if (this.#state !== 'closing' || this.#buffer.length > 0 || this.#acks.pending > 0) return;
    this.#flushAck();
    this.#end({ reason: 'closed' }, () => this.call.end());
  }

  #fail(error: ProtocolError): void {
    if (this.#state === 'ended') return;
    log.warn('link refused', { link: this.name || undefined, sender: this.sender || undefined, peer: this.call.getPeer(), code: status[error.code], details: error.message });
    this.#end({ reason: 'failed', code: error.code, details: error.message }, () => this.call.emit('error', error.toStatus()));
  }

  #end(end: LinkEnd, finishCall?: () => void): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    clearTimeout(this.#openTimer);
    clearTimeout(this.#idleGrantTimer);
    clearInterval(this.#resizeTimer);
    this.#buffer = [];
    this.#acks.clear();
    finishCall?.();
    this.#wake();
    this.#resolveClosed(end);
    this.emit('end', end);
  }

  /**
   * Chunked grants can leave a sender up to a chunk short of the capacity for
   * good once traffic stops, and a sender that needs its whole batch's credit
   * at once (the gateway) would wait forever; an idle link grants the rest.
   */
  #grantWhenIdle(): void {
    if (this.#idleGrantTimer || this.window.freed === 0) return;
    this.#idleGrantTimer = setTimeout(() => {
      this.#idleGrantTimer = undefined;
      if (this.#state !== 'open' || this.#buffer.length > 0) return;
      const grant = this.window.grantFreed();
      if (grant > 0) this.#grant(grant);
    }, this.options.idleGrantMs ?? 10);
    this.#idleGrantTimer.unref();
  }

  #scheduleAck(): void {
    if (this.#ackScheduled) return;
    this.#ackScheduled = true;
    setImmediate(() => this.#flushAck());
  }

  #flushAck(): void {
    if (!this.#ackScheduled || this.#state === 'ended') return;
    this.#ackScheduled = false;
    this.#write({ ack: { offset: this.#acks.acknowledged } });
  }

  #write(frame: Downstream): void {
    // Downstream frames are few and small (one credit per freed chunk, one coalesced ack per tick), so they need no drain.
    this.call.write(frame);
  }

  #wake(): void {
    const wake = this.#wakeTaker;
    this.#wakeTaker = undefined;
    wake?.();
    this.emit('readable');
  }
}
