import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { PROTOCOL_VERSION, flowService, type Event, type Opened__Output } from '../lib/contract/loadContract.js';
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
  /** Metadata every call of the kit carries, e.g. a bearer token's `authorization`. */
  metadata: Record<string, string>;
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

/** Every event the kit sends has an id that starts with this; a live stage passes them on to the sink's dead_letters. */
export const eventIdPrefix = `conformance-${process.pid}-`;

let eventSerial = 0;
function kitEvents(count: number, idPadding = ''): Event[] {
  const now = Date.now();
  return Array.from({ length: count }, () => ({
    id: `${eventIdPrefix}${++eventSerial}${idPadding}`,
    userId: 'conformance-user',
    itemId: 'conformance-item',
    kind: 'view',
    eventTimeMs: now,
    priceCents: 100,
  }));
}

function newLink(kit: Kit, options: { ownConnection?: boolean } = {}): RawLink {
  const link = new RawLink(kit.target, kit.credentials, { ...options, metadata: kit.metadata });
  kit.links.push(link);
  return link;
}

interface OpenLink { link: RawLink; opened: Opened__Output; firstGrant: number }

/** Opens a link the proper way; on anything unexpected, says what was seen instead. */
async function openLink(kit: Kit, names: { link?: string; sender?: string; minWindow?: number } = {}, options: { ownConnection?: boolean } = {}): Promise<OpenLink | string> {
  const link = newLink(kit, options);
  link.send({ open: { link: names.link ?? 'conformance', sender: names.sender ?? 'conformance-kit', protocolVersion: PROTOCOL_VERSION, minWindow: names.minWindow ?? 0 } });
  const first = await link.next(kit.timeoutMs);
  if (!first) return link.status ? `ended before Opened: ${describeStatus(link.status)}` : `no frame after Open within ${kit.timeoutMs} ms`;
  if (!first.opened) return `first frame after Open was ${first.frame}, not opened`;
  const second = await link.next(kit.timeoutMs);
  if (!second) return link.status ? `ended after Opened, before any Credit: ${describeStatus(link.status)}` : `no Credit after Opened within ${kit.timeoutMs} ms`;
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

const openingRefusals: Scenario = async (kit) => {
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

const frameLimits: Scenario = async (kit) => {
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
const steadyFlow: Scenario = async (kit) => {
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

const offsetContinuity: Scenario = async (kit) => {
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

/** The most UTF-8 bytes a link or sender name may take (rule 7). */
const maxNameBytes = 256;

/** Rule 7: names are bounded in bytes of UTF-8, not in characters; the link is named, the sender may be anonymous. */
export const openNames: Scenario = async (kit) => {
  const overLongLink = `a${'é'.repeat(maxNameBytes / 2)}`; // 257 bytes, 129 characters
  const refusals = [
    { title: `an Open whose link name is ${maxNameBytes + 1} bytes of UTF-8 (${overLongLink.length} characters) is refused with INVALID_ARGUMENT`, link: overLongLink, sender: 'conformance-kit' },
    { title: `an Open whose sender is ${maxNameBytes + 1} bytes is refused with INVALID_ARGUMENT`, link: 'conformance', sender: 's'.repeat(maxNameBytes + 1) },
    { title: 'an Open with an empty link name is refused with INVALID_ARGUMENT', link: '', sender: 'conformance-kit' },
  ];
  const results: CheckResult[] = [];
  for (const { title, link: name, sender } of refusals) {
    const link = newLink(kit);
    link.send({ open: { link: name, sender, protocolVersion: PROTOCOL_VERSION } });
    const status = await link.endWithin(kit.timeoutMs);
    results.push(expectRefusal(7, title, grpc.status.INVALID_ARGUMENT, status, link.frames.some((frame) => frame.opened) ? ', after answering Opened' : ''));
    link.dispose();
  }
  const acceptedTitle = `an Open whose link name is exactly ${maxNameBytes} bytes (${maxNameBytes / 2} characters) and whose sender is empty is accepted`;
  const accepted = await openLink(kit, { link: 'é'.repeat(maxNameBytes / 2), sender: '' });
  if (typeof accepted === 'string') {
    results.push({ rule: 7, title: acceptedTitle, pass: false, seen: accepted });
  } else {
    results.push({ rule: 7, title: acceptedTitle, pass: true, seen: `Opened from "${accepted.opened.receiver}", first grant ${accepted.firstGrant} events` });
    accepted.link.dispose();
  }
  return results;
};

const decodeUpstream = flowService.Exchange.requestDeserialize;

/**
 * Random bytes behind a header no protobuf decoder accepts: field 2 (batch),
 * length-delimited, claiming 65,535 bytes where 28 follow.
 */
function undecodableFrame(): Buffer {
  const bytes = Buffer.concat([Buffer.from([0x12, 0xff, 0xff, 0x03]), randomBytes(28)]);
  try {
    decodeUpstream(bytes);
  } catch {
    return bytes;
  }
  throw new Error('conformance kit: its undecodable frame decoded');
}

/** Rule 7: every frame must decode and carry one of open, batch and close. */
export const malformedFrames: Scenario = async (kit) => {
  const titles = {
    undecodable: 'a frame that does not decode (random bytes) is refused with INVALID_ARGUMENT',
    empty: 'a frame that carries none of open, batch and close is refused with INVALID_ARGUMENT',
  };
  const results: CheckResult[] = [];

  const forBytes = await openLink(kit);
  if (typeof forBytes === 'string') {
    results.push({ rule: 7, title: titles.undecodable, pass: false, seen: forBytes });
  } else {
    const bytes = undecodableFrame();
    forBytes.link.sendBytes(bytes);
    const status = await forBytes.link.endWithin(kit.timeoutMs);
    results.push(expectRefusal(7, titles.undecodable, grpc.status.INVALID_ARGUMENT, status, `, for ${bytes.length} bytes that do not decode as an Upstream frame, sent after Open`));
    forBytes.link.dispose();
  }

  const forEmpty = await openLink(kit);
  if (typeof forEmpty === 'string') {
    results.push({ rule: 7, title: titles.empty, pass: false, seen: forEmpty });
  } else {
    forEmpty.link.send({});
    const status = await forEmpty.link.endWithin(kit.timeoutMs);
    results.push(expectRefusal(7, titles.empty, grpc.status.INVALID_ARGUMENT, status, ', for an empty Upstream frame sent after Open'));
    forEmpty.link.dispose();
  }
  return results;
};

/** Rule 9: a Batch carries 1..max_batch_events events. */
export const emptyBatch: Scenario = async (kit) => {
  const title = 'a Batch of no events is refused with INVALID_ARGUMENT';
  const outcome = await openLink(kit);
  if (typeof outcome === 'string') return [{ rule: 9, title, pass: false, seen: outcome }];
  const { link } = outcome;
  link.send({ batch: { offset: 0, events: [] } });
  const status = await link.endWithin(kit.timeoutMs);
  link.dispose();
  return [expectRefusal(9, title, grpc.status.INVALID_ARGUMENT, status, ', for a Batch at offset 0 with no events')];
};

/**
 * Rule 3: chunked grants must not leave a sender short of a chunk for good:
 * once the receiver has taken everything, it grants back the rest it freed.
 */
export const idleGrant: Scenario = async (kit) => {
  const title = 'once idle, the receiver grants back all it freed, less than a chunk included: outstanding credit returns to the first grant';
  const outcome = await openLink(kit);
  if (typeof outcome === 'string') return [{ rule: 3, title, pass: false, seen: outcome }];
  const { link, firstGrant } = outcome;
  try {
    const started = performance.now();
    link.send({ batch: { offset: 0, events: kitEvents(1) } });
    const deadline = Date.now() + kit.timeoutMs;
    while (!link.status && link.outstanding < firstGrant && (await link.next(deadline - Date.now()))) { /* reading grants */ }
    const waitedMs = Math.round(performance.now() - started);
    if (link.outstanding === firstGrant) return [{ rule: 3, title, pass: true, seen: `after 1 event, outstanding credit was back to ${firstGrant} within ${waitedMs} ms` }];
    return [{
      rule: 3,
      title,
      pass: false,
      seen: link.outstanding > firstGrant
        ? `outstanding credit ${link.outstanding} is above the first grant of ${firstGrant}`
        : `after 1 event, outstanding credit stayed at ${link.outstanding} of ${firstGrant} for ${waitedMs} ms; ${describeStatus(link.status)}`,
    }];
  } finally {
    link.dispose();
  }
};

/**
 * Rule 3, windows sized by time: a receiver may shrink its window only by
 * withholding replenishment. A sender that keeps sending at the pace credit
 * comes is never refused; one that announced Open.min_window gets all of it
 * back (up to the capacity) once idle.
 */
export const sizedWindows: Scenario = async (kit) => {
  const titles = {
    paced: 'a sender that sends all its credit as it comes, for a second, is never refused, whatever the receiver does with its window',
    minWindow: 'a sender that announced Open.min_window gets it back once idle: outstanding credit returns to the first grant (the capacity caps it)',
  };
  const results: CheckResult[] = [];
  const paced = await openLink(kit, { link: 'conformance-paced' });
  if (typeof paced === 'string') {
    results.push({ rule: 3, title: titles.paced, pass: false, seen: paced });
  } else {
    const { link, opened } = paced;
    try {
      const untilMs = performance.now() + 1_000;
      while (!link.status && performance.now() < untilMs) {
        if (link.outstanding > 0) sendBurst(link, kitEvents(Math.min(link.outstanding, opened.maxBatchEvents, 200)), opened.maxBatchEvents);
        else await link.next(Math.max(1, untilMs - performance.now()));
        await sleep(0);
      }
      const sent = link.sent;
      const deadline = Date.now() + kit.timeoutMs;
      while (!link.status && (link.acks.at(-1) ?? 0) < sent && (await link.next(deadline - Date.now()))) { /* reading acks */ }
      const acked = link.acks.at(-1) ?? 0;
      results.push({
        rule: 3,
        title: titles.paced,
        pass: !link.status && acked === sent,
        seen: link.status ? `${describeStatus(link.status)} after ${sent} events sent within ${link.granted} granted` : `${sent} events sent within ${link.granted} granted, ${acked} acknowledged`,
      });
    } finally {
      link.dispose();
    }
  }
  const announcing = await openLink(kit, { link: 'conformance-min-window', minWindow: MAX_CREDIT });
  if (typeof announcing === 'string') {
    results.push({ rule: 3, title: titles.minWindow, pass: false, seen: announcing });
  } else {
    const { link, opened, firstGrant } = announcing;
    try {
      // Enough traffic for a receiver sized by time to measure its drain and shrink, were it allowed to.
      const untilMs = performance.now() + 600;
      while (!link.status && performance.now() < untilMs) {
        if (link.outstanding > 0) sendBurst(link, kitEvents(Math.min(link.outstanding, opened.maxBatchEvents, 50)), opened.maxBatchEvents);
        await sleep(5);
      }
      const deadline = Date.now() + kit.timeoutMs;
      while (!link.status && link.outstanding < firstGrant && (await link.next(deadline - Date.now()))) { /* reading grants */ }
      results.push({
        rule: 3,
        title: titles.minWindow,
        pass: !link.status && link.outstanding === firstGrant,
        seen: link.status ? describeStatus(link.status) : `outstanding credit ${link.outstanding} of ${firstGrant}, ${kit.timeoutMs} ms after the last of ${link.sent} events`,
      });
    } finally {
      link.dispose();
    }
  }
  return results;
};

/**
 * Rule 8: nothing is taken after Close. A receiver that still holds events
 * when Close arrives refuses the Batch behind it; one that held nothing may
 * already have ended the call with OK, and the Batch arrived at a finished call.
 * What it must never do is accept (acknowledge) it.
 */
export const batchAfterClose: Scenario = async (kit) => {
  const title = 'a Batch after Close is refused with FAILED_PRECONDITION (or, if nothing was left to deliver, arrives after the link ended with OK)';
  const outcome = await openLink(kit);
  if (typeof outcome === 'string') return [{ rule: 8, title, pass: false, seen: outcome }];
  const { link, opened, firstGrant } = outcome;
  try {
    if (firstGrant < 2) return [{ rule: 8, title, pass: false, seen: `a first grant of ${firstGrant} leaves no credit for a Batch behind a Batch` }];
    const before = Math.min(100, opened.maxBatchEvents, firstGrant - 1);
    link.send({ batch: { offset: 0, events: kitEvents(before) } });
    link.send({ close: { reason: 'conformance kit: a Batch follows this Close', code: 0 } });
    link.send({ batch: { offset: before, events: kitEvents(1) } });
    link.halfClose();
    const status = await link.endWithin(2 * kit.timeoutMs);
    const lastAck = link.acks.at(-1) ?? 0;
    if (status?.code === grpc.status.FAILED_PRECONDITION) {
      return [{ rule: 8, title, pass: true, seen: `${describeStatus(status)}, for 1 event after Close behind ${before} before it` }];
    }
    if (lastAck > before) {
      return [{ rule: 8, title, pass: false, seen: `acknowledged ${lastAck} events: the Batch after Close was accepted; ${describeStatus(status)}` }];
    }
    if (status?.code === grpc.status.OK && lastAck === before) {
      return [{ rule: 8, title, pass: true, seen: `OK once the ${before} events before Close were acknowledged: it held nothing when Close arrived` }];
    }
    return [{ rule: 8, title, pass: false, seen: `${describeStatus(status)}, with ${lastAck} of the ${before} events before Close acknowledged` }];
  } finally {
    link.dispose();
  }
};

/** Rule 8: a half-close of the request stream means what Close means. */
export const halfClose: Scenario = async (kit) => {
  const titles = {
    idle: 'a half-close with nothing buffered (no events sent) ends the link with OK',
    busy: 'a half-close after events, with no Close frame, acknowledges every event, then ends the link with OK',
  };
  const results: CheckResult[] = [];

  const idle = await openLink(kit);
  if (typeof idle === 'string') {
    results.push({ rule: 8, title: titles.idle, pass: false, seen: idle });
  } else {
    idle.link.halfClose();
    const status = await idle.link.endWithin(kit.timeoutMs);
    results.push({ rule: 8, title: titles.idle, pass: status?.code === grpc.status.OK, seen: describeStatus(status) });
    idle.link.dispose();
  }

  const busy = await openLink(kit);
  if (typeof busy === 'string') {
    results.push({ rule: 8, title: titles.busy, pass: false, seen: busy });
  } else {
    const count = Math.min(10, busy.opened.maxBatchEvents, busy.firstGrant);
    busy.link.send({ batch: { offset: 0, events: kitEvents(count) } });
    busy.link.halfClose();
    const status = await busy.link.endWithin(2 * kit.timeoutMs);
    const lastAck = busy.link.acks.at(-1) ?? 0;
    results.push({
      rule: 8,
      title: titles.busy,
      pass: status?.code === grpc.status.OK && lastAck === count,
      seen: `${describeStatus(status)}, ${lastAck} of ${count} events acknowledged`,
    });
    busy.link.dispose();
  }
  return results;
};

/**
 * Calls the kit leaves waiting without an Open: more than the default MAX_LINKS
 * (64), so a receiver that lets waiting calls take link slots is caught as configured by default.
 */
const idleCalls = 80;
/** OPEN_TIMEOUT_MS's default: how long a receiver lets a call wait for its Open. */
const defaultOpenTimeoutMs = 2_000;

/**
 * Rule 7: a call holds no link slot before its Open, and calls that never
 * send one are bounded in number and in time, so they cannot lock out a
 * legitimate upstream, which sends Open at once over a connection of its own.
 */
export const pendingOpens: Scenario = async (kit) => {
  const titles = {
    proper: `a proper Open, on a connection of its own, succeeds while ${idleCalls} calls that never sent Open wait`,
    idle: `calls that never send Open end with DEADLINE_EXCEEDED (after OPEN_TIMEOUT_MS, default ${defaultOpenTimeoutMs} ms) or, evicted by newer ones, RESOURCE_EXHAUSTED`,
  };
  const idle = Array.from({ length: idleCalls }, () => newLink(kit));
  try {
    // They share one connection and reach the receiver in order; let them arrive before the proper one.
    await sleep(250);
    const results: CheckResult[] = [];
    const proper = await openLink(kit, {}, { ownConnection: true });
    const waiting = idle.filter((link) => !link.status).length;
    if (typeof proper === 'string') {
      results.push({ rule: 7, title: titles.proper, pass: false, seen: `${proper} (${waiting} idle calls still open)` });
    } else {
      results.push({ rule: 7, title: titles.proper, pass: true, seen: `Opened and a first grant of ${proper.firstGrant} events, with ${waiting} of the idle calls still open` });
      proper.link.dispose();
    }

    const waitMs = defaultOpenTimeoutMs + kit.timeoutMs;
    const waitStarted = performance.now();
    const statuses = await Promise.all(idle.map((link) => link.endWithin(waitMs)));
    const waitedMs = Math.round(performance.now() - waitStarted);
    const byCode = new Map<string, number>();
    for (const status of statuses) {
      const name = status ? codeName(status.code) : 'still open';
      byCode.set(name, (byCode.get(name) ?? 0) + 1);
    }
    const allowed = new Set([grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED]);
    results.push({
      rule: 7,
      title: titles.idle,
      pass: statuses.every((status) => status !== undefined && allowed.has(status.code)),
      seen: `of ${idleCalls} idle calls, ${waitedMs} ms after the proper Open: ${[...byCode].map(([name, count]) => `${count} ${name}`).join(', ')}`,
    });
    return results;
  } finally {
    for (const link of idle) link.dispose();
  }
};

/** Looks at every grant the receiver made on every link the kit opened. */
export const grantsInRange: Scenario = async (kit) => {
  const grants = kit.links.flatMap((link) => link.grants);
  const outOfRange = grants.filter((grant) => grant < 1 || grant > MAX_CREDIT);
  const overflowing = kit.links.filter((link) => link.outstanding > MAX_CREDIT);
  const windows = kit.links.flatMap((link) => link.frames.filter((frame) => frame.credit?.window).map((frame) => ({ window: frame.credit!.window, capacity: link.grants[0] ?? 0 })));
  const windowsOutOfRange = windows.filter(({ window, capacity }) => window > capacity);
  return [{
    rule: 1,
    title: 'Credit.window, where a receiver gives it, is at most its first grant (the capacity)',
    pass: windowsOutOfRange.length === 0,
    seen: windows.length === 0
      ? 'no grant gave a window (it is optional)'
      : `${windows.length} grants gave a window${windowsOutOfRange.length ? `; above the capacity: ${windowsOutOfRange.slice(0, 3).map(({ window, capacity }) => `${window} > ${capacity}`).join(', ')}` : ', all within the capacity'}`,
  }, {
    rule: 1,
    title: `grants are 1..${MAX_CREDIT} events and outstanding credit never exceeds ${MAX_CREDIT}`,
    pass: grants.length > 0 && outOfRange.length === 0 && overflowing.length === 0,
    seen: grants.length === 0
      ? 'no grant seen on any link'
      : `${grants.length} grants on ${kit.links.length} links${outOfRange.length ? `, out of range: ${outOfRange.slice(0, 5).join(', ')}` : ''}${overflowing.length ? `, ${overflowing.length} links with outstanding credit over the maximum` : ''}`,
  }];
};

/** In the order they run; grantsInRange last, since it reads what the others saw. */
export const scenarios: Scenario[] = [
  opening, openingRefusals, openNames, malformedFrames, overCredit, frameLimits, emptyBatch, steadyFlow, offsetContinuity,
  idleGrant, sizedWindows, batchAfterClose, halfClose, pendingOpens, grantsInRange,
];
