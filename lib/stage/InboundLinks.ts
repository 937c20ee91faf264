import type { Delivery, LinkReceiver } from '../flow/LinkReceiver.js';
import { drainFigures, type InboundLinkFigures } from '../telemetry/HopPressure.js';
import type { Inbound } from './Inbound.js';

/** Link names are chosen by upstream senders: the counts by name are bounded all the same. */
const maxLinkNames = 64;

/**
 * Every link into a stage, read as one: deliveries are taken round-robin from
 * whichever links have events, so one busy upstream cannot starve another.
 */
export class InboundLinks implements Inbound {
  readonly #links = new Set<LinkReceiver>();
  #taken = 0;
  readonly #takenByLink = new Map<string, number>();
  #cursor = 0;
  #wake: (() => void) | undefined;

  add(link: LinkReceiver): void {
    this.#links.add(link);
    const wake = () => this.#wakeTaker();
    link.on('readable', wake);
    void link.closed.then(() => {
      link.off('readable', wake);
      this.#links.delete(link);
    });
    this.#wakeTaker();
  }

  get links(): LinkReceiver[] { return [...this.#links]; }

  /** Events taken from every link since start. */
  get taken(): number { return this.#taken; }

  /** Events taken since start, by link name (at most `maxLinkNames` names; the rest count under "other"). */
  get takenByLink(): ReadonlyMap<string, number> { return this.#takenByLink; }

  /** Events received and not yet taken, over every link. */
  get queueDepth(): number {
    let depth = 0;
    for (const link of this.#links) depth += link.window.buffered;
    return depth;
  }

  /** The next delivery of at most `maxEvents` events from any link; undefined once `signal` aborts. */
  async next(maxEvents: number, signal: AbortSignal, heldBackMs = 0): Promise<Delivery | undefined> {
    for (;;) {
      if (signal.aborted) return undefined;
      const delivery = this.#takeRoundRobin(maxEvents, heldBackMs);
      if (delivery) return delivery;
      await new Promise<void>((resolve) => {
        const wake = () => { signal.removeEventListener('abort', wake); this.#wake = undefined; resolve(); };
        this.#wake = wake;
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }

  figures(): InboundLinkFigures[] {
    return this.links.map((link) => ({
      link: link.name, direction: 'in', sender: link.sender, queue_depth: link.window.buffered, capacity: link.window.capacity,
      window: link.window.limit, round_trip_ms: link.roundTrip.estimateMs ?? null, ...drainFigures(link.drain, link.window.buffered),
    }));
  }

  /** Ends every link with UNAVAILABLE (its upstream re-delivers what was unacknowledged). */
  resetAll(details: string): void {
    for (const link of this.#links) link.reset(details);
  }

  #takeRoundRobin(maxEvents: number, heldBackMs: number): Delivery | undefined {
    const links = [...this.#links];
    for (let i = 0; i < links.length; i += 1) {
      const link = links[(this.#cursor + i) % links.length]!;
      const delivery = link.takeNow(maxEvents, heldBackMs);
      if (delivery) {
        this.#taken += delivery.events.length;
        const name = this.#takenByLink.has(link.name) || this.#takenByLink.size < maxLinkNames ? link.name : 'other';
        this.#takenByLink.set(name, (this.#takenByLink.get(name) ?? 0) + delivery.events.length);
        this.#cursor = (this.#cursor + i + 1) % links.length;
        return delivery;
      }
    }
    return undefined;
  }

  #wakeTaker(): void {
    this.#wake?.();
  }
}
