import { Counter, type Registry } from 'prom-client';
import type { HopPressure } from '../lib/telemetry/HopPressure.js';
import { RateWindow } from '../lib/telemetry/RateWindow.js';
import type { Admission, FlowFigures } from './admission/Admission.js';

/** Per class or key: events per second offered, admitted and shed, and the p99 accept-to-commit of the last 10 s (null until known). */
export type ClassFigures = FlowFigures & { p99_ms: number | null };

export interface EdgeFigures {
  accepted_per_second: number;
  requests_per_second: number;
  requests_429_per_second: number;
  classes?: Record<string, ClassFigures>;
  keys?: Record<string, ClassFigures>;
}

/** What the edge answers: requests by status and events accepted, as counters and as recent rates. */
export class EdgeTraffic {
  #requests = 0;
  #refusedForCredit = 0;
  #accepted = 0;
  readonly #rates = new RateWindow(() => ({ requests: this.#requests, refused: this.#refusedForCredit, accepted: this.#accepted }));
  readonly #requestsByStatus: Counter;
  readonly #acceptedEvents: Counter;

  /** `pressure`: the gateway's hop, whose events in are the events accepted; `admission`: its figures per class and key. */
  constructor(registry: Registry, private readonly pressure?: HopPressure, private readonly admission?: Admission) {
    this.#requestsByStatus = new Counter({ name: 'mesh_edge_requests_total', help: 'Ingest requests answered, by HTTP status', labelNames: ['status'], registers: [registry] });
    this.#acceptedEvents = new Counter({ name: 'mesh_edge_events_accepted_total', help: 'Events the source confirmed durably taken', registers: [registry] });
  }

  answered(status: number, acceptedEvents = 0): void {
    this.#requests += 1;
    if (status === 429) this.#refusedForCredit += 1;
    this.#accepted += acceptedEvents;
    this.pressure?.countIn(acceptedEvents);
    this.#requestsByStatus.inc({ status: String(status) });
    if (acceptedEvents > 0) this.#acceptedEvents.inc(acceptedEvents);
  }

  figures(): EdgeFigures {
    const rates = this.#rates.rates();
    const round = (value: number) => Math.round(value * 10) / 10;
    const figures: EdgeFigures = { accepted_per_second: round(rates.accepted!), requests_per_second: round(rates.requests!), requests_429_per_second: round(rates.refused!) };
    if (!this.admission) return figures;
    const { classes, keys } = this.admission.figures();
    const withP99 = (byName: Record<string, FlowFigures>) => Object.fromEntries(Object.entries(byName).map(([name, flow]) => [name, { ...flow, p99_ms: null }]));
    return { ...figures, classes: withP99(classes), keys: withP99(keys) };
  }

  stop(): void {
    this.#rates.stop();
  }
}
