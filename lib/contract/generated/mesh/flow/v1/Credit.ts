// Original file: proto/mesh/flow/v1/flow.proto


/**
 * Rules 1 and 3: demand, in events, added to whatever is outstanding. A grant
 * is 1..2^31-1 and outstanding credit never exceeds 2^31-1. The first grant is
 * the receiver's buffer capacity; later ones give back freed space in chunks.
 */
export interface Credit {
  'events'?: (number);
}

/**
 * Rules 1 and 3: demand, in events, added to whatever is outstanding. A grant
 * is 1..2^31-1 and outstanding credit never exceeds 2^31-1. The first grant is
 * the receiver's buffer capacity; later ones give back freed space in chunks.
 */
export interface Credit__Output {
  'events': (number);
}
