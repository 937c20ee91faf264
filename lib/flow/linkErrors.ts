/** The link a send was using ended before the send finished; its unacknowledged events come back from the intake (rule 8). */
export class LinkResetError extends Error {
  constructor(readonly generation: number, readonly unacknowledged: number, readonly details: string) {
    super(`link reset (generation ${generation}, ${unacknowledged} events unacknowledged): ${details}`);
    this.name = 'LinkResetError';
  }
}

/** The sender was closed; nothing more will be sent. */
export class LinkClosedError extends Error {
  constructor() {
    super('link sender is closed');
    this.name = 'LinkClosedError';
  }
}

/** One event is larger than the receiver accepts in a whole frame (rule 9); no split can send it. */
export class EventTooLargeError extends Error {
  /**
   * `index`: where it stands in the events given to that send; those before it were sent,
   * and `acknowledged` settles once they are acknowledged.
   */
  constructor(readonly index: number, readonly eventId: string, readonly frameBytes: number, readonly maxBatchBytes: number, readonly acknowledged: Promise<void>) {
    super(`event ${eventId} needs a ${frameBytes}-byte frame; the receiver accepts at most ${maxBatchBytes}`);
    this.name = 'EventTooLargeError';
  }
}
