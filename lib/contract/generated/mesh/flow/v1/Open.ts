// Original file: proto/mesh/flow/v1/flow.proto


/**
 * Rule 7: the first frame of every link.
 */
export interface Open {
  /**
   * The link's name, e.g. "source->enrichment".
   */
  'link'?: (string);
  /**
   * Who is sending: a service name and instance.
   */
  'sender'?: (string);
  /**
   * The protocol version the sender speaks; this file describes version 1.
   */
  'protocolVersion'?: (number);
}

/**
 * Rule 7: the first frame of every link.
 */
export interface Open__Output {
  /**
   * The link's name, e.g. "source->enrichment".
   */
  'link': (string);
  /**
   * Who is sending: a service name and instance.
   */
  'sender': (string);
  /**
   * The protocol version the sender speaks; this file describes version 1.
   */
  'protocolVersion': (number);
}
