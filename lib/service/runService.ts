import { Environment, ConfigError } from '../config.js';
import { createLogger } from '../log.js';

export interface StartedService {
  /** What it listens on, printed as "<name> listening on <address>". */
  address: string;
  stop(): Promise<void>;
}

/**
 * The life of one service process: read and validate its configuration, start
 * it, say where it listens, and on SIGTERM or SIGINT stop it gracefully (a
 * second signal exits at once).
 */
export async function runService(name: string, start: (env: Environment) => Promise<StartedService>): Promise<void> {
  const log = createLogger(name);
  let service: StartedService;
  try {
    service = await start(new Environment());
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`${name}: ${error.message}`);
      process.exit(2);
    }
    log.error('failed to start', { error: String(error) });
    process.exit(1);
  }
  console.log(`${name} listening on ${service.address}`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info('stopping', { signal });
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => { log.error('stop failed', { error: String(error) }); process.exit(1); },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
