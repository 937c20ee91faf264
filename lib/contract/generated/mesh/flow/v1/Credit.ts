// Original file: proto/mesh/flow/v1/flow.proto


/**
 * Rules 1 and 3: demand, in events, added to whatever is outstanding.
 */
export interface Credit {
  'events'?: (number);
}

/**
 * Rules 1 and 3: demand, in events, added to whatever is outstanding.
 */
export interface Credit__Output {
  'events': (number);
}
