import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { DeadLetter as _mesh_events_v1_DeadLetter, DeadLetter__Output as _mesh_events_v1_DeadLetter__Output } from './mesh/events/v1/DeadLetter';
import type { Event as _mesh_events_v1_Event, Event__Output as _mesh_events_v1_Event__Output } from './mesh/events/v1/Event';
import type { Product as _mesh_events_v1_Product, Product__Output as _mesh_events_v1_Product__Output } from './mesh/events/v1/Product';
import type { Profile as _mesh_events_v1_Profile, Profile__Output as _mesh_events_v1_Profile__Output } from './mesh/events/v1/Profile';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  mesh: {
    events: {
      v1: {
        DeadLetter: MessageTypeDefinition<_mesh_events_v1_DeadLetter, _mesh_events_v1_DeadLetter__Output>
        Event: MessageTypeDefinition<_mesh_events_v1_Event, _mesh_events_v1_Event__Output>
        Product: MessageTypeDefinition<_mesh_events_v1_Product, _mesh_events_v1_Product__Output>
        Profile: MessageTypeDefinition<_mesh_events_v1_Profile, _mesh_events_v1_Profile__Output>
      }
    }
  }
}

