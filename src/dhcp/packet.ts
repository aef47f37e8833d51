// The BOOTP/DHCP wire format, RFC 2131 §2 and RFC 2132. Decoding is strict: a packet whose
// lengths do not add up is rejected with a reason, never half-read. Encoding writes exactly
// what the reply object says, within the size the client can take.
import {
  BOOTREQUEST, HEADER_LEN, MAGIC_COOKIE, MIN_MAX_MESSAGE, MIN_PACKET_LEN, Opt,
} from './constants.ts';

export interface DhcpPacket {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  /** 16 bytes as on the wire; the hardware address is the first hlen of them. */
  chaddr: Buffer;
  sname: Buffer;
  file: Buffer;
  /** Option code → value. Repeated codes are concatenated (RFC 3396). */
  options: Map<number, Buffer>;
}

export type DecodeResult = { ok: true; packet: DhcpPacket } | { ok: false; reason: string };

function fail(reason: string): DecodeResult {
  return { ok: false, reason };
}

/** Parses one options area into `into`; returns an error text or undefined. */
function readOptions(buf: Buffer, start: number, end: number, into: Map<number, Buffer>): string | undefined {
  let i = start;
  while (i < end) {
    const code = buf[i]!;
    if (code === Opt.Pad) { i++; continue; }
    if (code === Opt.End) return undefined;
    if (i + 1 >= end) return `option ${code} has no length byte`;
    const len = buf[i + 1]!;
    if (i + 2 + len > end) return `option ${code} length ${len} overruns the packet`;
    const value = buf.subarray(i + 2, i + 2 + len);
    const prev = into.get(code);
    // RFC 3396: a long option may be split; the parts are joined in order.
    into.set(code, prev ? Buffer.concat([prev, value]) : value);
    i += 2 + len;
  }
  // Some ROMs end the options exactly at the packet end without an End option; accept that.
  return undefined;
}

export function decodePacket(buf: Buffer): DecodeResult {
  if (buf.length < MIN_PACKET_LEN) return fail(`too short (${buf.length} bytes)`);
  // RFC 2131 does not bound it, but a UDP datagram on Ethernet without jumbo frames is at most 1472
  // bytes of payload; anything far above is not a client, and we never copy it.
  if (buf.length > 65507) return fail('too long');
  const op = buf[0]!;
  if (op !== BOOTREQUEST) return fail(`op ${op} is not BOOTREQUEST`);
  const htype = buf[1]!;
  const hlen = buf[2]!;
  if (hlen > 16) return fail(`hlen ${hlen} > 16`);
  if (buf.readUInt32BE(HEADER_LEN) !== MAGIC_COOKIE) return fail('wrong magic cookie');
  const options = new Map<number, Buffer>();
  const err = readOptions(buf, MIN_PACKET_LEN, buf.length, options);
  if (err) return fail(err);
  const sname = buf.subarray(44, 108);
  const file = buf.subarray(108, 236);
  const overload = options.get(Opt.Overload);
  if (overload) {
    if (overload.length !== 1 || overload[0]! < 1 || overload[0]! > 3) return fail('bad option 52');
    // RFC 2132 §9.3: file first, then sname.
    if (overload[0]! & 1) { const e = readOptions(file, 0, file.length, options); if (e) return fail(`in file: ${e}`); }
    if (overload[0]! & 2) { const e = readOptions(sname, 0, sname.length, options); if (e) return fail(`in sname: ${e}`); }
  }
  return {
    ok: true,
    packet: {
      op, htype, hlen, hops: buf[3]!,
      xid: buf.readUInt32BE(4),
      secs: buf.readUInt16BE(8),
      flags: buf.readUInt16BE(10),
      ciaddr: buf.readUInt32BE(12),
      yiaddr: buf.readUInt32BE(16),
      siaddr: buf.readUInt32BE(20),
      giaddr: buf.readUInt32BE(24),
      chaddr: buf.subarray(28, 44),
      sname: overload && overload[0]! & 2 ? Buffer.alloc(64) : sname,
      file: overload && overload[0]! & 1 ? Buffer.alloc(128) : file,
      options,
    },
  };
}

export interface EncodeFields {
  op: number;
  htype: number;
  hlen: number;
  hops?: number;
  xid: number;
  secs?: number;
  flags: number;
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  chaddr: Buffer;
  sname?: string;
  file?: string;
  /** In wire order. Option 82, when present, must be last (RFC 3046 §2.1). */
  options: Array<[number, Buffer]>;
}

/**
 * Writes a packet no larger than `maxSize` (the client's option 57, at least 576 minus IP/UDP
 * headers). Options that do not fit are left out from the end, except 82 which stays last.
 * Returns undefined when not even the essential options fit.
 */
export function encodePacket(p: EncodeFields, maxSize = MIN_MAX_MESSAGE - 28): Buffer | undefined {
  const limit = Math.max(maxSize, MIN_MAX_MESSAGE - 28);
  const opts = p.options;
  let size = MIN_PACKET_LEN + 1; // + End
  let relay: Buffer | undefined;
  for (const [c, v] of opts) if (c === Opt.RelayAgentInfo && !relay) relay = v;
  const relayLen = relay ? optionWireLength(relay) : 0;
  // First pass decides which options fit; the second writes them straight into the packet
  // (one allocation per reply: this runs for every OFFER and ACK of a boot storm). Usually all
  // fit, and no list of which is needed.
  let all = size + relayLen;
  for (let k = 0; k < opts.length; k++) if (opts[k]![0] !== Opt.RelayAgentInfo) all += optionWireLength(opts[k]![1]);
  let keep: boolean[] | undefined;
  if (all <= limit) {
    size = all;
  } else {
    keep = [];
    for (const [code, value] of opts) {
      if (code === Opt.RelayAgentInfo) { keep.push(false); continue; }
      const n = optionWireLength(value);
      if (size + n + relayLen > limit) {
        // Message type and server id are not optional; without them the reply is useless.
        if (code === Opt.MessageType || code === Opt.ServerId) return undefined;
        keep.push(false);
        continue;
      }
      keep.push(true);
      size += n;
    }
    size += relayLen;
  }
  // BOOTP relays and old clients expect ≥ 300 bytes. From Node's shared pool, zeroed here:
  // Buffer.alloc gives each reply an ArrayBuffer of its own, for the GC to track and free.
  const out = Buffer.allocUnsafe(Math.max(size, 300)).fill(0);
  out[0] = p.op; out[1] = p.htype; out[2] = p.hlen; out[3] = p.hops ?? 0;
  out.writeUInt32BE(p.xid >>> 0, 4);
  out.writeUInt16BE(p.secs ?? 0, 8);
  out.writeUInt16BE(p.flags & 0xffff, 10);
  out.writeUInt32BE(p.ciaddr >>> 0, 12);
  out.writeUInt32BE(p.yiaddr >>> 0, 16);
  out.writeUInt32BE(p.siaddr >>> 0, 20);
  out.writeUInt32BE(p.giaddr >>> 0, 24);
  p.chaddr.copy(out, 28, 0, Math.min(16, p.chaddr.length));
  if (p.sname) out.write(p.sname.slice(0, 63), 44, 'latin1');
  if (p.file) out.write(p.file.slice(0, 127), 108, 'latin1');
  out.writeUInt32BE(MAGIC_COOKIE, HEADER_LEN);
  let at = MIN_PACKET_LEN;
  for (let k = 0; k < opts.length; k++) {
    const code = opts[k]![0];
    if (keep ? keep[k] : code !== Opt.RelayAgentInfo) at = writeOption(out, at, code, opts[k]![1]);
  }
  if (relay) at = writeOption(out, at, Opt.RelayAgentInfo, relay);
  out[at] = Opt.End;
  return out;
}

/** Long values are split into 255-byte parts (RFC 3396). */
function optionWireLength(v: Buffer): number {
  const parts = Math.max(1, Math.ceil(v.length / 255));
  return v.length + 2 * parts;
}

/** Writes one option (split per RFC 3396 when long) at `at`; returns the offset after it. */
function writeOption(out: Buffer, at: number, code: number, v: Buffer): number {
  let i = 0;
  do {
    const len = Math.min(255, v.length - i);
    out[at] = code; out[at + 1] = len;
    v.copy(out, at + 2, i, i + len);
    at += 2 + len;
    i += 255;
  } while (i < v.length);
  return at;
}
