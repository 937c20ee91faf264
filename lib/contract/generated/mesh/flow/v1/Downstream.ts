// Original file: proto/mesh/flow/v1/flow.proto

import type { Opened as _mesh_flow_v1_Opened, Opened__Output as _mesh_flow_v1_Opened__Output } from '../../../mesh/flow/v1/Opened';
import type { Credit as _mesh_flow_v1_Credit, Credit__Output as _mesh_flow_v1_Credit__Output } from '../../../mesh/flow/v1/Credit';
import type { Ack as _mesh_flow_v1_Ack, Ack__Output as _mesh_flow_v1_Ack__Output } from '../../../mesh/flow/v1/Ack';

/**
 * Frames sent by the downstream (receiving) side.
 */
export interface Downstream {
  'opened'?: (_mesh_flow_v1_Opened | null);
  'credit'?: (_mesh_flow_v1_Credit | null);
  'ack'?: (_mesh_flow_v1_Ack | null);
  'frame'?: "opened"|"credit"|"ack";
}

/**
 * Frames sent by the downstream (receiving) side.
 */
export interface Downstream__Output {
  'opened'?: (_mesh_flow_v1_Opened__Output | null);
  'credit'?: (_mesh_flow_v1_Credit__Output | null);
  'ack'?: (_mesh_flow_v1_Ack__Output | null);
  'frame'?: "opened"|"credit"|"ack";
}
