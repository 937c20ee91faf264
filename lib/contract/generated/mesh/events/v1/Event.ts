// Original file: proto/mesh/events/v1/events.proto

import type { Profile as _mesh_events_v1_Profile, Profile__Output as _mesh_events_v1_Profile__Output } from '../../../mesh/events/v1/Profile';
import type { Product as _mesh_events_v1_Product, Product__Output as _mesh_events_v1_Product__Output } from '../../../mesh/events/v1/Product';
import type { DeadLetter as _mesh_events_v1_DeadLetter, DeadLetter__Output as _mesh_events_v1_DeadLetter__Output } from '../../../mesh/events/v1/DeadLetter';
import type { Long } from '@grpc/proto-loader';

export interface Event {
  /**
   * Globally unique and chosen by the producer: the sink's primary key, so a
   * replayed or re-submitted event is written once. It, user_id and item_id
   * are 1..512 bytes of UTF-8 with no control characters (U+0000-U+001F).
   */
  'id'?: (string);
  /**
   * Its profile's key in Redis: <REDIS_KEY_PREFIX>profile:<user_id>.
   */
  'userId'?: (string);
  /**
   * Its product's id in Postgres (table products).
   */
  'itemId'?: (string);
  /**
   * view, click, cart or purchase.
   */
  'kind'?: (string);
  /**
   * When it happened, in milliseconds since the Unix epoch (producer's clock):
   * an integer 1..2^53-1.
   */
  'eventTimeMs'?: (number | string | Long);
  /**
   * Price in minor units (cents), so money is never a float: 0..2^53-1.
   */
  'priceCents'?: (number | string | Long);
  /**
   * When the gateway accepted it, in milliseconds since the Unix epoch.
   */
  'acceptedAtMs'?: (number | string | Long);
  /**
   * Where it sits in the durable intake, so the source can delete it once it
   * is acknowledged end to end.
   */
  'intakeId'?: (string);
  /**
   * Added by enrichment.
   */
  'profile'?: (_mesh_events_v1_Profile | null);
  /**
   * Added by join.
   */
  'product'?: (_mesh_events_v1_Product | null);
  /**
   * Set by the stage that could not process it: later stages pass it on
   * untouched and the sink writes it to dead_letters instead of events.
   */
  'deadLetter'?: (_mesh_events_v1_DeadLetter | null);
  /**
   * Set by the gateway: the priority class it admitted the event in, and the
   * name of the API key that sent it ("anonymous" when the gateway has no
   * keys); each 1..64 of A-Z a-z 0-9 . _ -, or empty from an edge that does
   * not set them. Every stage passes them on unchanged; the sink reports its
   * accept-to-commit time by them. Nothing else depends on them.
   */
  'priorityClass'?: (string);
  'producerKey'?: (string);
}

export interface Event__Output {
  /**
   * Globally unique and chosen by the producer: the sink's primary key, so a
   * replayed or re-submitted event is written once. It, user_id and item_id
   * are 1..512 bytes of UTF-8 with no control characters (U+0000-U+001F).
   */
  'id': (string);
  /**
   * Its profile's key in Redis: <REDIS_KEY_PREFIX>profile:<user_id>.
   */
  'userId': (string);
  /**
   * Its product's id in Postgres (table products).
   */
  'itemId': (string);
  /**
   * view, click, cart or purchase.
   */
  'kind': (string);
  /**
   * When it happened, in milliseconds since the Unix epoch (producer's clock):
   * an integer 1..2^53-1.
   */
  'eventTimeMs': (number);
  /**
   * Price in minor units (cents), so money is never a float: 0..2^53-1.
   */
  'priceCents': (number);
  /**
   * When the gateway accepted it, in milliseconds since the Unix epoch.
   */
  'acceptedAtMs': (number);
  /**
   * Where it sits in the durable intake, so the source can delete it once it
   * is acknowledged end to end.
   */
  'intakeId': (string);
  /**
   * Added by enrichment.
   */
  'profile': (_mesh_events_v1_Profile__Output | null);
  /**
   * Added by join.
   */
  'product': (_mesh_events_v1_Product__Output | null);
  /**
   * Set by the stage that could not process it: later stages pass it on
   * untouched and the sink writes it to dead_letters instead of events.
   */
  'deadLetter': (_mesh_events_v1_DeadLetter__Output | null);
  /**
   * Set by the gateway: the priority class it admitted the event in, and the
   * name of the API key that sent it ("anonymous" when the gateway has no
   * keys); each 1..64 of A-Z a-z 0-9 . _ -, or empty from an edge that does
   * not set them. Every stage passes them on unchanged; the sink reports its
   * accept-to-commit time by them. Nothing else depends on them.
   */
  'priorityClass': (string);
  'producerKey': (string);
}
