/**
 * What a sender has sent on one connection and not yet seen acknowledged:
 * each send's acknowledgement is a promise that settles when the cumulative
 * Ack reaches its end (rule 5), or rejects when the connection ends first.
 */
export class AckLedger {
  #awaiting: Array<{ end: number; resolve: () => void; reject: (error: Error) => void }> = [];
  #acknowledged = 0;
  #endedBy: Error | undefined;

  get acknowledged(): number { return this.#acknowledged; }

  /** The acknowledgement of everything below link offset `end`, in the order sends were made. */
  record(end: number): Promise<void> {
    if (end <= this.#acknowledged) return Promise.resolve();
    if (this.#endedBy) return Promise.reject(this.#endedBy);
    return new Promise((resolve, reject) => { this.#awaiting.push({ end, resolve, reject }); });
  }

  acknowledge(offset: number): void {
    this.#acknowledged = Math.max(this.#acknowledged, offset);
    let settled = 0;
    while (settled < this.#awaiting.length && this.#awaiting[settled]!.end <= this.#acknowledged) this.#awaiting[settled++]!.resolve();
    if (settled > 0) this.#awaiting.splice(0, settled);
  }

  /** The connection ended: every acknowledgement still awaited is rejected with `error`. */
  end(error: Error): void {
    this.#endedBy = error;
    for (const entry of this.#awaiting.splice(0)) entry.reject(error);
  }
}
