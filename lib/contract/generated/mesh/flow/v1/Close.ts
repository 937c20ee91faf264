// Original file: proto/mesh/flow/v1/flow.proto


/**
 * Rule 8: the sender has no more to send (a half-close means the same). The
 * receiver delivers and acknowledges what it holds, then ends the call with
 * OK; a Batch or Open after it is refused with FAILED_PRECONDITION.
 */
export interface Close {
  /**
   * Free text; a receiver logs at most its first 1024 bytes.
   */
  'reason'?: (string);
  /**
   * The gRPC status code of the breach when the sender closes because the
   * receiver broke the contract (e.g. INVALID_ARGUMENT = 3), 0 otherwise.
   */
  'code'?: (number);
}

/**
 * Rule 8: the sender has no more to send (a half-close means the same). The
 * receiver delivers and acknowledges what it holds, then ends the call with
 * OK; a Batch or Open after it is refused with FAILED_PRECONDITION.
 */
export interface Close__Output {
  /**
   * Free text; a receiver logs at most its first 1024 bytes.
   */
  'reason': (string);
  /**
   * The gRPC status code of the breach when the sender closes because the
   * receiver broke the contract (e.g. INVALID_ARGUMENT = 3), 0 otherwise.
   */
  'code': (number);
}
