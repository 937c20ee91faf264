/** The stages of the mesh, in the order events flow through them: the names the gateway and the dashboard know them by. */
export const stageNames = ['source', 'enrichment', 'join', 'sink'] as const;
export type StageName = (typeof stageNames)[number];

/** Where each stage listens for its upstream's links by default, on consecutive ports. */
export const defaultPorts: Record<StageName, number> = { source: 50051, enrichment: 50052, join: 50053, sink: 50054 };
/** Where each stage's admin API (metrics, pressure, fault switches) listens by default. */
export const defaultAdminPorts: Record<StageName, number> = { source: 9101, enrichment: 9102, join: 9103, sink: 9104 };
export const defaultGatewayPort = 8080;

/** The default address of a stage's links: its own LISTEN_ADDR, and the <STAGE>_ADDR its upstream dials. */
export function defaultAddress(stage: StageName): string {
  return `127.0.0.1:${defaultPorts[stage]}`;
}

/** The default address of a stage's admin API: its own ADMIN_ADDR, and the <STAGE>_ADMIN_ADDR the gateway reads it at. */
export function defaultAdminAddress(stage: StageName): string {
  return `127.0.0.1:${defaultAdminPorts[stage]}`;
}
