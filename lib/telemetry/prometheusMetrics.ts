import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CommitLatencyByLabel } from './CommitLatencyByLabel.js';
import type { HopPressure, HopSnapshot, InboundLinkFigures, OutboundLinkFigures, PassedEvent } from './HopPressure.js';

const breakerStateValues = { closed: 0, 'half-open': 1, open: 2 } as const;
const batchSizeBuckets = [1, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000];
const acceptToCommitBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * The Prometheus metrics of one hop, read from its HopPressure at scrape time
 * (one snapshot a scrape), with the process's own metrics beside them. Every
 * series carries `stage` and `replica` labels, so the gateway can merge every
 * replica's of every hop into one. A family appears only on the hops that own
 * it: the intake's on the source, accept-to-commit on the hop that commits.
 */
export function createMetricsRegistry(pressure: HopPressure): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ stage: pressure.name, replica: pressure.replica });
  collectDefaultMetrics({ register: registry });
  let latest: { at: number; snapshot: HopSnapshot } | undefined;
  const snapshot = () => {
    if (!latest || performance.now() - latest.at > 250) latest = { at: performance.now(), snapshot: pressure.snapshot() };
    return latest.snapshot;
  };
  const outbound = () => snapshot().links.filter((link): link is OutboundLinkFigures => link.direction === 'out');
  const inbound = () => snapshot().links.filter((link): link is InboundLinkFigures => link.direction === 'in');

  const gauge = (name: string, help: string, labelNames: string[], set: (gauge: Gauge) => void, registers = [registry]) => new Gauge({
    name, help, labelNames, registers,
    collect() { this.reset(); set(this); },
  });
  const counter = (name: string, help: string, labelNames: string[], set: (counter: Counter) => void) => new Counter({
    name, help, labelNames, registers: [registry],
    collect() { this.reset(); set(this); },
  });

  // Counters of seconds, so that rate() over any window gives Flink's busy, back-pressured and idle time per second.
  counter('mesh_stage_busy_seconds_total', 'Seconds the stage was busy doing its own work (a call to its own dependency included)', [], (c) => c.inc(pressure.clock.totals().busy / 1_000));
  counter('mesh_stage_backpressured_seconds_total', 'Seconds the stage waited for downstream credit with none of its own work in progress', [], (c) => c.inc(pressure.clock.totals().backpressured / 1_000));
  counter('mesh_stage_idle_seconds_total', 'Seconds the stage waited for input with nothing in hand (or only for acknowledgements, with credit left)', [], (c) => c.inc(pressure.clock.totals().idle / 1_000));
  counter('mesh_stage_dependency_seconds_total', 'Seconds during which a call of the stage to its dependency (Redis, Postgres) was in progress: a part of its busy time', [], (c) => c.inc(pressure.clock.dependencyTotal() / 1_000));
  counter('mesh_stage_events_in_total', 'Events the stage took in', [], (c) => c.inc(snapshot().events_in_total));
  counter('mesh_stage_events_out_total', 'Events the stage passed on (for the sink: committed)', [], (c) => c.inc(snapshot().events_out_total));

  const batchSizes = new Histogram({ name: 'mesh_stage_batch_events', help: 'Events in each batch the stage passed on (for the sink: committed)', buckets: batchSizeBuckets, registers: [registry] });
  pressure.onPassedOn((events) => batchSizes.observe(events.length));
  const lag = gauge('mesh_stage_event_time_lag_seconds', 'Now minus the event time of what the stage last passed on (for the sink: committed), while input waits for it; else that lag when it passed it on', [], (g) => {
    const lagMs = pressure.eventTimeLagMs();
    if (lagMs !== undefined) g.set(lagMs / 1_000);
  }, []);
  pressure.onPassedOn(function registerLag() {
    if (!registry.getSingleMetric('mesh_stage_event_time_lag_seconds')) registry.registerMetric(lag);
  });
  const acceptToCommit = new Histogram({ name: 'mesh_sink_accept_to_commit_seconds', help: 'From the intake taking an event (the 202 at the edge) to the sink committing it', buckets: acceptToCommitBuckets, registers: [] });
  let byLabel: CommitLatencyByLabel | undefined;
  pressure.onCommitted((events: readonly PassedEvent[], atMs: number) => {
    if (!registry.getSingleMetric('mesh_sink_accept_to_commit_seconds')) registry.registerMetric(acceptToCommit);
    if (!byLabel) {
      const created = new CommitLatencyByLabel(registry);
      pressure.watchCommitLatency(() => created.figures);
      byLabel = created;
    }
    // Negative where the event carries no acceptance time: neither observes it.
    const seconds = events.map((event) => {
      const acceptedAtMs = Number(event.acceptedAtMs ?? 0);
      return acceptedAtMs > 0 ? Math.max(0, atMs - acceptedAtMs) / 1_000 : -1;
    });
    for (const value of seconds) if (value >= 0) acceptToCommit.observe(value);
    byLabel.observeCommit(events, seconds);
  });

  gauge('mesh_link_credit_available', 'Credit the receiver has granted and the sender not yet used, in events', ['link'], (g) => {
    for (const link of outbound()) g.set({ link: link.link }, link.credit_available);
  });
  gauge('mesh_link_in_flight_events', 'Events sent on the link and not yet acknowledged', ['link'], (g) => {
    for (const link of outbound()) g.set({ link: link.link }, link.in_flight_events);
  });
  gauge('mesh_link_queue_depth', 'Events received on the link and not yet taken by the stage', ['link', 'sender'], (g) => {
    for (const link of inbound()) g.set({ link: link.link, sender: link.sender }, link.queue_depth);
  });
  gauge('mesh_link_capacity', "The receiver's buffer capacity on the link, in events", ['link', 'direction'], (g) => {
    for (const link of snapshot().links) g.set({ link: link.link, direction: link.direction }, link.capacity);
  });
  gauge('mesh_link_window', 'What the receiver lets the link hold now (credit outstanding plus buffered), in events: its capacity, or less when sized by time', ['link', 'sender'], (g) => {
    for (const link of inbound()) if (link.window !== undefined) g.set({ link: link.link, sender: link.sender }, link.window);
  });
  gauge('mesh_link_drain_events_per_second', 'How fast the stage drains the link, measured while it held events', ['link', 'sender'], (g) => {
    for (const link of inbound()) if (link.drain_per_second != null) g.set({ link: link.link, sender: link.sender }, link.drain_per_second);
  });
  gauge('mesh_link_estimated_drain_seconds', 'How long what the link holds takes to drain at that rate', ['link', 'sender'], (g) => {
    for (const link of inbound()) if (link.estimated_drain_ms != null) g.set({ link: link.link, sender: link.sender }, link.estimated_drain_ms / 1_000);
  });
  counter('mesh_link_events_out_total', 'Events sent on the link', ['link'], (c) => {
    for (const link of outbound()) c.inc({ link: link.link }, link.events_total);
  });
  counter('mesh_link_events_in_total', 'Events taken from the link', ['link'], (c) => {
    for (const [link, events] of pressure.eventsInByLink()) c.inc({ link }, events);
  });

  gauge('mesh_breaker_state', 'Circuit breaker state: 0 closed, 1 half-open, 2 open', ['dependency'], (g) => {
    for (const breaker of snapshot().breakers) g.set({ dependency: breaker.dependency }, breakerStateValues[breaker.state]);
  });
  counter('mesh_breaker_failures_total', 'Calls to the dependency that failed or timed out', ['dependency'], (c) => {
    for (const breaker of snapshot().breakers) c.inc({ dependency: breaker.dependency }, breaker.failures_total);
  });

  pressure.whenIntakeWatched(() => {
    latest = undefined;
    const intakeGauge = (name: string, help: string, value: (intake: NonNullable<HopSnapshot['intake']>) => number | null | undefined) => gauge(name, help, [], (g) => {
      const intake = snapshot().intake;
      const figure = intake && value(intake);
      if (figure !== undefined && figure !== null) g.set(figure);
    });
    intakeGauge('mesh_intake_length', 'Events in the intake', (intake) => intake.length);
    intakeGauge('mesh_intake_capacity', 'The intake bound', (intake) => intake.capacity);
    intakeGauge('mesh_intake_lag', 'Events in the intake not yet read by a source', (intake) => intake.lag);
    intakeGauge('mesh_intake_pending', 'Events read and on their way, not yet acknowledged end to end', (intake) => intake.pending);
    intakeGauge('mesh_intake_window', 'What the intake may hold now: its bound, or less when sized by time', (intake) => intake.window);
    intakeGauge('mesh_intake_drain_events_per_second', 'How fast the mesh removes acknowledged events from the intake', (intake) => intake.drain_per_second);
    intakeGauge('mesh_intake_estimated_drain_seconds', 'How long what the intake holds takes to drain at that rate', (intake) => (intake.estimated_drain_ms == null ? null : intake.estimated_drain_ms / 1_000));
  });
  return registry;
}
