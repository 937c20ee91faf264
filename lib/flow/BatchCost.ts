/**
 * How a consumer's time per batch depends on the batch's size: time ≈ fixed + per event × events,
 * fitted by least squares over recent batches (older ones forgotten exponentially). Whether a
 * smaller batch would be quicker decides if a window may shrink below what the consumer takes at
 * once: for a hop whose cost is per event it may, for one whose cost is per batch (a commit's
 * round trip, a slow dependency's) a smaller batch only costs throughput.
 */
export class BatchCost {
  #weight = 0;
  #events = 0;
  #ms = 0;
  #eventsSquared = 0;
  #eventsByMs = 0;
  #toldQuicker = false;

  constructor(private readonly forgetting = 0.95) {}

  /** A batch of `events` took `ms` of the consumer's own work. */
  record(events: number, ms: number): void {
    if (!(events > 0) || !(ms >= 0)) return;
    const keep = this.forgetting;
    this.#weight = this.#weight * keep + 1;
    this.#events = this.#events * keep + events;
    this.#ms = this.#ms * keep + ms;
    this.#eventsSquared = this.#eventsSquared * keep + events * events;
    this.#eventsByMs = this.#eventsByMs * keep + events * ms;
  }

  /** The recent mean time of a batch, or undefined before any. */
  get meanMs(): number | undefined {
    return this.#weight > 0 ? this.#ms / this.#weight : undefined;
  }

  /**
   * Whether most of a batch's time grows with its size, so a smaller batch would be quicker;
   * undefined while sizeShare cannot tell, except that once it told so it stands while the batches
   * are too alike to tell: a window sized by it makes them alike, and would otherwise flap. (That a
   * batch's cost is per batch is not kept: trying smaller batches is how a change would show.)
   */
  get smallerIsQuicker(): boolean | undefined {
    const sizeShare = this.sizeShare;
    if (sizeShare === undefined) return this.#toldQuicker || undefined;
    this.#toldQuicker = sizeShare >= 0.5;
    return this.#toldQuicker;
  }

  /**
   * The share of a mean batch's time that grows with its size, 0..1; undefined until a few batches
   * were seen, or while their sizes have been too alike (within a tenth) to tell.
   */
  get sizeShare(): number | undefined {
    if (this.#weight < 5) return undefined;
    const meanEvents = this.#events / this.#weight;
    const meanMs = this.#ms / this.#weight;
    const variance = this.#eventsSquared / this.#weight - meanEvents * meanEvents;
    if (variance <= (0.1 * meanEvents) ** 2 || meanMs <= 0) return undefined;
    const perEvent = (this.#eventsByMs / this.#weight - meanEvents * meanMs) / variance;
    return Math.min(1, Math.max(0, (perEvent * meanEvents) / meanMs));
  }
}
