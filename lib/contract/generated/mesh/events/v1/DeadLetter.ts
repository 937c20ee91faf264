// Original file: proto/mesh/events/v1/events.proto


export interface DeadLetter {
  /**
   * The name of the stage that gave up on the event.
   */
  'stage'?: (string);
  /**
   * Why, in words (the sink may store it cut short).
   */
  'reason'?: (string);
}

export interface DeadLetter__Output {
  /**
   * The name of the stage that gave up on the event.
   */
  'stage': (string);
  /**
   * Why, in words (the sink may store it cut short).
   */
  'reason': (string);
}
