import { EventEmitter } from 'node:events';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Event } from '../contract/loadContract.js';
import { createLogger } from '../log.js';
import type { Downstream } from '../stage/Downstream.js';
import { LinkResetError } from './linkErrors.js';
import { LinkSender, type LinkSenderOptions, type SendResult, type SenderStats } from './LinkSender.js';

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

const systemResolver = async (host: string) => (await lookup(host, { all: true })).map((entry) => entry.address);

/** A run of a batch sent on one replica's link: acknowledged there, it counts towards the router's own offsets. */
interface Piece { sender: LinkSender; generation: number; end: number; routerEnd: number; acknowledged: boolean }

/**
 * One logical link over a link to every replica of the next stage. Each batch
 * goes where there is credit for it (or in turn), and the router acknowledges
 * in its own offsets, cumulatively, once every replica acknowledged its part;
 * so to the stage it is one Downstream. When a replica's link resets with
 * events unacknowledged, or a replica leaves, the router resets as a whole
 * (rule 8: upstream re-delivers, and the other replicas take it).
 */
export class LinkRouter extends EventEmitter implements Downstream {
  readonly #senders = new Map<string, LinkSender>();
  readonly #pieces: Piece[] = [];
  readonly #timer: NodeJS.Timeout;
  #generation = 1;
  #sent = 0;
  #acknowledged = 0;
  #turn = 0;
  #closed = false;
  #wake: (() => void) | undefined;

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

  stats(): SenderStats {
    const all = [...this.#senders.values()].map((sender) => sender.stats());
    const sum = (pick: (stats: SenderStats) => number) => all.reduce((total, stats) => total + pick(stats), 0);
    return {
      generation: this.#generation, connected: this.connected,
      capacity: sum((stats) => stats.capacity), availableCredit: sum((stats) => stats.availableCredit),
      sent: this.#sent, acknowledged: this.#acknowledged, totalSent: sum((stats) => stats.totalSent),
      creditWaitMs: sum((stats) => stats.creditWaitMs), drainWaitMs: sum((stats) => stats.drainWaitMs),
    };
  }

  async waitForCredit(): Promise<number> {
    for (;;) {
      const available = this.stats().availableCredit;
      if (available > 0) return available;
      if (this.#closed) throw new LinkResetError(this.#generation, 0, 'router closed');
      await new Promise<void>((resolve) => { this.#wake = resolve; });
    }
  }

  async send(events: readonly Event[], traceContext: Record<string, string> = {}): Promise<SendResult> {
    const generation = this.#generation;
    const offset = this.#sent;
    const result: SendResult = { generation, offset, count: events.length, frames: 0, creditWaitMs: 0, drainWaitMs: 0 };
    for (let next = 0; next < events.length;) {
      const sender = await this.#choose();
      const count = this.options.routing === 'credit' ? Math.min(events.length - next, sender.stats().availableCredit) : events.length - next;
      const sent = await sender.send(events.slice(next, next + count), traceContext);
      if (generation !== this.#generation) throw new LinkResetError(generation, 0, 'another replica\'s link reset meanwhile');
      next += count;
      this.#pieces.push({ sender, generation: sent.generation, end: sent.offset + sent.count, routerEnd: offset + next, acknowledged: false });
      result.frames += sent.frames;
      result.creditWaitMs += sent.creditWaitMs;
      result.drainWaitMs += sent.drainWaitMs;
    }
    this.#sent += events.length;
    return result;
  }

  async close(reason?: string): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#wakeWaiter();
    await Promise.all([...this.#senders.values()].map((sender) => sender.close(reason)));
  }

  /** The replica this batch goes to: the most credit (waiting until some replica has any), or the next connected one in turn. */
  async #choose(): Promise<LinkSender> {
    for (;;) {
      const connected = [...this.#senders.values()].filter((sender) => sender.connected);
      if (this.options.routing === 'round-robin' && connected.length > 0) return connected[this.#turn++ % connected.length]!;
      const best = connected.reduce<LinkSender | undefined>((most, sender) => (most && most.stats().availableCredit >= sender.stats().availableCredit ? most : sender), undefined);
      if (best && best.stats().availableCredit > 0) return best;
      if (this.#closed) throw new LinkResetError(this.#generation, 0, 'router closed');
      await new Promise<void>((resolve) => { this.#wake = resolve; });
    }
  }

  #add(address: string, serverName: string): void {
    const sender = new LinkSender({
      ...this.options, target: address,
      channelOptions: { ...this.options.channelOptions, ...(isIP(serverName) ? {} : { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName }) },
    });
    sender.on('credit', () => { this.#wakeWaiter(); this.emit('credit', { generation: this.#generation, available: this.stats().availableCredit }); });
    sender.on('connected', () => this.#wakeWaiter());
    sender.on('ack', ({ generation, offset }: { generation: number; offset: number }) => this.#acknowledge(sender, generation, offset));
    sender.on('reset', ({ generation }: { generation: number }) => {
      if (this.#pieces.some((piece) => piece.sender === sender && piece.generation === generation && !piece.acknowledged)) this.#reset(`the link to ${address} reset`);
    });
    this.#senders.set(address, sender);
    log.info('replica joined', { link: this.link, address });
  }

  #remove(address: string): void {
    const sender = this.#senders.get(address)!;
    this.#senders.delete(address);
    if (this.#pieces.some((piece) => piece.sender === sender && !piece.acknowledged)) this.#reset(`replica ${address} left`);
    sender.cancel();
    log.info('replica left', { link: this.link, address });
  }

  #acknowledge(sender: LinkSender, generation: number, offset: number): void {
    for (const piece of this.#pieces) if (piece.sender === sender && piece.generation === generation && piece.end <= offset) piece.acknowledged = true;
    let advanced = false;
    while (this.#pieces[0]?.acknowledged) {
      this.#acknowledged = this.#pieces.shift()!.routerEnd;
      advanced = true;
    }
    if (advanced) this.emit('ack', { generation: this.#generation, offset: this.#acknowledged });
  }

  #reset(details: string): void {
    const unacknowledged = this.#sent - this.#acknowledged;
    log.warn('resetting: upstream re-delivers what a replica held', { link: this.link, details, unacknowledged });
    this.emit('reset', { generation: this.#generation, unacknowledged, details });
    this.#generation += 1;
    this.#sent = 0;
    this.#acknowledged = 0;
    this.#pieces.length = 0;
  }

  #wakeWaiter(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** host:port entries and what their names resolve to now; a name that does not resolve keeps its replicas until it does. */
  async #resolve(): Promise<void> {
    if (this.#closed) return;
    const wanted = new Map<string, string>();
    for (const target of this.options.targets.split(',').map((entry) => entry.trim()).filter(Boolean)) {
      const [, host, port] = /^\[?(.*?)\]?:(\d+)$/.exec(target) ?? [];
      if (!host || !port) continue;
      if (isIP(host)) { wanted.set(`${host.includes(':') ? `[${host}]` : host}:${port}`, host); continue; }
      try {
        for (const address of await (this.options.resolveName ?? systemResolver)(host)) wanted.set(`${isIP(address) === 6 ? `[${address}]` : address}:${port}`, host);
      } catch (error) {
        log.warn('could not resolve a replica name; keeping the replicas it had', { host, error: String(error) });
        for (const [address, sender] of this.#senders) if (sender && address.endsWith(`:${port}`)) wanted.set(address, host);
      }
    }
    if (this.#closed) return;
    for (const address of [...this.#senders.keys()]) if (!wanted.has(address)) this.#remove(address);
    for (const [address, serverName] of wanted) if (!this.#senders.has(address)) this.#add(address, serverName);
  }
}
