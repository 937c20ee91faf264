// Original file: proto/mesh/flow/v1/flow.proto


/**
 * The receiver's answer to Open: who it is and the limits of rule 9, sent
 * once, before its first Credit.
 */
export interface Opened {
  /**
   * The receiver's name, kept short.
   */
  'receiver'?: (string);
  /**
   * 1; a sender closes a link whose receiver says otherwise.
   */
  'protocolVersion'?: (number);
  /**
   * A Batch may carry at most this many events (at least 1) ...
   */
  'maxBatchEvents'?: (number);
  /**
   * ... and its encoded Upstream frame at most this many bytes (at least 1).
   */
  'maxBatchBytes'?: (number);
}

/**
 * The receiver's answer to Open: who it is and the limits of rule 9, sent
 * once, before its first Credit.
 */
export interface Opened__Output {
  /**
   * The receiver's name, kept short.
   */
  'receiver': (string);
  /**
   * 1; a sender closes a link whose receiver says otherwise.
   */
  'protocolVersion': (number);
  /**
   * A Batch may carry at most this many events (at least 1) ...
   */
  'maxBatchEvents': (number);
  /**
   * ... and its encoded Upstream frame at most this many bytes (at least 1).
   */
  'maxBatchBytes': (number);
}
