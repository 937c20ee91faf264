import { postEvents, wireEvents } from './httpEvents.js';

export interface LoadReport {
  accepted: Set<string>;
  statuses: Map<string, number>;
}

/**
 * Clients that keep posting batches of new events, and retry a batch whose
 * request failed or got no answer until it is accepted, as a producer that
 * relies on event ids for idempotency does.
 */
/** A wait that does not keep the process alive: a test that times out without stopping its load still ends. */
const pause = (ms: number) => new Promise<void>((resolve) => { setTimeout(resolve, ms).unref(); });

/** Attempts a client still makes for its batch once told to stop. */
const stopTries = 20;

export function sustainedLoad(gatewayUrl: string, runId: string, options: { clients?: number; batch?: number } = {}): { report: LoadReport; stop(): Promise<LoadReport> } {
  const report: LoadReport = { accepted: new Set(), statuses: new Map() };
  let stopping = false;
  let next = 0;
  const count = (status: string) => report.statuses.set(status, (report.statuses.get(status) ?? 0) + 1);
  const clients = Array.from({ length: options.clients ?? 4 }, async () => {
    while (!stopping) {
      const events = wireEvents(options.batch ?? 200, runId, { from: next });
      next += events.length;
      // Once stopping, a batch not yet accepted is given up (it was never accepted, so nothing is owed):
      // a mesh that stopped admitting fails the test's own checks instead of holding it until its timeout.
      for (let tries = 0; !stopping || tries < stopTries; tries += stopping ? 1 : 0) {
        const answer = await postEvents(gatewayUrl, JSON.stringify(events)).catch(() => undefined);
        count(answer ? String(answer.status) : 'no answer');
        if (answer?.status === 202) {
          for (const event of events) report.accepted.add(event.id);
          break;
        }
        await pause(answer?.status === 429 ? 50 : 100);
      }
    }
  });
  return {
    report,
    async stop() {
      stopping = true;
      await Promise.all(clients);
      return report;
    },
  };
}
