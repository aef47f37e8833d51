// Encoders for everything the server sends: handshake greeting, option replies, and
// transmission replies (simple and structured). All integers are big-endian (network order).
import {
  BLOCK_MAX, BLOCK_MIN, BLOCK_PREFERRED, FLAG_FIXED_NEWSTYLE, FLAG_NO_ZEROES, IHAVEOPT,
  INFO_BLOCK_SIZE, INFO_DESCRIPTION, INFO_EXPORT, INFO_NAME, NBDMAGIC, OPT_REPLY_MAGIC,
  REPLY_FLAG_DONE, REPLY_TYPE_ERROR, REPLY_TYPE_NONE, REPLY_TYPE_OFFSET_DATA, REP_INFO, REP_SERVER,
  SIMPLE_REPLY_MAGIC, STRUCTURED_REPLY_MAGIC, TRANSMISSION_FLAGS,
} from './protocol.ts';

export function greeting(): Buffer {
  const b = Buffer.alloc(18);
  b.writeBigUInt64BE(NBDMAGIC, 0);
  b.writeBigUInt64BE(IHAVEOPT, 8);
  b.writeUInt16BE(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, 16);
  return b;
}

export function optionReply(option: number, type: number, data: Buffer = EMPTY): Buffer[] {
  const h = Buffer.alloc(20);
  h.writeBigUInt64BE(OPT_REPLY_MAGIC, 0);
  h.writeUInt32BE(option >>> 0, 8);
  h.writeUInt32BE(type >>> 0, 12);
  h.writeUInt32BE(data.length, 16);
  return data.length ? [h, data] : [h];
}

/** Error option replies carry a message for humans (nbdinfo prints it). */
export function optionError(option: number, type: number, message: string): Buffer[] {
  return optionReply(option, type, Buffer.from(truncate(message), 'utf8'));
}

export function serverEntry(option: number, name: string, description?: string): Buffer[] {
  const n = Buffer.from(name, 'utf8');
  const d = Buffer.from(description ? truncate(description) : '', 'utf8');
  const data = Buffer.alloc(4 + n.length + d.length);
  data.writeUInt32BE(n.length, 0);
  n.copy(data, 4);
  d.copy(data, 4 + n.length);
  return optionReply(option, REP_SERVER, data);
}

export function infoExport(option: number, size: number): Buffer[] {
  const d = Buffer.alloc(12);
  d.writeUInt16BE(INFO_EXPORT, 0);
  d.writeBigUInt64BE(BigInt(size), 2);
  d.writeUInt16BE(TRANSMISSION_FLAGS, 10);
  return optionReply(option, REP_INFO, d);
}

export function infoBlockSize(option: number): Buffer[] {
  const d = Buffer.alloc(14);
  d.writeUInt16BE(INFO_BLOCK_SIZE, 0);
  d.writeUInt32BE(BLOCK_MIN, 2);
  d.writeUInt32BE(BLOCK_PREFERRED, 6);
  d.writeUInt32BE(BLOCK_MAX, 10);
  return optionReply(option, REP_INFO, d);
}

export function infoString(option: number, which: typeof INFO_NAME | typeof INFO_DESCRIPTION, text: string): Buffer[] {
  const s = Buffer.from(truncate(text), 'utf8');
  const d = Buffer.alloc(2 + s.length);
  d.writeUInt16BE(which, 0);
  s.copy(d, 2);
  return optionReply(option, REP_INFO, d);
}

/** Reply to NBD_OPT_EXPORT_NAME: size, transmission flags, and 124 zeros unless NO_ZEROES was agreed. */
export function exportNameReply(size: number, noZeroes: boolean): Buffer {
  const b = Buffer.alloc(noZeroes ? 10 : 134);
  b.writeBigUInt64BE(BigInt(size), 0);
  b.writeUInt16BE(TRANSMISSION_FLAGS, 8);
  return b;
}

export function simpleReply(handle: Buffer, error: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
  b.writeUInt32BE(error, 4);
  handle.copy(b, 8, 0, 8);
  return b;
}

function chunkHeader(b: Buffer, flags: number, type: number, handle: Buffer, length: number): void {
  b.writeUInt32BE(STRUCTURED_REPLY_MAGIC, 0);
  b.writeUInt16BE(flags, 4);
  b.writeUInt16BE(type, 6);
  handle.copy(b, 8, 0, 8);
  b.writeUInt32BE(length, 16);
}

/** Header of a final OFFSET_DATA chunk (the data follows it on the wire). */
export function offsetDataHeader(handle: Buffer, offset: number, dataLength: number): Buffer {
  const b = Buffer.alloc(28);
  chunkHeader(b, REPLY_FLAG_DONE, REPLY_TYPE_OFFSET_DATA, handle, 8 + dataLength);
  b.writeBigUInt64BE(BigInt(offset), 20);
  return b;
}

export function structuredDone(handle: Buffer): Buffer {
  const b = Buffer.alloc(20);
  chunkHeader(b, REPLY_FLAG_DONE, REPLY_TYPE_NONE, handle, 0);
  return b;
}

export function structuredError(handle: Buffer, error: number, message: string): Buffer {
  const m = Buffer.from(truncate(message), 'utf8');
  const b = Buffer.alloc(26 + m.length);
  chunkHeader(b, REPLY_FLAG_DONE, REPLY_TYPE_ERROR, handle, 6 + m.length);
  b.writeUInt32BE(error, 20);
  b.writeUInt16BE(m.length, 24);
  m.copy(b, 26);
  return b;
}

const EMPTY = Buffer.alloc(0);

/** Messages are strings: at most 4096 bytes by the spec; ours stay far shorter. */
function truncate(s: string): string {
  return s.length > 1024 ? s.slice(0, 1024) : s;
}
