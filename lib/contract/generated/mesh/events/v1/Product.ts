// Original file: proto/mesh/events/v1/events.proto

import type { Long } from '@grpc/proto-loader';

export interface Product {
  'found'?: (boolean);
  'name'?: (string);
  'category'?: (string);
  'listPriceCents'?: (number | string | Long);
}

export interface Product__Output {
  'found': (boolean);
  'name': (string);
  'category': (string);
  'listPriceCents': (number);
}
