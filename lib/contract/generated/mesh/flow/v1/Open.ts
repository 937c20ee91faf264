// Original file: proto/mesh/flow/v1/flow.proto


/**
 * Rule 7: the first frame of every link, sent at once after dialling. A call
 * that has not sent it holds no link slot, and may be ended while it waits.
 */
export interface Open {
  /**
   * The link's name, e.g. "source->enrichment": required, 1..256 bytes of UTF-8.
   */
  'link'?: (string);
  /**
   * Who is sending, a service name and instance: 0..256 bytes of UTF-8.
   */
  'sender'?: (string);
  /**
   * The protocol version the sender speaks; this file describes version 1.
   */
  'protocolVersion'?: (number);
  /**
   * The most events the sender must have granted at once to make progress
   * (its largest indivisible unit, e.g. one request at an edge that admits a
   * request whole or not at all); 0 for a sender that cuts its batches to the
   * credit it has. A receiver that sizes its window by time never holds it
   * below this, up to its capacity.
   */
  'minWindow'?: (number);
}

/**
 * Rule 7: the first frame of every link, sent at once after dialling. A call
 * that has not sent it holds no link slot, and may be ended while it waits.
 */
export interface Open__Output {
  /**
   * The link's name, e.g. "source->enrichment": required, 1..256 bytes of UTF-8.
   */
  'link': (string);
  /**
   * Who is sending, a service name and instance: 0..256 bytes of UTF-8.
   */
  'sender': (string);
  /**
   * The protocol version the sender speaks; this file describes version 1.
   */
  'protocolVersion': (number);
  /**
   * The most events the sender must have granted at once to make progress
   * (its largest indivisible unit, e.g. one request at an edge that admits a
   * request whole or not at all); 0 for a sender that cuts its batches to the
   * credit it has. A receiver that sizes its window by time never holds it
   * below this, up to its capacity.
   */
  'minWindow': (number);
}
