// Original file: proto/mesh/flow/v1/flow.proto


/**
 * The receiver's answer to Open: who it is and the limits of rule 9, sent
 * before its first Credit.
 */
export interface Opened {
  'receiver'?: (string);
  'protocolVersion'?: (number);
  /**
   * A Batch may carry at most this many events ...
   */
  'maxBatchEvents'?: (number);
  /**
   * ... and its encoded Upstream frame at most this many bytes.
   */
  'maxBatchBytes'?: (number);
}

/**
 * The receiver's answer to Open: who it is and the limits of rule 9, sent
 * before its first Credit.
 */
export interface Opened__Output {
  'receiver': (string);
  'protocolVersion': (number);
  /**
   * A Batch may carry at most this many events ...
   */
  'maxBatchEvents': (number);
  /**
   * ... and its encoded Upstream frame at most this many bytes.
   */
  'maxBatchBytes': (number);
}
