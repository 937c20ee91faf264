// Original file: proto/mesh/flow/v1/flow.proto

import type { Long } from '@grpc/proto-loader';

/**
 * Rule 5: every event with a link offset below `offset` is done downstream
 * (for the sink: committed). Cumulative, so it never goes back, and never
 * above what was received.
 */
export interface Ack {
  'offset'?: (number | string | Long);
}

/**
 * Rule 5: every event with a link offset below `offset` is done downstream
 * (for the sink: committed). Cumulative, so it never goes back, and never
 * above what was received.
 */
export interface Ack__Output {
  'offset': (number);
}
