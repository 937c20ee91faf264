/**
 * Batches processed at once, handed out in the order they were taken, each
 * once its `result` has settled: a hop passes its batches on in order however
 * its processing interleaves. It holds at most what the hop processes at once.
 */
export class InOrder<T extends { result: Promise<unknown> }> {
  readonly #items: T[] = [];
  #closed = false;
  #wake: (() => void) | undefined;

  get size(): number { return this.#items.length; }

  push(item: T): void {
    // Observed here, so a rejection awaiting its turn is not an unhandled one.
    item.result.catch(() => undefined);
    this.#items.push(item);
    this.#wakeReader();
  }

  /** No more items will come: `next` returns undefined once those held are out. */
  close(): void {
    this.#closed = true;
    this.#wakeReader();
  }

  /** The oldest item, once its result has settled; undefined once closed and empty. */
  async next(): Promise<T | undefined> {
    while (this.#items.length === 0) {
      if (this.#closed) return undefined;
      await new Promise<void>((resolve) => { this.#wake = resolve; });
    }
    await Promise.allSettled([this.#items[0]!.result]);
    return this.#items.shift();
  }

  #wakeReader(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
