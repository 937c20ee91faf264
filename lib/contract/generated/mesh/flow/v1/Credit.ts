// Original file: proto/mesh/flow/v1/flow.proto


/**
 * Rules 1 and 3: demand, in events, added to whatever is outstanding. A grant
 * is 1..2^31-1 and outstanding credit never exceeds 2^31-1. The first grant is
 * the receiver's buffer capacity; later ones give back freed space in chunks.
 */
export interface Credit {
  'events'?: (number);
  /**
   * The receiver's window as this grant leaves it: the most it lets the link
   * hold now (credit outstanding plus events buffered), its capacity or less
   * when it sizes its window by time; 0 when it does not say. Informational:
   * a sender sends within its credit only, and a smaller window is never
   * credit taken back (rule 1).
   */
  'window'?: (number);
}

/**
 * Rules 1 and 3: demand, in events, added to whatever is outstanding. A grant
 * is 1..2^31-1 and outstanding credit never exceeds 2^31-1. The first grant is
 * the receiver's buffer capacity; later ones give back freed space in chunks.
 */
export interface Credit__Output {
  'events': (number);
  /**
   * The receiver's window as this grant leaves it: the most it lets the link
   * hold now (credit outstanding plus events buffered), its capacity or less
   * when it sizes its window by time; 0 when it does not say. Informational:
   * a sender sends within its credit only, and a smaller window is never
   * credit taken back (rule 1).
   */
  'window': (number);
}
