import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { HopPressure, HopSnapshot, InboundLinkFigures, OutboundLinkFigures } from './HopPressure.js';

const breakerStateValues = { closed: 0, 'half-open': 1, open: 2 } as const;

/**
 * The Prometheus metrics of one hop, read from its HopPressure at scrape time
 * (one snapshot a scrape), with the process's own metrics beside them. Every
 * series carries a `stage` label, so the gateway can merge every hop's into one.
 */
export function createMetricsRegistry(pressure: HopPressure): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ stage: pressure.name });
  collectDefaultMetrics({ register: registry });
  let latest: { at: number; snapshot: HopSnapshot } | undefined;
  const snapshot = () => {
    if (!latest || performance.now() - latest.at > 250) latest = { at: performance.now(), snapshot: pressure.snapshot() };
    return latest.snapshot;
  };
  const outbound = () => snapshot().links.filter((link): link is OutboundLinkFigures => link.direction === 'out');
  const inbound = () => snapshot().links.filter((link): link is InboundLinkFigures => link.direction === 'in');

  const gauge = (name: string, help: string, labelNames: string[], set: (gauge: Gauge) => void) => new Gauge({
    name, help, labelNames, registers: [registry],
    collect() { this.reset(); set(this); },
  });
  const counter = (name: string, help: string, labelNames: string[], set: (counter: Counter) => void) => new Counter({
    name, help, labelNames, registers: [registry],
    collect() { this.reset(); set(this); },
  });

  gauge('mesh_stage_busy_ms_per_second', 'Milliseconds per second the stage was busy (neither idle nor back-pressured), as Flink defines it', [], (g) => g.set(snapshot().busy_ms_per_second));
  gauge('mesh_stage_backpressured_ms_per_second', 'Milliseconds per second the stage waited for downstream credit', [], (g) => g.set(snapshot().backpressured_ms_per_second));
  gauge('mesh_stage_idle_ms_per_second', 'Milliseconds per second the stage waited for input with nothing in hand', [], (g) => g.set(snapshot().idle_ms_per_second));
  counter('mesh_stage_events_in_total', 'Events the stage took in', [], (c) => c.inc(snapshot().events_in_total));
  counter('mesh_stage_events_out_total', 'Events the stage passed on (for the sink: committed)', [], (c) => c.inc(snapshot().events_out_total));

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

  gauge('mesh_intake_length', 'Entries in the intake', [], (g) => { const intake = snapshot().intake; if (intake) g.set(intake.length); });
  gauge('mesh_intake_capacity', 'The intake bound', [], (g) => { const intake = snapshot().intake; if (intake) g.set(intake.capacity); });
  gauge('mesh_intake_lag', 'Entries in the intake not yet read by a source', [], (g) => { const intake = snapshot().intake; if (intake) g.set(intake.lag); });
  gauge('mesh_intake_pending', 'Entries read and on their way, not yet acknowledged end to end', [], (g) => { const intake = snapshot().intake; if (intake) g.set(intake.pending); });
  gauge('mesh_intake_window', 'What the intake may hold now: its bound, or less when sized by time', [], (g) => { const intake = snapshot().intake; if (intake?.window !== undefined) g.set(intake.window); });
  gauge('mesh_intake_drain_events_per_second', 'How fast the mesh removes acknowledged entries from the intake', [], (g) => { const intake = snapshot().intake; if (intake?.drain_per_second != null) g.set(intake.drain_per_second); });
  gauge('mesh_intake_estimated_drain_seconds', 'How long what the intake holds takes to drain at that rate', [], (g) => { const intake = snapshot().intake; if (intake?.estimated_drain_ms != null) g.set(intake.estimated_drain_ms / 1_000); });
  return registry;
}
