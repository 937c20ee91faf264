import { assertFramesAsWritten } from './framesAsWritten.js';
import { flowService, type Upstream } from './loadContract.js';

/**
 * The Upstream frame of a Batch, encoded to exactly the bytes the contract's generic codec
 * (proto-loader over protobufjs) writes, in a fraction of its time: the events' sizes are
 * computed in one pass and the frame written in a second, straight into one buffer, where the
 * generic codec converts every event, queues an operation per field and copies each event's
 * bytes once more. Encoding is the largest single cost of a hop that passes events on. The
 * fields are named in the code, as framesAsWritten.ts checks them against the contract. A value
 * of a type this does not write (a Long, say) sends the frame through the generic codec instead.
 * One difference, in what is not UTF-8 at all: an unpaired surrogate is written as U+FFFD (as
 * Buffer writes it), where the generic codec writes it so in a string of 40 characters or more and
 * as the surrogate's own three bytes (which decode as three U+FFFD) in a shorter one.
 */

const serialize = flowService.Exchange.requestSerialize as (frame: Upstream) => Buffer;

assertFramesAsWritten();

const batchTag = (2 << 3) | 2;
const offsetTag = (1 << 3) | 0;
const eventTag = (2 << 3) | 2;
const traceContextTag = (3 << 3) | 2;
const mapKeyTag = (1 << 3) | 2;
const mapValueTag = (2 << 3) | 2;

/** Values this does not write; the frame goes through the generic codec. */
class Unwritable extends Error {}

/** Sizes, in the order the writing pass needs them: every string's UTF-8 length and every message's size. */
let sizes = new Uint32Array(4_096);
let recorded = 0;
let next = 0;

function record(size: number): number {
  if (recorded === sizes.length) {
    const grown = new Uint32Array(sizes.length * 2);
    grown.set(sizes);
    sizes = grown;
  }
  sizes[recorded] = size;
  return recorded++;
}

/** Encodes `frame` as the contract's codec does; see the top of this file. */
export function encodeUpstream(frame: Upstream): Buffer {
  const batch = frame.batch;
  if (!batch || frame.open || frame.close || !Array.isArray(batch.events)) return serialize(frame);
  try {
    return encodeBatch(batch);
  } catch (error) {
    if (error instanceof Unwritable) return serialize(frame);
    throw error;
  }
}

function encodeBatch(batch: NonNullable<Upstream['batch']>): Buffer {
  recorded = 0;
  const offset = batch.offset;
  if (offset !== undefined && offset !== null && !(Number.isSafeInteger(offset) && (offset as number) >= 0)) throw new Unwritable();
  const events = batch.events!;
  const traceContext = batch.traceContext ?? {};
  let content = offset === undefined || offset === null ? 0 : 1 + varintLength(offset as number);
  for (const event of events) {
    if (event === null || typeof event !== 'object') throw new Unwritable();
    const size = eventSize(event as Message);
    content += 1 + varintLength(size) + size;
  }
  const entries = Object.entries(traceContext);
  for (const [key, value] of entries) {
    if (typeof value !== 'string') throw new Unwritable();
    const size = entrySize(key, value);
    content += 1 + varintLength(size) + size;
  }
  const out = Buffer.allocUnsafe(1 + varintLength(content) + content);
  next = 0;
  let at = writeVarint(out, 0, batchTag);
  at = writeVarint(out, at, content);
  if (offset !== undefined && offset !== null) at = writeVarint(out, writeVarint(out, at, offsetTag), offset as number);
  for (const event of events) {
    out[at++] = eventTag;
    at = writeEvent(out, at, event as Message);
  }
  for (const [key, value] of entries) {
    out[at++] = traceContextTag;
    at = writeVarint(out, at, sizes[next++]!);
    out[at++] = mapKeyTag;
    at = writeString(out, at, key);
    out[at++] = mapValueTag;
    at = writeString(out, at, value);
  }
  if (at !== out.length) throw new Error(`batch encoder wrote ${at} of ${out.length} bytes`);
  return out;
}

type Message = Record<string, unknown>;

/** An event's size (its fields, not its own tag and length), recording what the writing pass needs; its own size first. */
function eventSize(event: Message): number {
  const slot = record(0);
  const size = stringSize(event.id) + stringSize(event.userId) + stringSize(event.itemId) + stringSize(event.kind)
    + int64Size(event.eventTimeMs) + int64Size(event.priceCents) + int64Size(event.acceptedAtMs) + stringSize(event.intakeId)
    + messageSize(event.profile, profileSize) + messageSize(event.product, productSize) + messageSize(event.deadLetter, deadLetterSize)
    + stringSize(event.priorityClass) + stringSize(event.producerKey);
  sizes[slot] = size;
  return size;
}

function writeEvent(out: Buffer, from: number, event: Message): number {
  let at = writeVarint(out, from, sizes[next++]!);
  at = writeStringField(out, at, 0x0a, event.id);
  at = writeStringField(out, at, 0x12, event.userId);
  at = writeStringField(out, at, 0x1a, event.itemId);
  at = writeStringField(out, at, 0x22, event.kind);
  at = writeInt64Field(out, at, 0x28, event.eventTimeMs);
  at = writeInt64Field(out, at, 0x30, event.priceCents);
  at = writeInt64Field(out, at, 0x38, event.acceptedAtMs);
  at = writeStringField(out, at, 0x42, event.intakeId);
  at = writeMessageField(out, at, 0x4a, event.profile, writeProfile);
  at = writeMessageField(out, at, 0x52, event.product, writeProduct);
  at = writeMessageField(out, at, 0x5a, event.deadLetter, writeDeadLetter);
  at = writeStringField(out, at, 0x62, event.priorityClass);
  return writeStringField(out, at, 0x6a, event.producerKey);
}

function profileSize(profile: Message): number {
  return boolSize(profile.found) + stringSize(profile.segment) + stringSize(profile.country) + boolSize(profile.degraded);
}

function writeProfile(out: Buffer, from: number, profile: Message): number {
  let at = writeBoolField(out, from, 0x08, profile.found);
  at = writeStringField(out, at, 0x12, profile.segment);
  at = writeStringField(out, at, 0x1a, profile.country);
  return writeBoolField(out, at, 0x20, profile.degraded);
}

function productSize(product: Message): number {
  return boolSize(product.found) + stringSize(product.name) + stringSize(product.category) + int64Size(product.listPriceCents);
}

function writeProduct(out: Buffer, from: number, product: Message): number {
  let at = writeBoolField(out, from, 0x08, product.found);
  at = writeStringField(out, at, 0x12, product.name);
  at = writeStringField(out, at, 0x1a, product.category);
  return writeInt64Field(out, at, 0x20, product.listPriceCents);
}

function deadLetterSize(deadLetter: Message): number {
  return stringSize(deadLetter.stage) + stringSize(deadLetter.reason);
}

function writeDeadLetter(out: Buffer, from: number, deadLetter: Message): number {
  const at = writeStringField(out, from, 0x0a, deadLetter.stage);
  return writeStringField(out, at, 0x12, deadLetter.reason);
}

// A field is written when it is set (not null nor undefined), even at its default, as the generic codec does.

function stringSize(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value !== 'string') throw new Unwritable();
  const length = utf8Length(value);
  record(length);
  return 1 + varintLength(length) + length;
}

function int64Size(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (!Number.isSafeInteger(value)) throw new Unwritable();
  return 1 + int64Length(value as number);
}

function boolSize(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value !== 'boolean') throw new Unwritable();
  return 2;
}

/** A nested message's size with its tag and length; its own size is recorded before its fields'. */
function messageSize(value: unknown, fieldsSize: (message: Message) => number): number {
  if (value === null || value === undefined) return 0;
  if (typeof value !== 'object') throw new Unwritable();
  const slot = record(0);
  const size = fieldsSize(value as Message);
  sizes[slot] = size;
  return 1 + varintLength(size) + size;
}

function writeStringField(out: Buffer, at: number, tag: number, value: unknown): number {
  if (value === null || value === undefined) return at;
  out[at] = tag;
  return writeString(out, at + 1, value as string);
}

function writeInt64Field(out: Buffer, at: number, tag: number, value: unknown): number {
  if (value === null || value === undefined) return at;
  out[at] = tag;
  return writeInt64(out, at + 1, value as number);
}

function writeBoolField(out: Buffer, at: number, tag: number, value: unknown): number {
  if (value === null || value === undefined) return at;
  out[at] = tag;
  out[at + 1] = value ? 1 : 0;
  return at + 2;
}

function writeMessageField(out: Buffer, at: number, tag: number, value: unknown, writeFields: (out: Buffer, at: number, message: Message) => number): number {
  if (value === null || value === undefined) return at;
  out[at] = tag;
  return writeFields(out, writeVarint(out, at + 1, sizes[next++]!), value as Message);
}

function entrySize(key: string, value: string): number {
  const keyLength = utf8Length(key);
  const valueLength = utf8Length(value);
  const size = 1 + varintLength(keyLength) + keyLength + 1 + varintLength(valueLength) + valueLength;
  record(size);
  record(keyLength);
  record(valueLength);
  return size;
}

/** Writes a string's length, from the sizes, and its UTF-8 bytes. */
function writeString(out: Buffer, from: number, text: string): number {
  const length = sizes[next++]!;
  let at = writeVarint(out, from, length);
  if (length === text.length) {
    // ASCII: a byte a character, quicker written here than through a call for the few of an id.
    for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
    return at;
  }
  return at + out.write(text, at, length, 'utf8');
}

/** UTF-8 bytes of `text` as Buffer.write writes it (an unpaired surrogate as the 3 bytes of U+FFFD, as the generic codec does). */
function utf8Length(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) length += 1;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 2;
      i++;
    } else length += 2;
  }
  return length;
}

function varintLength(value: number): number {
  let length = 1;
  for (let rest = value; rest >= 128; rest = Math.floor(rest / 128)) length++;
  return length;
}

/** A negative int64 is written as its 64-bit two's complement: ten bytes. */
function int64Length(value: number): number {
  return value < 0 ? 10 : varintLength(value);
}

function writeVarint(out: Buffer, from: number, value: number): number {
  let at = from;
  let rest = value;
  while (rest >= 128) {
    out[at++] = (rest % 128) | 0x80;
    rest = Math.floor(rest / 128);
  }
  out[at++] = rest;
  return at;
}

function writeInt64(out: Buffer, from: number, value: number): number {
  if (value >= 0) return writeVarint(out, from, value);
  // Two's complement in two 32-bit halves, written 7 bits at a time.
  let high = Math.floor(value / 4294967296) >>> 0;
  let low = (value - Math.floor(value / 4294967296) * 4294967296) >>> 0;
  let at = from;
  for (let i = 0; i < 9; i++) {
    out[at++] = (low & 0x7f) | 0x80;
    low = ((low >>> 7) | (high << 25)) >>> 0;
    high >>>= 7;
  }
  out[at++] = low & 0x01;
  return at;
}
