// Original file: proto/mesh/flow/v1/flow.proto

import type { Event as _mesh_events_v1_Event, Event__Output as _mesh_events_v1_Event__Output } from '../../../mesh/events/v1/Event';
import type { Long } from '@grpc/proto-loader';

export interface Batch {
  /**
   * Rule 5: the link offset of this batch's first event. The first batch of a
   * link starts at 0 and each batch continues where the previous one ended.
   */
  'offset'?: (number | string | Long);
  'events'?: (_mesh_events_v1_Event)[];
  /**
   * Rule 6: W3C trace context ("traceparent", and "tracestate" when set).
   */
  'traceContext'?: ({[key: string]: string});
}

export interface Batch__Output {
  /**
   * Rule 5: the link offset of this batch's first event. The first batch of a
   * link starts at 0 and each batch continues where the previous one ended.
   */
  'offset': (number);
  'events': (_mesh_events_v1_Event__Output)[];
  /**
   * Rule 6: W3C trace context ("traceparent", and "tracestate" when set).
   */
  'traceContext': ({[key: string]: string});
}
