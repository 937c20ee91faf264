import type { Delivery, LinkReceiver } from '../flow/LinkReceiver.js';

/**
 * Every link into a stage, read as one: deliveries are taken round-robin from
 * whichever links have events, so one busy upstream cannot starve another.
 */
export class InboundLinks {
  readonly #links = new Set<LinkReceiver>();
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

  /** The next delivery of at most `maxEvents` events from any link; undefined once `signal` aborts. */
  async next(maxEvents: number, signal: AbortSignal): Promise<Delivery | undefined> {
    for (;;) {
      if (signal.aborted) return undefined;
      const delivery = this.#takeRoundRobin(maxEvents);
      if (delivery) return delivery;
      await new Promise<void>((resolve) => {
        const wake = () => { signal.removeEventListener('abort', wake); this.#wake = undefined; resolve(); };
        this.#wake = wake;
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  }

  /** Ends every link with UNAVAILABLE (its upstream re-delivers what was unacknowledged). */
  resetAll(details: string): void {
    for (const link of this.#links) link.reset(details);
  }

  #takeRoundRobin(maxEvents: number): Delivery | undefined {
    const links = [...this.#links];
    for (let i = 0; i < links.length; i += 1) {
      const link = links[(this.#cursor + i) % links.length]!;
      const delivery = link.takeNow(maxEvents);
      if (delivery) {
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
