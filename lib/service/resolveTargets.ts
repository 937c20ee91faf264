import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export type ResolveName = (host: string) => Promise<string[]>;

/** The system resolver: every address a name has (a headless Service's name has one per replica). */
export const systemResolver: ResolveName = async (host) => (await lookup(host, { all: true })).map((entry) => entry.address);

export interface ResolvedTargets {
  /** host:port of each replica, with the name it was found by (for TLS and the authority), its IP when given as one. */
  addresses: Map<string, string>;
  /** Entries whose name did not resolve now. */
  failed: Array<{ target: string; host: string; port: string; error: unknown }>;
}

/** host:port[,host:port...] entries, each name resolved to all its addresses: every replica they name. */
export async function resolveTargets(targets: string, resolveName: ResolveName = systemResolver): Promise<ResolvedTargets> {
  const resolved: ResolvedTargets = { addresses: new Map(), failed: [] };
  for (const target of targets.split(',').map((entry) => entry.trim()).filter(Boolean)) {
    const [, host, port] = /^\[?(.*?)\]?:(\d+)$/.exec(target) ?? [];
    if (!host || !port) continue;
    if (isIP(host)) {
      resolved.addresses.set(`${host.includes(':') ? `[${host}]` : host}:${port}`, host);
      continue;
    }
    try {
      for (const address of await resolveName(host)) resolved.addresses.set(`${isIP(address) === 6 ? `[${address}]` : address}:${port}`, host);
    } catch (error) {
      resolved.failed.push({ target, host, port, error });
    }
  }
  return resolved;
}
