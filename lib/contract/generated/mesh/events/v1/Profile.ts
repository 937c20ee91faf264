// Original file: proto/mesh/events/v1/events.proto


export interface Profile {
  /**
   * False when enrichment degraded (its store was unavailable) or the user is unknown.
   */
  'found'?: (boolean);
  'segment'?: (string);
  'country'?: (string);
  /**
   * True when enrichment passed the event on without looking (breaker open, degrade mode).
   */
  'degraded'?: (boolean);
}

export interface Profile__Output {
  /**
   * False when enrichment degraded (its store was unavailable) or the user is unknown.
   */
  'found': (boolean);
  'segment': (string);
  'country': (string);
  /**
   * True when enrichment passed the event on without looking (breaker open, degrade mode).
   */
  'degraded': (boolean);
}
