import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/flow.js';

export type { Event, Event__Output } from './generated/mesh/events/v1/Event.js';
export type { Profile } from './generated/mesh/events/v1/Profile.js';
export type { Product } from './generated/mesh/events/v1/Product.js';
export type { Upstream, Upstream__Output } from './generated/mesh/flow/v1/Upstream.js';
export type { Downstream, Downstream__Output } from './generated/mesh/flow/v1/Downstream.js';
export type { Opened__Output } from './generated/mesh/flow/v1/Opened.js';
export type { FlowClient } from './generated/mesh/flow/v1/Flow.js';

/** The version of the wire contract that proto/mesh/flow/v1 describes (rule 7). */
export const PROTOCOL_VERSION = 1;

export const protoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'proto');

// Must match the options tools/generateContractTypes.ts generates the types with.
const loaderOptions: protoLoader.Options = {
  includeDirs: [protoRoot],
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** The contract as proto-loader reads it (what server reflection describes). */
export const packageDefinition = protoLoader.loadSync(['mesh/flow/v1/flow.proto'], loaderOptions);
const contract = grpc.loadPackageDefinition(packageDefinition) as unknown as ProtoGrpcType;

/** The Flow service, for grpc.Server#addService. */
export const flowService = contract.mesh.flow.v1.Flow.service;
