// Original file: proto/mesh/flow/v1/flow.proto

import type { Event as _mesh_events_v1_Event, Event__Output as _mesh_events_v1_Event__Output } from '../../../mesh/events/v1/Event';
import type { Long } from '@grpc/proto-loader';

/**
 * Events, within the credit granted (rule 2) and the limits of Opened (rule 9).
 */
export interface Batch {
  /**
   * Rule 5: the link offset of this batch's first event. The first batch of a
   * call starts at 0 and each batch continues where the previous one ended;
   * a new call (a reconnect) starts at 0 again.
   */
  'offset'?: (number | string | Long);
  /**
   * 1..max_batch_events events. What they carry is the stages' business: an
   * event that breaks the event rules becomes a dead letter, not a link error.
   */
  'events'?: (_mesh_events_v1_Event)[];
  /**
   * Rule 6: W3C trace context ("traceparent", and "tracestate" when set) of a
   * sampled batch; empty for an unsampled one. An invalid value is ignored.
   */
  'traceContext'?: ({[key: string]: string});
}

/**
 * Events, within the credit granted (rule 2) and the limits of Opened (rule 9).
 */
export interface Batch__Output {
  /**
   * Rule 5: the link offset of this batch's first event. The first batch of a
   * call starts at 0 and each batch continues where the previous one ended;
   * a new call (a reconnect) starts at 0 again.
   */
  'offset': (number);
  /**
   * 1..max_batch_events events. What they carry is the stages' business: an
   * event that breaks the event rules becomes a dead letter, not a link error.
   */
  'events': (_mesh_events_v1_Event__Output)[];
  /**
   * Rule 6: W3C trace context ("traceparent", and "tracestate" when set) of a
   * sampled batch; empty for an unsampled one. An invalid value is ignored.
   */
  'traceContext': ({[key: string]: string});
}
