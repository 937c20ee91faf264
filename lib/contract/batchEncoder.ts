import { flowService, packageDefinition, type Upstream } from './loadContract.js';

/**
 * The Upstream frame of a Batch, encoded to exactly the bytes the contract's generic codec
 * (proto-loader over protobufjs) writes, in a fraction of its time: the events' sizes are
 * computed in one pass and the frame written in a second, straight into one buffer, where the
 * generic codec converts every event, queues an operation per field and copies each event's
 * bytes once more. Encoding is the largest single cost of a hop that passes events on. The
 * fields and their types are read from the contract's own descriptor; a value of a type this
 * does not write (a Long, say) sends the frame through the generic codec instead. One difference,
 * in what is not UTF-8 at all: an unpaired surrogate is written as U+FFFD (as Buffer writes it),
 * where the generic codec writes it so in a string of 40 characters or more and as the
 * surrogate's own three bytes (which decode as three U+FFFD) in a shorter one.
 */

const serialize = flowService.Exchange.requestSerialize as (frame: Upstream) => Buffer;

type FieldKind = 'string' | 'int64' | 'bool' | 'message';
interface Field { name: string; tag: number; kind: FieldKind; nested?: Field[] }

interface Descriptor { type: { field: { name: string; number: number; type: string; typeName: string; label: string }[] } }

function fieldsOf(messageName: string): Field[] {
  const definition = packageDefinition[messageName] as unknown as Descriptor | undefined;
  if (!definition) throw new Error(`the contract has no message ${messageName}`);
  const packageName = messageName.slice(0, messageName.lastIndexOf('.'));
  return [...definition.type.field].sort((a, b) => a.number - b.number).map((field) => {
    const kind = (({ TYPE_STRING: 'string', TYPE_INT64: 'int64', TYPE_BOOL: 'bool', TYPE_MESSAGE: 'message' }) as Record<string, FieldKind | undefined>)[field.type];
    if (!kind || field.label === 'LABEL_REPEATED' || field.number > 15) throw new Error(`${messageName}.${field.name} is of a kind the batch encoder does not write`);
    const wireType = kind === 'string' || kind === 'message' ? 2 : 0;
    const nested = kind === 'message' ? fieldsOf(field.typeName.startsWith('.') ? field.typeName.slice(1) : `${packageName}.${field.typeName}`) : undefined;
    return { name: field.name, tag: (field.number << 3) | wireType, kind, nested };
  });
}

const eventFields = fieldsOf('mesh.events.v1.Event');
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
    const size = messageSize(event as Record<string, unknown>, eventFields);
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
    at = writeMessage(out, at, event as Record<string, unknown>, eventFields);
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

/** A message's size (its fields, not its own tag and length), recording what the writing pass needs; its own size is recorded first. */
function messageSize(message: Record<string, unknown>, fields: readonly Field[]): number {
  const slot = record(0);
  let size = 0;
  for (const field of fields) {
    const value = message[field.name];
    if (value === null || value === undefined) continue;
    size += 1;
    switch (field.kind) {
      case 'string': {
        if (typeof value !== 'string') throw new Unwritable();
        const length = utf8Length(value);
        record(length);
        size += varintLength(length) + length;
        break;
      }
      case 'int64':
        if (!Number.isSafeInteger(value)) throw new Unwritable();
        size += int64Length(value as number);
        break;
      case 'bool':
        if (typeof value !== 'boolean') throw new Unwritable();
        size += 1;
        break;
      case 'message': {
        if (typeof value !== 'object') throw new Unwritable();
        const nested = messageSize(value as Record<string, unknown>, field.nested!);
        size += varintLength(nested) + nested;
        break;
      }
    }
  }
  sizes[slot] = size;
  return size;
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

/** Writes a message's length and fields, as messageSize measured them. */
function writeMessage(out: Buffer, from: number, message: Record<string, unknown>, fields: readonly Field[]): number {
  let at = writeVarint(out, from, sizes[next++]!);
  for (const field of fields) {
    const value = message[field.name];
    if (value === null || value === undefined) continue;
    out[at++] = field.tag;
    switch (field.kind) {
      case 'string': at = writeString(out, at, value as string); break;
      case 'int64': at = writeInt64(out, at, value as number); break;
      case 'bool': out[at++] = value ? 1 : 0; break;
      case 'message': at = writeMessage(out, at, value as Record<string, unknown>, field.nested!); break;
    }
  }
  return at;
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
