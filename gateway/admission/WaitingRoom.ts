import type { Environment } from '../../lib/config.js';

/**
 * Where a request of the highest class waits, briefly, for room in the intake instead of being
 * refused: credit comes back in chunks, and a purchase refused just before one arrives would see a
 * view take it just after. While anything waits here the classes below are refused (the room
 * coming back is theirs only once the highest class has none waiting), and the waiting requests
 * are let in, in the order they came, as the room for each comes back. Bounded in events and in
 * time: a request that waits `maxWaitMs` without room is refused as it would have been at once.
 */
interface Waiter { events: number; fits: () => boolean; resolve: (admitted: boolean) => void; timer: NodeJS.Timeout }

export class WaitingRoom {
  readonly #waiting: Waiter[] = [];
  #events = 0;
  #serving = false;

  constructor(readonly maxWaitMs: number, readonly maxEvents: number) {}

  /** Whether a request may wait at all (waiting is on). */
  get open(): boolean { return this.maxWaitMs > 0 && this.maxEvents > 0; }

  /** Events waiting now. */
  get waitingEvents(): number { return this.#events; }

  /**
   * Waits until `fits()` (checked as credit comes back, in turn) and resolves true, to be acted on
   * (its credit taken) in the same turn; false at once when the room is full or waiting is off, or
   * after maxWaitMs.
   */
  wait(events: number, fits: () => boolean): Promise<boolean> {
    if (!this.open || this.#events + events > this.maxEvents) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        events,
        fits,
        resolve,
        timer: setTimeout(() => {
          this.#leave(waiter, false);
          // The next may fit what this one did not.
          this.creditArrived();
        }, this.maxWaitMs),
      };
      this.#waiting.push(waiter);
      this.#events += events;
    });
  }

  /**
   * Credit came back: lets in the first waiter if it fits now, then (once its continuation has
   * taken its credit) the next, until one does not fit.
   */
  creditArrived(): void {
    if (this.#serving) return;
    const first = this.#waiting[0];
    if (!first || !first.fits()) return;
    this.#leave(first, true);
    this.#serving = true;
    setImmediate(() => {
      this.#serving = false;
      this.creditArrived();
    });
  }

  /** Refuses everyone waiting: the gateway is stopping. */
  close(): void {
    for (const waiter of [...this.#waiting]) this.#leave(waiter, false);
  }

  #leave(waiter: Waiter, admitted: boolean): void {
    const index = this.#waiting.indexOf(waiter);
    if (index < 0) return;
    this.#waiting.splice(index, 1);
    this.#events -= waiter.events;
    clearTimeout(waiter.timer);
    waiter.resolve(admitted);
  }
}

/**
 * GATEWAY_PRIORITY_WAIT_MS (default 1000; 0 turns waiting off) and GATEWAY_PRIORITY_WAIT_EVENTS
 * (default 4096): how long, and how many events in all, requests of the highest class may wait
 * for room. With a single class there is no lower one to keep the room from, so nothing waits.
 */
export function readWaitingRoom(env: Environment, classes: number): WaitingRoom {
  const maxWaitMs = env.integer('GATEWAY_PRIORITY_WAIT_MS', 1_000, { min: 0, max: 30_000 });
  const maxEvents = env.integer('GATEWAY_PRIORITY_WAIT_EVENTS', 4_096, { min: 0, max: 1_000_000 });
  return classes > 1 ? new WaitingRoom(maxWaitMs, maxEvents) : new WaitingRoom(0, 0);
}
