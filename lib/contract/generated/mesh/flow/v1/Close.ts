// Original file: proto/mesh/flow/v1/flow.proto


/**
 * The sender has no more to send. The receiver delivers and acknowledges what
 * it holds, then ends the call with OK.
 */
export interface Close {
  'reason'?: (string);
  /**
   * A gRPC status code when the sender closes because the receiver broke the
   * contract (rule 1), 0 otherwise.
   */
  'code'?: (number);
}

/**
 * The sender has no more to send. The receiver delivers and acknowledges what
 * it holds, then ends the call with OK.
 */
export interface Close__Output {
  'reason': (string);
  /**
   * A gRPC status code when the sender closes because the receiver broke the
   * contract (rule 1), 0 otherwise.
   */
  'code': (number);
}
