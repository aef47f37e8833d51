// Typed readers for the options a request carries. Each checks the length its RFC fixes and
// returns undefined for a malformed value, so one bad option never takes the packet's other
// facts down with it. Writers for the reply side are at the bottom.
import { Opt } from './constants.ts';
import type { DhcpPacket } from './packet.ts';

type Options = DhcpPacket['options'];

export function readU8(o: Options, code: number): number | undefined {
  const v = o.get(code);
  return v && v.length === 1 ? v[0] : undefined;
}

export function readIp(o: Options, code: number): number | undefined {
  const v = o.get(code);
  return v && v.length === 4 ? v.readUInt32BE(0) : undefined;
}

export function readU32(o: Options, code: number): number | undefined {
  return readIp(o, code);
}

/** Option 57; RFC 2132 §9.10: at least 576. Smaller values are ignored. */
export function readMaxMessageSize(o: Options): number | undefined {
  const v = o.get(Opt.MaxMessageSize);
  if (!v || v.length !== 2) return undefined;
  const n = v.readUInt16BE(0);
  return n >= 576 ? n : undefined;
}

/** Printable text of an option (60, 12, 66, 67): control bytes and trailing NULs dropped. */
export function readText(o: Options, code: number): string | undefined {
  const v = o.get(code);
  if (!v || v.length === 0) return undefined;
  // Some firmware NUL-terminates strings (RFC 2132 says not to); tolerate it.
  return v.toString('latin1').replace(/\0+$/, '').replace(/[\x00-\x1f\x7f]/g, '?');
}

/** Option 55: the codes the client asks for, deduplicated (an absurd list is just a set of ≤254 codes). */
export function readParamList(o: Options): Set<number> {
  const v = o.get(Opt.ParamRequestList);
  return new Set(v ? Array.from(v) : []);
}

/** Option 93: RFC 4578 allows a list of 16-bit types; the first is the one clients act on. */
export function readClientArch(o: Options): number | undefined {
  const v = o.get(Opt.ClientArch);
  if (!v || v.length < 2 || v.length % 2 !== 0) return undefined;
  return v.readUInt16BE(0);
}

/** Option 94 (RFC 4578 §2.2): interface type 1 (UNDI) and its version, e.g. "1.3.10". */
export function readClientNdi(o: Options): string | undefined {
  const v = o.get(Opt.ClientNdi);
  if (!v || v.length !== 3) return undefined;
  return `${v[0]}.${v[1]}.${v[2]}`;
}

/**
 * Option 77 user class. RFC 3004 encodes each class with a length byte; iPXE and many older
 * clients send the raw text ("iPXE"). If the bytes parse exactly as RFC 3004 entries, that
 * reading wins; otherwise the whole value is one class.
 */
export function readUserClasses(o: Options): string[] {
  const v = o.get(Opt.UserClass);
  if (!v || v.length === 0) return [];
  const rfc: string[] = [];
  let i = 0;
  while (i < v.length) {
    const len = v[i]!;
    if (len === 0 || i + 1 + len > v.length) break;
    rfc.push(v.subarray(i + 1, i + 1 + len).toString('latin1'));
    i += 1 + len;
  }
  // "iPXE" raw starts with 'i' = 105, which would claim 105 bytes: it never parses as RFC 3004.
  if (i === v.length && rfc.length > 0) return rfc;
  return [v.toString('latin1')];
}

/** Option 97: type 0 followed by 16 bytes (RFC 4578 §2.3). Returned as the SMBIOS text form. */
export function readClientUuid(o: Options): string | undefined {
  const v = o.get(Opt.ClientUuid);
  if (!v || v.length !== 17 || v[0] !== 0) return undefined;
  // PXE sends the first three fields little-endian (SMBIOS order); print them as dmidecode does.
  // From a table, not Buffer.toString per field: every PXE packet carries it, and five small
  // buffers per packet cost ~3.7 µs (bench/dhcp/cpu.ts --cpu-prof, BENCH_DHCP_CLIENTS=pxe).
  return `${h(v, 4)}${h(v, 3)}${h(v, 2)}${h(v, 1)}-${h(v, 6)}${h(v, 5)}-${h(v, 8)}${h(v, 7)}-${h(v, 9)}${h(v, 10)}-${h(v, 11)}${h(v, 12)}${h(v, 13)}${h(v, 14)}${h(v, 15)}${h(v, 16)}`;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
// Not a closure over v: a function made per packet costs its allocation (and under tsx a name).
const h = (v: Buffer, i: number): string => HEX[v[i]!]!;

/** Sub-options of an encapsulated option (82, 175, 43): code, length, value, strictly. */
export function readSubOptions(v: Buffer | undefined): Map<number, Buffer> | undefined {
  if (!v) return undefined;
  const out = new Map<number, Buffer>();
  let i = 0;
  while (i < v.length) {
    const code = v[i]!;
    if (code === 0) { i++; continue; }
    if (code === 255) break;
    if (i + 1 >= v.length) return undefined;
    const len = v[i + 1]!;
    if (i + 2 + len > v.length) return undefined;
    out.set(code, v.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  return out;
}

export interface RelayInfo {
  /** The whole option as received, echoed back unchanged (RFC 3046 §2.2). */
  raw: Buffer;
  circuitId?: string | undefined;  // sub-option 1, hex
  remoteId?: string | undefined;   // sub-option 2, hex
}

export function readRelayInfo(o: Options): RelayInfo | undefined {
  const raw = o.get(Opt.RelayAgentInfo);
  if (!raw) return undefined;
  const subs = readSubOptions(raw);
  return { raw, circuitId: subs?.get(1)?.toString('hex'), remoteId: subs?.get(2)?.toString('hex') };
}

// --- writers ---

export function ipBytes(...ips: number[]): Buffer {
  const b = Buffer.alloc(4 * ips.length);
  ips.forEach((ip, i) => b.writeUInt32BE(ip >>> 0, i * 4));
  return b;
}

export function u32Bytes(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(Math.max(0, Math.min(0xffffffff, Math.floor(n))) >>> 0);
  return b;
}

export function subOptionBytes(subs: Array<[number, Buffer]>): Buffer {
  return Buffer.concat(subs.map(([c, v]) => Buffer.concat([Buffer.from([c, v.length]), v])));
}
