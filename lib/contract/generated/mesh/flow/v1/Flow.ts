// Original file: proto/mesh/flow/v1/flow.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Downstream as _mesh_flow_v1_Downstream, Downstream__Output as _mesh_flow_v1_Downstream__Output } from '../../../mesh/flow/v1/Downstream';
import type { Upstream as _mesh_flow_v1_Upstream, Upstream__Output as _mesh_flow_v1_Upstream__Output } from '../../../mesh/flow/v1/Upstream';

export interface FlowClient extends grpc.Client {
  /**
   * One link. Errors end the call with a gRPC status:
   * INVALID_ARGUMENT    a malformed frame or value (rule 1: a grant of 0 or
   * outstanding credit above 2^31-1; an offset that does
   * not continue the link)
   * RESOURCE_EXHAUSTED  more events than granted (rule 2), or a batch over the
   * receiver's event or byte limit (rule 9), or no room
   * for another link
   * FAILED_PRECONDITION a first frame that is not Open, a second Open, or an
   * incompatible protocol version (rule 7)
   */
  Exchange(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_mesh_flow_v1_Upstream, _mesh_flow_v1_Downstream__Output>;
  Exchange(options?: grpc.CallOptions): grpc.ClientDuplexStream<_mesh_flow_v1_Upstream, _mesh_flow_v1_Downstream__Output>;
  /**
   * One link. Errors end the call with a gRPC status:
   * INVALID_ARGUMENT    a malformed frame or value (rule 1: a grant of 0 or
   * outstanding credit above 2^31-1; an offset that does
   * not continue the link)
   * RESOURCE_EXHAUSTED  more events than granted (rule 2), or a batch over the
   * receiver's event or byte limit (rule 9), or no room
   * for another link
   * FAILED_PRECONDITION a first frame that is not Open, a second Open, or an
   * incompatible protocol version (rule 7)
   */
  exchange(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_mesh_flow_v1_Upstream, _mesh_flow_v1_Downstream__Output>;
  exchange(options?: grpc.CallOptions): grpc.ClientDuplexStream<_mesh_flow_v1_Upstream, _mesh_flow_v1_Downstream__Output>;
  
}

export interface FlowHandlers extends grpc.UntypedServiceImplementation {
  /**
   * One link. Errors end the call with a gRPC status:
   * INVALID_ARGUMENT    a malformed frame or value (rule 1: a grant of 0 or
   * outstanding credit above 2^31-1; an offset that does
   * not continue the link)
   * RESOURCE_EXHAUSTED  more events than granted (rule 2), or a batch over the
   * receiver's event or byte limit (rule 9), or no room
   * for another link
   * FAILED_PRECONDITION a first frame that is not Open, a second Open, or an
   * incompatible protocol version (rule 7)
   */
  Exchange: grpc.handleBidiStreamingCall<_mesh_flow_v1_Upstream__Output, _mesh_flow_v1_Downstream>;
  
}

export interface FlowDefinition extends grpc.ServiceDefinition {
  Exchange: MethodDefinition<_mesh_flow_v1_Upstream, _mesh_flow_v1_Downstream, _mesh_flow_v1_Upstream__Output, _mesh_flow_v1_Downstream__Output>
}
