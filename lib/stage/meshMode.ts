import type { Environment } from '../config.js';

/**
 * How the hops are wired, for the burst benchmark's side-by-side comparison:
 * - `flow`: as designed, demand end to end;
 * - `naive`: the same links with credit as good as unlimited and an unbounded
 *   intake, so every hop takes all it is sent and queues it in memory (what
 *   home-grown pipelines do);
 * - `decoupled`: the stages connected through Redis Streams with no demand
 *   between them, each reading at its own pace (a topic between every two jobs).
 */
export const meshModes = ['flow', 'naive', 'decoupled'] as const;
export type MeshMode = (typeof meshModes)[number];

/** The largest credit rule 1 allows outstanding: in the naive mode, every link's capacity. */
export const unlimitedCredit = 2 ** 31 - 1;

export function readMeshMode(env: Environment): MeshMode {
  return env.oneOf('MESH_MODE', meshModes, 'flow');
}
