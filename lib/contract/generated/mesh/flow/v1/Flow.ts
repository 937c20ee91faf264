// Original file: proto/mesh/flow/v1/flow.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { Downstream as _mesh_flow_v1_Downstream, Downstream__Output as _mesh_flow_v1_Downstream__Output } from '../../../mesh/flow/v1/Downstream';
import type { Upstream as _mesh_flow_v1_Upstream, Upstream__Output as _mesh_flow_v1_Upstream__Output } from '../../../mesh/flow/v1/Upstream';

export interface FlowClient extends grpc.Client {
  /**
   * One link. The receiver ends the call with a gRPC status (CONTRACT.md,
   * section 3, has the whole table):
   * OK                  after Close or a half-close, once everything it held
   * is delivered and acknowledged (rule 8)
   * INVALID_ARGUMENT    a frame that does not decode or carries no frame; an
   * empty link name, or a link or sender name over 256
   * bytes (rule 7); an offset that does not continue the
   * link (rule 5); a Batch of no events (rule 9)
   * RESOURCE_EXHAUSTED  more events than granted (rule 2); a batch over the
   * receiver's event or byte limit (rule 9); an Open
   * beyond MAX_LINKS, or a call evicted while it waited
   * for its Open (rule 7)
   * FAILED_PRECONDITION a first frame that is not Open, a second Open, or an
   * incompatible protocol version (rule 7); a Batch or
   * Open after Close (rule 8)
   * DEADLINE_EXCEEDED   no Open within OPEN_TIMEOUT_MS (rule 7)
   * UNAVAILABLE         the stage resets the link so that upstream
   * re-delivers what it did not acknowledge (rule 8)
   * A sender that finds the receiver breaking the contract writes Close with
   * the code of the breach, half-closes, and reconnects with backoff.
   */
  Exchange(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_mesh_flow_v1_Upstream, _mesh_flow_v1_Downstream__Output>;
  Exchange(options?: grpc.CallOptions): grpc.ClientDuplexStream<_mesh_flow_v1_Upstream, _mesh_flow_v1_Downstream__Output>;
  /**
   * One link. The receiver ends the call with a gRPC status (CONTRACT.md,
   * section 3, has the whole table):
   * OK                  after Close or a half-close, once everything it held
   * is delivered and acknowledged (rule 8)
   * INVALID_ARGUMENT    a frame that does not decode or carries no frame; an
   * empty link name, or a link or sender name over 256
   * bytes (rule 7); an offset that does not continue the
   * link (rule 5); a Batch of no events (rule 9)
   * RESOURCE_EXHAUSTED  more events than granted (rule 2); a batch over the
   * receiver's event or byte limit (rule 9); an Open
   * beyond MAX_LINKS, or a call evicted while it waited
   * for its Open (rule 7)
   * FAILED_PRECONDITION a first frame that is not Open, a second Open, or an
   * incompatible protocol version (rule 7); a Batch or
   * Open after Close (rule 8)
   * DEADLINE_EXCEEDED   no Open within OPEN_TIMEOUT_MS (rule 7)
   * UNAVAILABLE         the stage resets the link so that upstream
   * re-delivers what it did not acknowledge (rule 8)
   * A sender that finds the receiver breaking the contract writes Close with
   * the code of the breach, half-closes, and reconnects with backoff.
   */
  exchange(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_mesh_flow_v1_Upstream, _mesh_flow_v1_Downstream__Output>;
  exchange(options?: grpc.CallOptions): grpc.ClientDuplexStream<_mesh_flow_v1_Upstream, _mesh_flow_v1_Downstream__Output>;
  
}

export interface FlowHandlers extends grpc.UntypedServiceImplementation {
  /**
   * One link. The receiver ends the call with a gRPC status (CONTRACT.md,
   * section 3, has the whole table):
   * OK                  after Close or a half-close, once everything it held
   * is delivered and acknowledged (rule 8)
   * INVALID_ARGUMENT    a frame that does not decode or carries no frame; an
   * empty link name, or a link or sender name over 256
   * bytes (rule 7); an offset that does not continue the
   * link (rule 5); a Batch of no events (rule 9)
   * RESOURCE_EXHAUSTED  more events than granted (rule 2); a batch over the
   * receiver's event or byte limit (rule 9); an Open
   * beyond MAX_LINKS, or a call evicted while it waited
   * for its Open (rule 7)
   * FAILED_PRECONDITION a first frame that is not Open, a second Open, or an
   * incompatible protocol version (rule 7); a Batch or
   * Open after Close (rule 8)
   * DEADLINE_EXCEEDED   no Open within OPEN_TIMEOUT_MS (rule 7)
   * UNAVAILABLE         the stage resets the link so that upstream
   * re-delivers what it did not acknowledge (rule 8)
   * A sender that finds the receiver breaking the contract writes Close with
   * the code of the breach, half-closes, and reconnects with backoff.
   */
  Exchange: grpc.handleBidiStreamingCall<_mesh_flow_v1_Upstream__Output, _mesh_flow_v1_Downstream>;
  
}

export interface FlowDefinition extends grpc.ServiceDefinition {
  Exchange: MethodDefinition<_mesh_flow_v1_Upstream, _mesh_flow_v1_Downstream, _mesh_flow_v1_Upstream__Output, _mesh_flow_v1_Downstream__Output>
}
