import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { DeadLetter as _mesh_events_v1_DeadLetter, DeadLetter__Output as _mesh_events_v1_DeadLetter__Output } from './mesh/events/v1/DeadLetter';
import type { Event as _mesh_events_v1_Event, Event__Output as _mesh_events_v1_Event__Output } from './mesh/events/v1/Event';
import type { Product as _mesh_events_v1_Product, Product__Output as _mesh_events_v1_Product__Output } from './mesh/events/v1/Product';
import type { Profile as _mesh_events_v1_Profile, Profile__Output as _mesh_events_v1_Profile__Output } from './mesh/events/v1/Profile';
import type { Ack as _mesh_flow_v1_Ack, Ack__Output as _mesh_flow_v1_Ack__Output } from './mesh/flow/v1/Ack';
import type { Batch as _mesh_flow_v1_Batch, Batch__Output as _mesh_flow_v1_Batch__Output } from './mesh/flow/v1/Batch';
import type { Close as _mesh_flow_v1_Close, Close__Output as _mesh_flow_v1_Close__Output } from './mesh/flow/v1/Close';
import type { Credit as _mesh_flow_v1_Credit, Credit__Output as _mesh_flow_v1_Credit__Output } from './mesh/flow/v1/Credit';
import type { Downstream as _mesh_flow_v1_Downstream, Downstream__Output as _mesh_flow_v1_Downstream__Output } from './mesh/flow/v1/Downstream';
import type { FlowClient as _mesh_flow_v1_FlowClient, FlowDefinition as _mesh_flow_v1_FlowDefinition } from './mesh/flow/v1/Flow';
import type { Open as _mesh_flow_v1_Open, Open__Output as _mesh_flow_v1_Open__Output } from './mesh/flow/v1/Open';
import type { Opened as _mesh_flow_v1_Opened, Opened__Output as _mesh_flow_v1_Opened__Output } from './mesh/flow/v1/Opened';
import type { Upstream as _mesh_flow_v1_Upstream, Upstream__Output as _mesh_flow_v1_Upstream__Output } from './mesh/flow/v1/Upstream';

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
    flow: {
      v1: {
        Ack: MessageTypeDefinition<_mesh_flow_v1_Ack, _mesh_flow_v1_Ack__Output>
        Batch: MessageTypeDefinition<_mesh_flow_v1_Batch, _mesh_flow_v1_Batch__Output>
        Close: MessageTypeDefinition<_mesh_flow_v1_Close, _mesh_flow_v1_Close__Output>
        Credit: MessageTypeDefinition<_mesh_flow_v1_Credit, _mesh_flow_v1_Credit__Output>
        Downstream: MessageTypeDefinition<_mesh_flow_v1_Downstream, _mesh_flow_v1_Downstream__Output>
        Flow: SubtypeConstructor<typeof grpc.Client, _mesh_flow_v1_FlowClient> & { service: _mesh_flow_v1_FlowDefinition }
        Open: MessageTypeDefinition<_mesh_flow_v1_Open, _mesh_flow_v1_Open__Output>
        Opened: MessageTypeDefinition<_mesh_flow_v1_Opened, _mesh_flow_v1_Opened__Output>
        Upstream: MessageTypeDefinition<_mesh_flow_v1_Upstream, _mesh_flow_v1_Upstream__Output>
      }
    }
  }
}

