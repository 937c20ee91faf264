import * as grpc from '@grpc/grpc-js';
import { PROTOCOL_VERSION, type Event, type Opened__Output } from '../lib/contract/loadContract.js';
import { MAX_CREDIT } from '../lib/flow/ProtocolError.js';
import { RawLink } from './RawLink.js';

export interface CheckResult {
  rule: number;
  title: string;
  pass: boolean;
  /** What the kit saw, in a few words. */
  seen: string;
}

export interface Kit {
  target: string;
  credentials: grpc.ChannelCredentials;
  /** How long to wait for any one answer. */
  timeoutMs: number;
  /** Every link the kit opened, for the checks that look across all of them. */
  links: RawLink[];
}

/** A scenario drives one or more links and reports one or more checks. */
export type Scenario = (kit: Kit) => Promise<CheckResult[]>;

const codeName = (code: grpc.status) => grpc.status[code] ?? String(code);
const describeStatus = (status: grpc.StatusObject | undefined) =>
  status ? `${codeName(status.code)} "${status.details}"` : 'no status (the link stayed open)';

let eventSerial = 0;
function kitEvents(count: number, idPadding = ''): Event[] {
  const now = Date.now();
  return Array.from({ length: count }, () => ({
    id: `conformance-${process.pid}-${++eventSerial}${idPadding}`,
    userId: 'conformance-user',
    itemId: 'conformance-item',
    kind: 'view',
    eventTimeMs: now,
    priceCents: 100,
  }));
}

function newLink(kit: Kit): RawLink {
  const link = new RawLink(kit.target, kit.credentials);
  kit.links.push(link);
  return link;
}

interface OpenLink { link: RawLink; opened: Opened__Output; firstGrant: number }

/** Opens a link the proper way; on anything unexpected, says what was seen instead. */
async function openLink(kit: Kit): Promise<OpenLink | string> {
  const link = newLink(kit);
  link.send({ open: { link: 'conformance', sender: 'conformance-kit', protocolVersion: PROTOCOL_VERSION } });
  const first = await link.next(kit.timeoutMs);
  if (!first) return `no frame after Open within ${kit.timeoutMs} ms; ${describeStatus(link.status)}`;
  if (!first.opened) return `first frame after Open was ${first.frame}, not opened`;
  const second = await link.next(kit.timeoutMs);
  if (!second) return `no Credit after Opened within ${kit.timeoutMs} ms; ${describeStatus(link.status)}`;
  if (!second.credit) return `the frame after Opened was ${second.frame}, not credit`;
  return { link, opened: first.opened, firstGrant: second.credit.events };
}

/** Sends `events` as consecutive batches of at most `perFrame` events, without waiting for anything. */
function sendBurst(link: RawLink, events: Event[], perFrame: number): void {
  for (let start = 0; start < events.length; start += perFrame) {
    link.send({ batch: { offset: link.sent, events: events.slice(start, start + perFrame) } });
  }
}

function expectRefusal(rule: number, title: string, expected: grpc.status, status: grpc.StatusObject | undefined, note = ''): CheckResult {
  const pass = status?.code === expected;
  return { rule, title, pass, seen: `${describeStatus(status)}${note}` };
}

export const opening: Scenario = async (kit) => {
  const outcome = await openLink(kit);
  if (typeof outcome === 'string') {
    return [
      { rule: 7, title: 'Open is answered by Opened', pass: false, seen: outcome },
      { rule: 3, title: 'the first grant is the buffer capacity, sent before any data', pass: false, seen: outcome },
    ];
  }
  const { link, opened, firstGrant } = outcome;
  link.dispose();
  const limitsPositive = opened.maxBatchEvents > 0 && opened.maxBatchBytes > 0;
  return [
    {
      rule: 7,
      title: 'Open is answered by Opened',
      pass: opened.protocolVersion === PROTOCOL_VERSION && limitsPositive,
      seen: `Opened v${opened.protocolVersion} from "${opened.receiver}", max ${opened.maxBatchEvents} events and ${opened.maxBatchBytes} bytes a batch`,
    },
    {
      rule: 3,
      title: 'the first grant is the buffer capacity, sent before any data',
      pass: firstGrant >= 1,
      seen: `first grant ${firstGrant} events`,
    },
  ];
};

export const openingRefusals: Scenario = async (kit) => {
  const title = (what: string) => `${what} is refused with FAILED_PRECONDITION`;

  const batchFirst = newLink(kit);
  batchFirst.send({ batch: { offset: 0, events: kitEvents(1) } });
  const batchFirstStatus = await batchFirst.endWithin(kit.timeoutMs);

  const wrongVersion = newLink(kit);
  wrongVersion.send({ open: { link: 'conformance', sender: 'conformance-kit', protocolVersion: PROTOCOL_VERSION + 998 } });
  const wrongVersionStatus = await wrongVersion.endWithin(kit.timeoutMs);

  const repeated = await openLink(kit);
  let repeatedStatus: grpc.StatusObject | undefined;
  if (typeof repeated !== 'string') {
    repeated.link.send({ open: { link: 'conformance', sender: 'conformance-kit', protocolVersion: PROTOCOL_VERSION } });
    repeatedStatus = await repeated.link.endWithin(kit.timeoutMs);
  }
  for (const link of [batchFirst, wrongVersion]) link.dispose();
  if (typeof repeated !== 'string') repeated.link.dispose();

  return [
    expectRefusal(7, title('a first frame other than Open'), grpc.status.FAILED_PRECONDITION, batchFirstStatus),
    expectRefusal(7, title(`protocol version ${PROTOCOL_VERSION + 998}`), grpc.status.FAILED_PRECONDITION, wrongVersionStatus),
    typeof repeated === 'string'
      ? { rule: 7, title: title('a second Open'), pass: false, seen: repeated }
      : expectRefusal(7, title('a second Open'), grpc.status.FAILED_PRECONDITION, repeatedStatus),
  ];
};

/**
 * Sends one event more than the first grant, at once. A receiver never has
 * more than its capacity (the first grant) outstanding, but it may free space
 * while the burst is still arriving; a burst that the receiver's own grants
 * covered proves nothing, and the kit tries again. So a receiver that skips the
 * check is caught when its consumer is slower than the kit, not when it keeps up.
 */
export const overCredit: Scenario = async (kit) => {
  const title = 'events beyond the credit granted are refused with RESOURCE_EXHAUSTED';
  const outcome = await openLink(kit);
  if (typeof outcome === 'string') return [{ rule: 2, title, pass: false, seen: outcome }];
  const { link, opened, firstGrant } = outcome;
  try {
    for (let round = 1; round <= 3; round += 1) {
      const excess = firstGrant + 1;
      sendBurst(link, kitEvents(excess), opened.maxBatchEvents);
      const deadline = Date.now() + kit.timeoutMs;
      while (!link.status && link.granted < link.sent && (await link.next(deadline - Date.now()))) { /* reading grants */ }
      if (link.status) {
        return [expectRefusal(2, title, grpc.status.RESOURCE_EXHAUSTED, link.status, `, after ${link.sent} events sent with ${link.granted} granted`)];
      }
      if (link.granted < link.sent) {
        return [{ rule: 2, title, pass: false, seen: `accepted ${link.sent} events with only ${link.granted} granted, and kept the link open` }];
      }
    }
    return [{ rule: 2, title, pass: true, seen: `the receiver freed space faster than the kit could exceed it (granted ${link.granted} for ${link.sent} sent); never above its grants` }];
  } finally {
    link.dispose();
  }
};

export const frameLimits: Scenario = async (kit) => {
  const eventsTitle = 'a batch over the event limit is refused with RESOURCE_EXHAUSTED';
  const bytesTitle = 'a frame over the byte limit is refused with RESOURCE_EXHAUSTED';
  const results: CheckResult[] = [];

  const forEvents = await openLink(kit);
  if (typeof forEvents === 'string') {
    results.push({ rule: 9, title: eventsTitle, pass: false, seen: forEvents });
  } else {
    const { link, opened, firstGrant } = forEvents;
    const count = opened.maxBatchEvents + 1;
    link.send({ batch: { offset: 0, events: kitEvents(count) } });
    const note = count <= firstGrant ? `, for ${count} events within credit` : `, for ${count} events (also over the first grant of ${firstGrant})`;
    results.push(expectRefusal(9, eventsTitle, grpc.status.RESOURCE_EXHAUSTED, await link.endWithin(kit.timeoutMs), note));
    link.dispose();
  }

  const forBytes = await openLink(kit);
  if (typeof forBytes === 'string') {
    results.push({ rule: 9, title: bytesTitle, pass: false, seen: forBytes });
  } else {
    const { link, opened } = forBytes;
    const maxTestable = 64 * 1024 * 1024;
    if (opened.maxBatchBytes > maxTestable) {
      results.push({ rule: 9, title: bytesTitle, pass: false, seen: `announced max_batch_bytes ${opened.maxBatchBytes} is above ${maxTestable}; frames that large are not bounded` });
    } else {
      link.send({ batch: { offset: 0, events: kitEvents(1, 'x'.repeat(opened.maxBatchBytes)) } });
      results.push(expectRefusal(9, bytesTitle, grpc.status.RESOURCE_EXHAUSTED, await link.endWithin(kit.timeoutMs), `, for one event in a frame over ${opened.maxBatchBytes} bytes`));
    }
    link.dispose();
  }
  return results;
};

/**
 * A well-behaved sender's whole link: single-event batches, always within
 * credit, well past the first grant, then Close.
 */
export const steadyFlow: Scenario = async (kit) => {
  const titles = {
    replenish: 'credit is replenished in chunks as space frees, never above the first grant',
    acks: 'acknowledgements are cumulative, monotonic and cover every event sent',
    close: 'Close ends the link with OK once everything is acknowledged',
  };
  const outcome = await openLink(kit);
  if (typeof outcome === 'string') {
    return [{ rule: 3, title: titles.replenish, pass: false, seen: outcome }, { rule: 5, title: titles.acks, pass: false, seen: outcome }, { rule: 8, title: titles.close, pass: false, seen: outcome }];
  }
  const { link, firstGrant } = outcome;
  const total = firstGrant + Math.min(firstGrant, 2_000);
  let maxOutstanding = link.outstanding;
  let starved = '';
  for (const event of kitEvents(total)) {
    if (link.outstanding < 1 && !(await link.awaitCredit(1, kit.timeoutMs))) {
      starved = `no credit for ${kit.timeoutMs} ms after ${link.sent} events (${link.granted} granted); ${describeStatus(link.status)}`;
      break;
    }
    maxOutstanding = Math.max(maxOutstanding, link.outstanding);
    link.send({ batch: { offset: link.sent, events: [event] } });
  }
  const replenishments = link.grants.length - 1;
  const creditRatio = replenishments / Math.max(link.sent, 1);
  const results: CheckResult[] = [{
    rule: 3,
    title: titles.replenish,
    pass: !starved && creditRatio <= 0.25 && maxOutstanding <= firstGrant,
    seen: starved || `${link.sent} single-event batches drew ${replenishments} credit frames (${creditRatio.toFixed(3)} a batch); outstanding at most ${maxOutstanding} of ${firstGrant}`,
  }];

  const ackDeadline = Date.now() + 2 * kit.timeoutMs;
  while ((link.acks.at(-1) ?? 0) < link.sent && (await link.next(ackDeadline - Date.now()))) { /* reading acks */ }
  const monotonic = link.acks.every((offset, index) => offset >= (link.acks[index - 1] ?? 0) && offset <= link.sent);
  const lastAck = link.acks.at(-1) ?? 0;
  results.push({
    rule: 5,
    title: titles.acks,
    pass: monotonic && lastAck === link.sent,
    seen: `${link.acks.length} acks, last ${lastAck} of ${link.sent} sent${monotonic ? '' : ', not monotonic or beyond what was sent'}`,
  });

  link.send({ close: { reason: 'conformance kit finished', code: 0 } });
  link.halfClose();
  const status = await link.endWithin(2 * kit.timeoutMs);
  results.push({ rule: 8, title: titles.close, pass: status?.code === grpc.status.OK, seen: describeStatus(status) });
  link.dispose();
  return results;
};

export const offsetContinuity: Scenario = async (kit) => {
  const title = 'a batch whose offset does not continue the link is refused with INVALID_ARGUMENT';
  const outcome = await openLink(kit);
  if (typeof outcome === 'string') return [{ rule: 5, title, pass: false, seen: outcome }];
  const { link } = outcome;
  if (!(await link.awaitCredit(2, kit.timeoutMs))) {
    link.dispose();
    return [{ rule: 5, title, pass: false, seen: `never had credit for 2 events (granted ${link.granted})` }];
  }
  link.send({ batch: { offset: 0, events: kitEvents(1) } });
  link.send({ batch: { offset: 5, events: kitEvents(1) } });
  const status = await link.endWithin(kit.timeoutMs);
  link.dispose();
  return [expectRefusal(5, title, grpc.status.INVALID_ARGUMENT, status, ', for offset 5 after 1 event')];
};

/** Looks at every grant the receiver made on every link the kit opened. */
export const grantsInRange: Scenario = async (kit) => {
  const grants = kit.links.flatMap((link) => link.grants);
  const outOfRange = grants.filter((grant) => grant < 1 || grant > MAX_CREDIT);
  const overflowing = kit.links.filter((link) => link.outstanding > MAX_CREDIT);
  return [{
    rule: 1,
    title: `grants are 1..${MAX_CREDIT} events and outstanding credit never exceeds ${MAX_CREDIT}`,
    pass: grants.length > 0 && outOfRange.length === 0 && overflowing.length === 0,
    seen: grants.length === 0
      ? 'no grant seen on any link'
      : `${grants.length} grants on ${kit.links.length} links${outOfRange.length ? `, out of range: ${outOfRange.slice(0, 5).join(', ')}` : ''}${overflowing.length ? `, ${overflowing.length} links with outstanding credit over the maximum` : ''}`,
  }];
};

/** In the order they run; grantsInRange last, since it reads what the others saw. */
export const scenarios: Scenario[] = [opening, openingRefusals, overCredit, frameLimits, steadyFlow, offsetContinuity, grantsInRange];
