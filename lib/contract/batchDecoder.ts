import { assertFramesAsWritten } from './framesAsWritten.js';
import { flowService, type Event__Output, type Upstream__Output } from './loadContract.js';

/**
 * An Upstream frame of a Batch, decoded to exactly what the contract's generic codec (proto-loader
 * over protobufjs, with its defaults) makes of it, in about three quarters of its time and half its
 * garbage: the generic codec builds a message object for every event and then a plain copy of it;
 * this reads each field straight into the one plain object. The fields are named in the code, as
 * framesAsWritten.ts checks them against the contract. Anything out of the ordinary (an Open or a
 * Close, a field of an unexpected wire type, a message field twice, bytes that run out) goes
 * through the generic codec, so the two cannot disagree on what a frame says, nor on what makes
 * one unreadable.
 */

assertFramesAsWritten();

const deserialize = flowService.Exchange.requestDeserialize as (bytes: Buffer) => Upstream__Output;

/** The frame's bytes do not read as this decoder reads them: the generic codec decides. */
class Unusual extends Error {}
const unusual = new Unusual();

let bytes: Buffer = Buffer.alloc(0);
let at = 0;

/** Decodes an Upstream frame as the contract's codec does; see the top of this file. */
export function decodeUpstream(frame: Buffer): Upstream__Output {
  try {
    return decodeBatchFrame(frame);
  } catch (error) {
    if (error === unusual) return deserialize(frame);
    throw error;
  } finally {
    bytes = Buffer.alloc(0);
  }
}

function decodeBatchFrame(frame: Buffer): Upstream__Output {
  bytes = frame;
  at = 0;
  if (frame.length === 0 || readVarint() !== 0x12) throw unusual;
  const end = lengthEnd();
  if (end !== frame.length) throw unusual;
  const events: Event__Output[] = [];
  const traceContext: Record<string, string> = {};
  let offset = 0;
  while (at < end) {
    switch (readVarint()) {
      case 0x08: offset = readUint64(); break;
      case 0x12: events.push(readEvent(lengthEnd())); break;
      case 0x1a: readMapEntry(lengthEnd(), traceContext); break;
      default: throw unusual;
    }
  }
  return { batch: { events, traceContext, offset }, frame: 'batch' } as Upstream__Output;
}

function readEvent(end: number): Event__Output {
  let id = '', userId = '', itemId = '', kind = '', intakeId = '', priorityClass = '', producerKey = '';
  let eventTimeMs = 0, priceCents = 0, acceptedAtMs = 0;
  let profile: Event__Output['profile'] = null;
  let product: Event__Output['product'] = null;
  let deadLetter: Event__Output['deadLetter'] = null;
  while (at < end) {
    const tag = readVarint();
    switch (tag) {
      case 0x0a: id = readString(); break;
      case 0x12: userId = readString(); break;
      case 0x1a: itemId = readString(); break;
      case 0x22: kind = readString(); break;
      case 0x28: eventTimeMs = readInt64(); break;
      case 0x30: priceCents = readInt64(); break;
      case 0x38: acceptedAtMs = readInt64(); break;
      case 0x42: intakeId = readString(); break;
      // A message field that comes twice merges: the generic codec does that.
      case 0x4a: if (profile) throw unusual; profile = readProfile(lengthEnd()); break;
      case 0x52: if (product) throw unusual; product = readProduct(lengthEnd()); break;
      case 0x5a: if (deadLetter) throw unusual; deadLetter = readDeadLetter(lengthEnd()); break;
      case 0x62: priorityClass = readString(); break;
      case 0x6a: producerKey = readString(); break;
      default: skipUnknown(tag, 13);
    }
  }
  if (at !== end) throw unusual;
  return { id, userId, itemId, kind, eventTimeMs, priceCents, acceptedAtMs, intakeId, profile, product, deadLetter, priorityClass, producerKey };
}

function readProfile(end: number): NonNullable<Event__Output['profile']> {
  let found = false, segment = '', country = '', degraded = false;
  while (at < end) {
    const tag = readVarint();
    switch (tag) {
      case 0x08: found = readBool(); break;
      case 0x12: segment = readString(); break;
      case 0x1a: country = readString(); break;
      case 0x20: degraded = readBool(); break;
      default: skipUnknown(tag, 4);
    }
  }
  if (at !== end) throw unusual;
  return { found, segment, country, degraded };
}

function readProduct(end: number): NonNullable<Event__Output['product']> {
  let found = false, name = '', category = '', listPriceCents = 0;
  while (at < end) {
    const tag = readVarint();
    switch (tag) {
      case 0x08: found = readBool(); break;
      case 0x12: name = readString(); break;
      case 0x1a: category = readString(); break;
      case 0x20: listPriceCents = readInt64(); break;
      default: skipUnknown(tag, 4);
    }
  }
  if (at !== end) throw unusual;
  return { found, name, category, listPriceCents };
}

function readDeadLetter(end: number): NonNullable<Event__Output['deadLetter']> {
  let stage = '', reason = '';
  while (at < end) {
    const tag = readVarint();
    switch (tag) {
      case 0x0a: stage = readString(); break;
      case 0x12: reason = readString(); break;
      default: skipUnknown(tag, 2);
    }
  }
  if (at !== end) throw unusual;
  return { stage, reason };
}

function readMapEntry(end: number, into: Record<string, string>): void {
  let key = '';
  let value = '';
  while (at < end) {
    switch (readVarint()) {
      case 0x0a: key = readString(); break;
      case 0x12: value = readString(); break;
      default: throw unusual;
    }
  }
  if (at !== end) throw unusual;
  into[key] = value;
}

/**
 * A field of a number above the message's last (`lastField`), skipped as the generic codec skips
 * it. A known field with another wire type is left to the generic codec, which reads a field by its
 * number whatever its wire type.
 */
function skipUnknown(tag: number, lastField: number): void {
  if (Math.floor(tag / 8) <= lastField) throw unusual;
  switch (tag % 8) {
    case 0: readVarint(); break;
    case 1: at += 8; break;
    case 2: at = lengthEnd(); break;
    case 5: at += 4; break;
    default: throw unusual;
  }
  if (at > bytes.length) throw unusual;
}

/** The end of a length-delimited field whose length is next. */
function lengthEnd(): number {
  const length = readVarint();
  const end = at + length;
  if (end > bytes.length) throw unusual;
  return end;
}

function readString(): string {
  const end = lengthEnd();
  // Buffer's own UTF-8 slice, without toString's checks of its arguments (the generic codec reads strings with it too).
  const text = (bytes as Buffer & { utf8Slice(start: number, end: number): string }).utf8Slice(at, end);
  at = end;
  return text;
}

/** A bool of one byte; any longer varint (which the generic codec reads in its own way) is left to it. */
function readBool(): boolean {
  if (at >= bytes.length || bytes[at]! >= 0x80) throw unusual;
  return bytes[at++] !== 0;
}

/** A varint of at most 32 bits as an unsigned number: a tag, a length. */
function readVarint(): number {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (at >= bytes.length) throw unusual;
    const byte = bytes[at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return value;
  }
  throw unusual;
}

/** A 64-bit varint as long.js's toNumber reads it, signed or not, as the generic codec (longs: Number) does. */
function readInt64(): number {
  return readLong(true);
}

function readUint64(): number {
  return readLong(false);
}

function readLong(signed: boolean): number {
  let low = 0;
  let high = 0;
  for (let i = 0; i < 10; i++) {
    if (at >= bytes.length) throw unusual;
    const byte = bytes[at++]!;
    if (i < 4) low |= (byte & 0x7f) << (7 * i);
    else if (i === 4) {
      low |= (byte & 0x0f) << 28;
      high |= (byte & 0x7f) >> 4;
    } else high |= (byte & 0x7f) << (7 * i - 32);
    if (byte < 0x80) return signed ? (high | 0) * 4294967296 + (low >>> 0) : (high >>> 0) * 4294967296 + (low >>> 0);
  }
  throw unusual;
}
