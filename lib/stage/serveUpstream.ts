import { bindServer, createFlowServer, type FlowServerOptions } from '../flow/FlowServer.js';
import { createLogger } from '../log.js';
import type { LinkCredentials } from '../security/linkCredentials.js';
import type { ServiceHealth } from '../service/ServiceHealth.js';
import { InboundLinks } from './InboundLinks.js';

export interface UpstreamOptions {
  /** The hop's name: what its Opened announces. */
  name: string;
  /** host:port to listen on. */
  listen: string;
  receiver: Omit<FlowServerOptions, 'receiver'>;
  credentials?: LinkCredentials | undefined;
  /** gRPC health and reflection, served beside the links. */
  health?: ServiceHealth | undefined;
}

export interface UpstreamServer {
  /** Every link into the hop, read as one. */
  readonly links: InboundLinks;
  /** host:port it listens on (the port bound, when 0 was asked for). */
  readonly address: string;
  /** Ends every link (upstream re-delivers what it has not had acknowledged) and the server. */
  close(details: string): void;
}

/** The receiving side of a hop: a Flow server whose opened links join one InboundLinks. */
export async function serveUpstream(options: UpstreamOptions): Promise<UpstreamServer> {
  const log = createLogger(options.name);
  const links = new InboundLinks();
  const server = createFlowServer({ ...options.receiver, receiver: options.name }, (link) => {
    log.info('upstream link opened', { link: link.name, sender: link.sender });
    links.add(link);
  });
  options.health?.addTo(server);
  const port = await bindServer(server, options.listen, options.credentials?.server);
  return {
    links,
    address: `${options.listen.replace(/:\d+$/, '')}:${port}`,
    close(details) {
      links.resetAll(details);
      server.forceShutdown();
    },
  };
}
