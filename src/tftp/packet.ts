// TFTP packet codec. Parsing is strict (every string NUL-terminated, names non-empty, bounded
// option lists) and never throws: malformed input becomes a value the server answers or drops.
// The hot path (ACKs during a transfer) does not come through here: see transfer.ts.
import {
  MAX_FILENAME, MAX_OPTIONS, MAX_REQUEST_BYTES, OP_ACK, OP_DATA, OP_ERROR, OP_OACK, OP_RRQ, OP_WRQ,
} from './constants.ts';

export interface RequestPacket {
  op: 'rrq' | 'wrq';
  filename: string;
  /** Lower-cased: "octet", "netascii", "mail", … */
  mode: string;
  /** Options in the order sent; names as the client spelled them (echoed back in the OACK). */
  options: { name: string; value: string }[];
}

export type Packet =
  | RequestPacket
  | { op: 'data'; block: number; data: Buffer }
  | { op: 'ack'; block: number }
  | { op: 'error'; code: number; message: string }
  | { op: 'oack'; options: { name: string; value: string }[] }
  | { op: 'invalid'; reason: string };

function invalid(reason: string): Packet {
  return { op: 'invalid', reason };
}

/**
 * Splits NUL-terminated strings starting at `from`. Returns undefined when the last string is
 * not terminated, a string is not printable ASCII, or there are more than `max` strings.
 */
function splitStrings(buf: Buffer, from: number, max: number): string[] | string {
  const out: string[] = [];
  let start = from;
  for (let i = from; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === 0) {
      if (out.length >= max) return 'too many fields';
      out.push(buf.toString('latin1', start, i));
      start = i + 1;
    } else if (c < 0x20 || c > 0x7e) {
      return 'non-printable byte in a string field';
    }
  }
  if (start !== buf.length) return 'string field without terminating NUL';
  return out;
}

export function parsePacket(buf: Buffer): Packet {
  if (buf.length < 2) return invalid('shorter than an opcode');
  const op = buf.readUInt16BE(0);
  switch (op) {
    case OP_RRQ:
    case OP_WRQ: {
      if (buf.length > MAX_REQUEST_BYTES) return invalid('request longer than any client sends');
      const fields = splitStrings(buf, 2, 2 + MAX_OPTIONS * 2 + 1);
      if (typeof fields === 'string') return invalid(fields);
      if (fields.length < 2) return invalid('request without filename and mode');
      const [filename, mode] = fields as [string, string];
      if (filename.length === 0) return invalid('empty filename');
      if (filename.length > MAX_FILENAME) return invalid('filename too long');
      if (mode.length === 0) return invalid('empty mode');
      const rest = fields.slice(2);
      if (rest.length % 2 !== 0) return invalid('option without a value');
      if (rest.length / 2 > MAX_OPTIONS) return invalid('too many options');
      const options: { name: string; value: string }[] = [];
      for (let i = 0; i < rest.length; i += 2) {
        const name = rest[i]!;
        if (name.length === 0) return invalid('empty option name');
        options.push({ name, value: rest[i + 1]! });
      }
      return { op: op === OP_RRQ ? 'rrq' : 'wrq', filename, mode: mode.toLowerCase(), options };
    }
    case OP_DATA:
      if (buf.length < 4) return invalid('short DATA');
      return { op: 'data', block: buf.readUInt16BE(2), data: buf.subarray(4) };
    case OP_ACK:
      // Some clients pad ACKs; the block number is all that counts.
      if (buf.length < 4) return invalid('short ACK');
      return { op: 'ack', block: buf.readUInt16BE(2) };
    case OP_ERROR: {
      if (buf.length < 4) return invalid('short ERROR');
      // Messages from real clients are sometimes unterminated or non-ASCII; keep what is readable.
      let end = buf.indexOf(0, 4);
      if (end < 0) end = buf.length;
      const message = buf.toString('latin1', 4, Math.min(end, 4 + 200)).replace(/[^\x20-\x7e]/g, '?');
      return { op: 'error', code: buf.readUInt16BE(2), message };
    }
    case OP_OACK: {
      const fields = splitStrings(buf, 2, MAX_OPTIONS * 2);
      if (typeof fields === 'string') return invalid(fields);
      if (fields.length % 2 !== 0) return invalid('option without a value');
      const options: { name: string; value: string }[] = [];
      for (let i = 0; i < fields.length; i += 2) options.push({ name: fields[i]!, value: fields[i + 1]! });
      return { op: 'oack', options };
    }
    default:
      return invalid(`unknown opcode ${op}`);
  }
}

export function encodeError(code: number, message: string): Buffer {
  // Messages are ours and ASCII; cap them so an error stays one small packet.
  const text = message.slice(0, 120);
  const buf = Buffer.alloc(5 + text.length);
  buf.writeUInt16BE(OP_ERROR, 0);
  buf.writeUInt16BE(code, 2);
  buf.write(text, 4, 'latin1');
  return buf;
}

export function encodeOack(options: { name: string; value: string }[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0, OP_OACK])];
  for (const o of options) parts.push(Buffer.from(`${o.name}\0${o.value}\0`, 'latin1'));
  return Buffer.concat(parts);
}

export function encodeAck(block: number): Buffer {
  const buf = Buffer.alloc(4);
  buf.writeUInt16BE(OP_ACK, 0);
  buf.writeUInt16BE(block & 0xffff, 2);
  return buf;
}

export function encodeRequest(op: 'rrq' | 'wrq', filename: string, mode: string, options: { name: string; value: string }[] = []): Buffer {
  const parts: Buffer[] = [Buffer.from([0, op === 'rrq' ? OP_RRQ : OP_WRQ]), Buffer.from(`${filename}\0${mode}\0`, 'latin1')];
  for (const o of options) parts.push(Buffer.from(`${o.name}\0${o.value}\0`, 'latin1'));
  return Buffer.concat(parts);
}

export function encodeData(block: number, data: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(4 + data.length);
  buf.writeUInt16BE(OP_DATA, 0);
  buf.writeUInt16BE(block & 0xffff, 2);
  data.copy(buf, 4);
  return buf;
}
