import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type { Event } from '../contract/loadContract.js';
import { createLogger } from '../log.js';
import { resolveTargets } from '../service/resolveTargets.js';
import { LinkClosedError } from './linkErrors.js';
import { LinkSender, type LinkSenderOptions } from './LinkSender.js';
import { releaseReservation, type Outbound, type OutboundEvents, type OutboundStats, type Reservation, type SendResult } from './Outbound.js';

const log = createLogger('flow.router');

/** `credit`: each batch to the replica with the most credit available; `round-robin`: to each replica in turn, whatever its credit. */
export type Routing = 'credit' | 'round-robin';

export interface LinkRouterOptions extends Omit<LinkSenderOptions, 'target'> {
  /** host:port, comma-separated; a host name that resolves to several addresses (a headless Service) is a replica per address. */
  targets: string;
  routing: Routing;
  /** How often names are resolved again, so replicas that join or leave are picked up. */
  resolveIntervalMs?: number;
  /** A name's addresses (default: the system resolver, every address). */
  resolveName?: (host: string) => Promise<string[]>;
}

/**
 * One logical link over a link to every replica of the next stage. Each batch
 * goes where there is credit for it (or in turn): a batch sent within a
 * reservation goes whole to the replica that granted it, other batches are cut
 * to the credit of the replicas. A batch is acknowledged once every replica
 * acknowledged its part, and its acknowledgement rejects when a part's link
 * resets or its replica leaves (rule 8: upstream re-delivers, and the other
 * replicas take it).
 */
export class LinkRouter extends EventEmitter<OutboundEvents> implements Outbound {
  readonly #senders = new Map<string, LinkSender>();
  readonly #timer: NodeJS.Timeout;
  #turn = 0;
  #closed = false;
  #waiters: Array<() => void> = [];

  constructor(private readonly options: LinkRouterOptions) {
    super();
    void this.#resolve();
    this.#timer = setInterval(() => void this.#resolve(), options.resolveIntervalMs ?? 5_000);
    this.#timer.unref();
  }

  get link(): string { return this.options.link; }
  get connected(): boolean { return [...this.#senders.values()].some((sender) => sender.connected); }
  /** The replicas' addresses, as last resolved. */
  get replicas(): string[] { return [...this.#senders.keys()]; }

  stats(): OutboundStats {
    const all = [...this.#senders.values()].map((sender) => sender.stats());
    const sum = (pick: (stats: OutboundStats) => number) => all.reduce((total, stats) => total + pick(stats), 0);
    return {
      connected: this.connected,
      capacity: sum((stats) => stats.capacity), receiverWindow: sum((stats) => stats.receiverWindow), availableCredit: sum((stats) => stats.availableCredit), freeCredit: sum((stats) => stats.freeCredit),
      sent: sum((stats) => stats.sent), acknowledged: sum((stats) => stats.acknowledged), totalSent: sum((stats) => stats.totalSent),
      creditWaitMs: sum((stats) => stats.creditWaitMs), drainWaitMs: sum((stats) => stats.drainWaitMs),
    };
  }

  /** Reserves on the replica with the most free credit (waiting until one has any), or on the next one in turn. */
  async reserve(max: number, signal?: AbortSignal): Promise<Reservation> {
    for (;;) {
      signal?.throwIfAborted();
      const sender = this.#choose();
      if (sender) return sender.reserve(max, signal);
      await this.#waitForReplicas(signal);
    }
  }

  tryReserve(count: number): Reservation | undefined {
    const sender = this.#mostFree();
    return sender && sender.stats().freeCredit >= count ? sender.tryReserve(count) : undefined;
  }

  release(reservation: Reservation, count = reservation.events): void {
    releaseReservation(reservation, count);
  }

  async send(events: readonly Event[], traceContext: Record<string, string> = {}, reservation?: Reservation): Promise<SendResult> {
    const holder = reservation && [...this.#senders.values()].find((sender) => sender.holds(reservation));
    if (holder) return holder.send(events, traceContext, reservation);
    const parts: SendResult[] = [];
    for (let next = 0; next < events.length;) {
      let sender = this.#choose();
      while (!sender) {
        await this.#waitForReplicas();
        sender = this.#choose();
      }
      const count = this.options.routing === 'credit' ? Math.min(events.length - next, sender.stats().freeCredit) : events.length - next;
      parts.push(await sender.send(events.slice(next, next + count), traceContext));
      next += count;
    }
    const acknowledged = Promise.all(parts.map((part) => part.acknowledged)).then(() => undefined);
    acknowledged.catch(() => undefined);
    const total = (pick: (part: SendResult) => number) => parts.reduce((sum, part) => sum + pick(part), 0);
    return { offset: parts[0]?.offset ?? 0, count: events.length, frames: total((part) => part.frames), creditWaitMs: total((part) => part.creditWaitMs), drainWaitMs: total((part) => part.drainWaitMs), acknowledged };
  }

  async close(reason?: string): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#wakeWaiter();
    await Promise.all([...this.#senders.values()].map((sender) => sender.close(reason)));
  }

  /** The replica for the next batch: the one with the most free credit (if any has some), or the next connected one in turn. */
  #choose(): LinkSender | undefined {
    if (this.options.routing === 'round-robin') {
      const connected = [...this.#senders.values()].filter((sender) => sender.connected);
      return connected.length > 0 ? connected[this.#turn++ % connected.length] : undefined;
    }
    const best = this.#mostFree();
    return best && best.stats().freeCredit > 0 ? best : undefined;
  }

  #mostFree(): LinkSender | undefined {
    let best: LinkSender | undefined;
    for (const sender of this.#senders.values()) {
      if (sender.connected && (!best || sender.stats().freeCredit > best.stats().freeCredit)) best = sender;
    }
    return best;
  }

  async #waitForReplicas(signal?: AbortSignal): Promise<void> {
    if (this.#closed) throw new LinkClosedError();
    await new Promise<void>((resolve, reject) => {
      const aborted = () => reject(signal!.reason);
      signal?.addEventListener('abort', aborted, { once: true });
      this.#waiters.push(() => { signal?.removeEventListener('abort', aborted); resolve(); });
    });
  }

  #add(address: string, serverName: string): void {
    const sender = new LinkSender({
      ...this.options, target: address,
      channelOptions: { ...this.options.channelOptions, ...(isIP(serverName) ? {} : { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName }) },
    });
    sender.on('credit', () => { this.#wakeWaiter(); this.emit('credit', this.stats().freeCredit); });
    sender.on('connected', () => this.#wakeWaiter());
    this.#senders.set(address, sender);
    log.info('replica joined', { link: this.link, address });
  }

  /** What it held unacknowledged is reported by the acknowledgements its cancel rejects. */
  #remove(address: string): void {
    const sender = this.#senders.get(address)!;
    this.#senders.delete(address);
    sender.cancel();
    log.info('replica left', { link: this.link, address });
  }

  #wakeWaiter(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** host:port entries and what their names resolve to now; a name that does not resolve keeps its replicas until it does. */
  async #resolve(): Promise<void> {
    if (this.#closed) return;
    const { addresses: wanted, failed } = await resolveTargets(this.options.targets, this.options.resolveName);
    for (const { host, port, error } of failed) {
      log.warn('could not resolve a replica name; keeping the replicas it had', { host, error: String(error) });
      for (const [address, sender] of this.#senders) if (sender && address.endsWith(`:${port}`)) wanted.set(address, host);
    }
    if (this.#closed) return;
    for (const address of [...this.#senders.keys()]) if (!wanted.has(address)) this.#remove(address);
    for (const [address, serverName] of wanted) if (!this.#senders.has(address)) this.#add(address, serverName);
  }
}
