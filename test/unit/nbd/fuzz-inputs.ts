// Seeded generators of NBD client byte streams for the fuzz tests: valid scripts (handshake,
// options, requests) and mutations of them.
import * as P from '../../../src/nbd/protocol.ts';
import { clientFlags, infoData, option, request } from './wire.ts';
import { rng } from '../../helpers/rng.ts';

export { rng };

const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x25, 0x60, 0x95, 0x13];
const INTERESTING32 = [0, 1, 0xffffffff, 0x80000000, 0x7fffffff, 0x10000, 0x2000000, 0x2000001, P.REQUEST_MAGIC, 4096, 65536, 65537];

export function script(r: () => number): Buffer {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!;
  const parts: Buffer[] = [clientFlags(r() < 0.9 ? 3 : Math.floor(r() * 8))];
  const names = ['disk', 'disk', 'disk@2', 'disk@2', 'broken', 'broken', '', 'nope', 'x'.repeat(5000)];
  const nOpts = Math.floor(r() * 5);
  for (let i = 0; i < nOpts; i++) {
    const kind = pick([P.OPT_LIST, P.OPT_INFO, P.OPT_STRUCTURED_REPLY, 9, 10, 11, P.OPT_STARTTLS, 0xffffffff]);
    if (kind === P.OPT_INFO) parts.push(option(kind, infoData(pick(names), Array.from({ length: Math.floor(r() * 4) }, () => Math.floor(r() * 5)))));
    else parts.push(option(kind, r() < 0.8 ? Buffer.alloc(0) : Buffer.alloc(Math.floor(r() * 40), 1)));
  }
  const end = r();
  if (end < 0.1) parts.push(option(P.OPT_ABORT));
  else if (end < 0.3) parts.push(option(P.OPT_EXPORT_NAME, Buffer.from(pick(names))));
  else parts.push(option(P.OPT_GO, infoData(pick(names), [P.INFO_BLOCK_SIZE])));
  const nReq = Math.floor(r() * 12);
  for (let i = 0; i < nReq; i++) {
    const type = pick([P.CMD_READ, P.CMD_READ, P.CMD_READ, P.CMD_WRITE, P.CMD_FLUSH, P.CMD_TRIM, P.CMD_WRITE_ZEROES, P.CMD_DISC, 5, 7, 8, 0xffff]);
    const len = pick([0, 1, 511, 512, 4096, 65536, 1 << 20, 32 << 20, (32 << 20) + 1, Math.floor(r() * 70000)]);
    const off = pick([0, 1, 4095, (1 << 20) - 1, 1 << 20, 1 << 19, 2 ** 40, Math.floor(r() * (1 << 20))]);
    parts.push(request(type, Math.floor(r() * 1e9), off, len, r() < 0.9 ? 0 : Math.floor(r() * 65536)));
    if (type === P.CMD_WRITE && len < 70000) parts.push(Buffer.alloc(len, 0x77));
  }
  return Buffer.concat(parts);
}

export function mutate(b: Buffer, r: () => number): Buffer {
  let out = Buffer.from(b);
  const n = 1 + Math.floor(r() * 3);
  for (let k = 0; k < n; k++) {
    // Half the mutations land in the second half, where the requests are.
    const half = r() < 0.5 ? 0 : Math.floor(out.length / 2);
    const pos = half + Math.floor(r() * Math.max(1, out.length - half));
    switch (Math.floor(r() * 7)) {
      case 0: if (out.length) out[pos] = out[pos]! ^ (1 << Math.floor(r() * 8)); break;
      case 1: if (out.length) out[pos] = INTERESTING[Math.floor(r() * INTERESTING.length)]!; break;
      case 2: if (pos + 4 <= out.length) out.writeUInt32BE(INTERESTING32[Math.floor(r() * INTERESTING32.length)]!, pos); break;
      case 3: out = out.subarray(0, pos); break;
      case 4: out = Buffer.concat([out.subarray(0, pos), out.subarray(pos + 1 + Math.floor(r() * 16))]); break;
      case 5: { const s = Math.floor(r() * out.length); out = Buffer.concat([out.subarray(0, pos), out.subarray(s, s + 32), out.subarray(pos)]); break; }
      default: { const junk = Buffer.alloc(Math.floor(r() * 64)); for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(r() * 256); out = Buffer.concat([out.subarray(0, pos), junk, out.subarray(pos)]); }
    }
  }
  return out;
}


/** One input: 5 % random bytes, 15 % an unmutated script, 80 % a mutated script. */
export function fuzzInput(r: () => number): Buffer {
  const kind = r();
  return kind < 0.05 ? Buffer.from(Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256)))
    : kind < 0.2 ? script(r) : mutate(script(r), r);
}
