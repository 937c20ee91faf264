import { EventEmitter, once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import {
  PROTOCOL_VERSION, flowService,
  type Downstream__Output, type Event, type Opened__Output, type Upstream,
} from '../contract/loadContract.js';
import { encodeUpstream } from '../contract/batchEncoder.js';
import { createLogger } from '../log.js';
import { AckLedger } from './AckLedger.js';
import { CreditWindow } from './CreditWindow.js';
import { releaseReservation, type Outbound, type OutboundEvents, type OutboundStats, type Reservation, type SendResult } from './Outbound.js';
import { ProtocolError, failedPrecondition, invalidArgument } from './ProtocolError.js';
import { defaultBackoff, reconnectDelay, type BackoffOptions } from './backoff.js';
import { clientChannelOptions } from './channelOptions.js';
import { waitInLine, type Waiter } from './waitInLine.js';
import { EventTooLargeError, LinkClosedError, LinkResetError } from './linkErrors.js';

const log = createLogger('flow.sender');
const exchangePath = flowService.Exchange.path;
const decodeFrame = flowService.Exchange.responseDeserialize as (bytes: Buffer) => Downstream__Output;

export interface LinkSenderOptions {
  /** host:port of the receiver. */
  target: string;
  /** The link's name, e.g. "source->enrichment". */
  link: string;
  /** Who is sending, e.g. "source-1". */
  sender: string;
  /** Open.min_window: the most events this sender must have granted at once to make progress (0: it cuts batches to its credit). */
  minWindow?: number;
  credentials?: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
  backoff?: BackoffOptions;
  /** How long to wait for Opened after sending Open. */
  openTimeoutMs?: number;
  /** How long close() waits for the receiver's last acknowledgements. */
  closeTimeoutMs?: number;
  /**
   * How long a connection must stay open before the reconnect backoff starts
   * again from its shortest delay: a receiver that answers Opened and then
   * fails must not be redialled in a storm.
   */
  healthyAfterMs?: number;
  /** Call metadata sent with every Exchange call, e.g. `authorization: Bearer <token>` for the gateway's ingest. */
  metadata?: Record<string, string>;
}

export interface SenderStats extends OutboundStats {
  /** Which connection of this sender is (or was last) open: offsets and acks are per connection. */
  generation: number;
}

/** A LinkSender's own events beside the port's: for tests and tools that watch a link's every step. */
export interface LinkSenderEvents extends OutboundEvents {
  connected: [opened: Opened__Output];
  ack: [{ generation: number; offset: number }];
  reset: [{ generation: number; unacknowledged: number; details: string }];
  sent: [{ generation: number; offset: number; count: number; granted: number }];
}

/** One Exchange call: what the sender knows of it. */
class Connection {
  readonly window = new CreditWindow();
  readonly ledger = new AckLedger();
  opened: Opened__Output | undefined;
  openedAtMs = 0;
  capacity = 0;
  receiverWindow = 0;
  sent = 0;
  endedBy: LinkResetError | undefined;
  openTimer: NodeJS.Timeout | undefined;
  /** Aborted when the call ends, so waits on it (drain) end with it and leave no listener behind. */
  readonly lifetime = new AbortController();
  readonly ended: Promise<LinkResetError>;
  resolveEnded!: (error: LinkResetError) => void;

  constructor(readonly generation: number, readonly call: grpc.ClientDuplexStream<Buffer, Buffer>) {
    this.ended = new Promise((resolve) => { this.resolveEnded = resolve; });
  }

  get unacknowledged(): number { return this.sent - this.ledger.acknowledged; }

  /** The acknowledgement of everything sent so far: handled here, so that a reset nobody awaits is no unhandled rejection. */
  acknowledgedUpTo(end: number): Promise<void> {
    const acknowledged = this.ledger.record(end);
    acknowledged.catch(() => undefined);
    return acknowledged;
  }
}

/** What one send did; its acknowledgement is made when asked for, so a caller that does not follow it costs the link nothing. */
class Sent implements SendResult {
  frames = 0;
  creditWaitMs = 0;
  drainWaitMs = 0;
  #acknowledged: Promise<void> | undefined;

  constructor(private readonly connection: Connection, readonly offset: number, readonly count: number) {}

  get acknowledged(): Promise<void> {
    return this.#acknowledged ??= this.connection.acknowledgedUpTo(this.offset + this.count);
  }
}

/**
 * The upstream end of a link. It dials the receiver, opens the link, and sends
 * batches only within the credit granted (rule 2), splitting a batch to fit
 * the credit, the receiver's frame limits (rule 9) and the transport's drain.
 * When the call ends it reconnects with backoff; offsets start again at 0 on
 * each new connection (a new generation) and what the old one left
 * unacknowledged is reported with the `reset` event.
 *
 * Events: LinkSenderEvents.
 */
export class LinkSender extends EventEmitter<LinkSenderEvents> implements Outbound {
  readonly #client: grpc.Client;
  readonly #stopping = new AbortController();
  #generation = 0;
  #connection: Connection | undefined;
  readonly #openWaiters: Array<Waiter<Connection>> = [];
  #sending = false;
  #creditWaitMs = 0;
  #drainWaitMs = 0;
  #totalSent = 0;

  constructor(private readonly options: LinkSenderOptions) {
    super();
    this.#client = new grpc.Client(options.target, options.credentials ?? grpc.credentials.createInsecure(), {
      ...clientChannelOptions(),
      ...options.channelOptions,
    });
    void this.#maintainConnection();
  }

  get connected(): boolean { return this.#connection !== undefined; }

  get link(): string { return this.options.link; }

  stats(): SenderStats {
    const connection = this.#connection;
    return {
      generation: this.#generation,
      connected: connection !== undefined,
      capacity: connection?.capacity ?? 0,
      receiverWindow: connection?.receiverWindow ?? 0,
      availableCredit: connection?.window.available ?? 0,
      freeCredit: connection?.window.free ?? 0,
      sent: connection?.sent ?? 0,
      acknowledged: connection?.ledger.acknowledged ?? 0,
      totalSent: this.#totalSent,
      creditWaitMs: this.#creditWaitMs,
      drainWaitMs: this.#drainWaitMs,
    };
  }

  /** Reserves up to `max` events once the link is open and has free credit; a reset meanwhile means waiting for the next connection. */
  async reserve(max: number, signal?: AbortSignal): Promise<Reservation> {
    for (;;) {
      const connection = await this.#whenOpen(signal);
      try {
        return { events: await connection.window.reserve(max, signal), window: connection.window };
      } catch (error) {
        if (!(error instanceof LinkResetError)) throw error;
      }
    }
  }

  tryReserve(count: number): Reservation | undefined {
    const window = this.#connection?.window;
    return window?.tryReserve(count) ? { events: count, window } : undefined;
  }

  release(reservation: Reservation, count = reservation.events): void {
    releaseReservation(reservation, count);
  }

  /** Whether `reservation` holds credit of this sender's open connection. */
  holds(reservation: Reservation): boolean {
    return reservation.window === this.#connection?.window;
  }

  /**
   * Sends `events` in order, in as many frames as credit and limits require,
   * within `reservation` first. Rejects with LinkResetError if the connection
   * ends first; one send at a time.
   */
  async send(events: readonly Event[], traceContext: Record<string, string> = {}, reservation?: Reservation): Promise<SendResult> {
    if (this.#sending) throw new Error('LinkSender.send: one send at a time');
    this.#sending = true;
    let reserved = 0;
    let releaseUnspent = () => {};
    try {
      const connection = await this.#whenOpen();
      releaseUnspent = () => connection.window.release(reserved);
      // A reservation made on a connection that has ended holds nothing.
      if (reservation?.window === connection.window) reserved = reservation.events;
      if (reservation) reservation.events = 0;
      const result = new Sent(connection, connection.sent, events.length);
      for (let next = 0; next < events.length;) {
        if (reserved === 0 && connection.window.free === 0) {
          const waitStarted = performance.now();
          await connection.window.whenFree();
          result.creditWaitMs += performance.now() - waitStarted;
        }
        if (connection.endedBy) throw connection.endedBy;
        const wanted = Math.min(reserved + connection.window.free, connection.opened!.maxBatchEvents, events.length - next);
        const { frame, count } = this.#encodeFitting(connection, events, next, wanted, traceContext);
        connection.window.spend(count, reserved);
        reserved = Math.max(reserved - count, 0);
        const offset = connection.sent;
        connection.sent += count;
        this.#totalSent += count;
        next += count;
        result.frames += 1;
        this.emit('sent', { generation: connection.generation, offset, count, granted: connection.window.granted });
        if (!connection.call.write(frame)) {
          const drainStarted = performance.now();
          await once(connection.call, 'drain', { signal: connection.lifetime.signal }).catch((error: unknown) => {
            throw connection.endedBy ?? error;
          });
          result.drainWaitMs += performance.now() - drainStarted;
        }
      }
      this.#creditWaitMs += result.creditWaitMs;
      this.#drainWaitMs += result.drainWaitMs;
      return result;
    } finally {
      releaseUnspent();
      this.#sending = false;
    }
  }

  /** Says Close, waits (bounded) for the receiver to acknowledge and end the call, and releases the channel. */
  async close(reason = 'sender finished'): Promise<void> {
    if (this.#stopping.signal.aborted) return;
    this.#stopping.abort();
    this.#rejectOpenWaiters(new LinkClosedError());
    const connection = this.#connection;
    if (connection && !connection.endedBy) {
      connection.call.write(encodeUpstream({ close: { reason, code: 0 } }));
      connection.call.end();
      const timeout = sleep(this.options.closeTimeoutMs ?? 5_000, 'timeout', { ref: false });
      if (await Promise.race([connection.ended, timeout]) === 'timeout') connection.call.cancel();
    }
    this.#client.close();
  }

  /** Ends the link at once; unacknowledged events will come back from the intake. */
  cancel(): void {
    this.#stopping.abort();
    this.#rejectOpenWaiters(new LinkClosedError());
    this.#connection?.call.cancel();
    this.#client.close();
  }

  async #maintainConnection(): Promise<void> {
    let failures = 0;
    while (!this.#stopping.signal.aborted) {
      const openForMs = await this.#runConnection();
      if (this.#stopping.signal.aborted) break;
      failures = openForMs >= (this.options.healthyAfterMs ?? 10_000) ? 0 : failures + 1;
      const delay = reconnectDelay(failures, this.options.backoff ?? defaultBackoff);
      await sleep(delay, undefined, { signal: this.#stopping.signal }).catch(() => undefined);
    }
  }

  /** Runs one Exchange call to its end; resolves with how long it was open (-1: never). */
  #runConnection(): Promise<number> {
    const call = this.#client.makeBidiStreamRequest<Buffer, Buffer>(exchangePath, (frame) => frame, (bytes) => bytes, callMetadata(this.options.metadata));
    const connection = new Connection(++this.#generation, call);
    const openTimeoutMs = this.options.openTimeoutMs ?? 10_000;
    connection.openTimer = setTimeout(() => {
      this.#breach(connection, new ProtocolError(grpc.status.DEADLINE_EXCEEDED, `no Opened within ${openTimeoutMs} ms`));
    }, openTimeoutMs);
    call.on('data', (bytes: Buffer) => {
      if (connection.endedBy) return;
      try {
        this.#onFrame(connection, decodeFrame(bytes));
      } catch (error) {
        this.#breach(connection, error instanceof ProtocolError ? error : invalidArgument(`undecodable frame: ${String(error)}`));
      }
    });
    call.on('status', (status: grpc.StatusObject) => this.#finish(connection, `${grpc.status[status.code]}: ${status.details}`));
    call.on('error', (error: grpc.ServiceError) => this.#finish(connection, `${grpc.status[error.code] ?? 'ERROR'}: ${error.details ?? error.message}`));
    call.write(encodeUpstream({ open: { link: this.options.link, sender: this.options.sender, protocolVersion: PROTOCOL_VERSION, minWindow: this.options.minWindow ?? 0 } }));
    return connection.ended.then(() => (connection.opened ? performance.now() - connection.openedAtMs : -1));
  }

  /** The call is over, for whatever reason: wake whoever waits on it and report what it left unacknowledged. */
  #finish(connection: Connection, details: string): void {
    if (connection.endedBy) return;
    clearTimeout(connection.openTimer);
    const error = new LinkResetError(connection.generation, connection.unacknowledged, details);
    connection.endedBy = error;
    connection.window.close(error);
    connection.ledger.end(error);
    connection.lifetime.abort(error);
    if (this.#connection === connection) this.#connection = undefined;
    if (connection.opened && !this.#stopping.signal.aborted) {
      log.warn('link reset', { link: this.options.link, target: this.options.target, generation: connection.generation, unacknowledged: error.unacknowledged, status: details });
      this.emit('reset', { generation: connection.generation, unacknowledged: error.unacknowledged, details });
    }
    connection.resolveEnded(error);
  }

  #onFrame(connection: Connection, frame: Downstream__Output): void {
    switch (frame.frame) {
      case 'opened': {
        const opened = frame.opened!;
        if (connection.opened) throw failedPrecondition('Opened sent twice');
        if (opened.protocolVersion !== PROTOCOL_VERSION) {
          throw failedPrecondition(`receiver speaks protocol ${opened.protocolVersion}; this sender speaks ${PROTOCOL_VERSION}`);
        }
        if (opened.maxBatchEvents < 1 || opened.maxBatchBytes < 1) throw invalidArgument('Opened must announce positive batch limits');
        clearTimeout(connection.openTimer);
        connection.opened = opened;
        connection.openedAtMs = performance.now();
        this.#connection = connection;
        for (const waiter of this.#openWaiters.splice(0)) waiter.resolve(connection);
        this.emit('connected', opened);
        return;
      }
      case 'credit':
        if (!connection.opened) throw failedPrecondition('Credit before Opened');
        connection.window.grant(frame.credit!.events);
        if (connection.capacity === 0) connection.capacity = frame.credit!.events;
        connection.receiverWindow = frame.credit!.window || connection.capacity;
        this.emit('credit', connection.window.free);
        return;
      case 'ack': {
        const offset = frame.ack!.offset;
        const { acknowledged } = connection.ledger;
        if (offset < acknowledged || offset > connection.sent) {
          throw invalidArgument(`Ack ${offset} is outside ${acknowledged}..${connection.sent} (acks are cumulative and cover only what was sent)`);
        }
        if (offset === acknowledged) return;
        connection.ledger.acknowledge(offset);
        this.emit('ack', { generation: connection.generation, offset });
        return;
      }
      default:
        throw invalidArgument('a downstream frame must carry opened, credit or ack');
    }
  }

  /** The receiver broke the contract: tell it why, end the call, and let the connection loop reconnect. */
  #breach(connection: Connection, error: ProtocolError): void {
    log.warn('receiver broke the link contract', { link: this.options.link, target: this.options.target, code: grpc.status[error.code], details: error.message });
    const { call } = connection;
    call.write(encodeUpstream({ close: { reason: error.message, code: error.code } }));
    call.end();
    setTimeout(() => call.cancel(), 1_000).unref();
    this.#finish(connection, `${grpc.status[error.code]}: ${error.message}`);
  }

  /** Encodes the longest run of events from `start` (at most `wanted`) whose frame fits the receiver's byte limit. */
  #encodeFitting(connection: Connection, events: readonly Event[], start: number, wanted: number, traceContext: Record<string, string>): { frame: Buffer; count: number } {
    const maxBytes = connection.opened!.maxBatchBytes;
    for (let count = wanted; ; count = Math.ceil(count / 2)) {
      const batchEvents = start === 0 && count === events.length ? (events as Event[]) : events.slice(start, start + count);
      const frame = encodeUpstream({ batch: { offset: connection.sent, events: batchEvents, traceContext } } satisfies Upstream);
      if (frame.length <= maxBytes) return { frame, count };
      if (count === 1) throw new EventTooLargeError(start, events[start]?.id ?? '?', frame.length, maxBytes, connection.acknowledgedUpTo(connection.sent));
    }
  }

  #whenOpen(signal?: AbortSignal): Promise<Connection> {
    if (this.#stopping.signal.aborted) return Promise.reject(new LinkClosedError());
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#connection) return Promise.resolve(this.#connection);
    return waitInLine(this.#openWaiters, signal);
  }

  #rejectOpenWaiters(error: Error): void {
    for (const waiter of this.#openWaiters.splice(0)) waiter.reject(error);
  }
}

/** The call's metadata: a fresh object per call, since grpc-js may add to the one it is given. */
function callMetadata(entries: Record<string, string> | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(entries ?? {})) metadata.set(key, value);
  return metadata;
}
