// Original file: proto/mesh/events/v1/events.proto

import type { Long } from '@grpc/proto-loader';

export interface Product {
  /**
   * False when no product has the event's item_id.
   */
  'found'?: (boolean);
  'name'?: (string);
  'category'?: (string);
  'listPriceCents'?: (number | string | Long);
}

export interface Product__Output {
  /**
   * False when no product has the event's item_id.
   */
  'found': (boolean);
  'name': (string);
  'category': (string);
  'listPriceCents': (number);
}
