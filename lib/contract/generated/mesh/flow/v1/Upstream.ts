// Original file: proto/mesh/flow/v1/flow.proto

import type { Open as _mesh_flow_v1_Open, Open__Output as _mesh_flow_v1_Open__Output } from '../../../mesh/flow/v1/Open';
import type { Batch as _mesh_flow_v1_Batch, Batch__Output as _mesh_flow_v1_Batch__Output } from '../../../mesh/flow/v1/Batch';
import type { Close as _mesh_flow_v1_Close, Close__Output as _mesh_flow_v1_Close__Output } from '../../../mesh/flow/v1/Close';

/**
 * Frames sent by the upstream (sending) side.
 */
export interface Upstream {
  'open'?: (_mesh_flow_v1_Open | null);
  'batch'?: (_mesh_flow_v1_Batch | null);
  'close'?: (_mesh_flow_v1_Close | null);
  'frame'?: "open"|"batch"|"close";
}

/**
 * Frames sent by the upstream (sending) side.
 */
export interface Upstream__Output {
  'open'?: (_mesh_flow_v1_Open__Output | null);
  'batch'?: (_mesh_flow_v1_Batch__Output | null);
  'close'?: (_mesh_flow_v1_Close__Output | null);
  'frame'?: "open"|"batch"|"close";
}
