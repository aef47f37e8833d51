// markCandidates (boundary-scan.ts) as a small WebAssembly function: the same loop without JS's
// bounds checks, i32.rem_u for the modulo (the float-quotient form of the JS loop measured slower
// here in WebAssembly: 503 vs 547 MB/s). The module is assembled here from its bytes (no toolchain, no
// dependency); boundary-scan.ts stays the reference the tests compare it with.
import { BUZHASH_TABLE } from './buzhash-table.ts';
import { WINDOW } from './boundary-scan.ts';

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
};
const section = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
const str = (s: string): number[] => [...leb(s.length), ...Buffer.from(s, 'latin1')];

// Opcodes (WebAssembly core spec, binary format).
const GET = 0x20, SET = 0x21, TEE = 0x22, CONST = 0x41, ADD = 0x6a, SUB = 0x6b, AND = 0x71, OR = 0x72, XOR = 0x73;
const SHL = 0x74, SHR_U = 0x76, ROTL = 0x77, EQ = 0x46, GE_U = 0x4f, LOAD = 0x28, LOAD8_U = 0x2d, STORE = 0x36;
const I64_CONST = 0x42, I64_LE_U = 0x58, I64_SUB = 0x7d, I64_MUL = 0x7e, I64_EXTEND_I32_U = 0xad;
const BLOCK = 0x02, LOOP = 0x03, IF = 0x04, END = 0x0b, BR = 0x0c, BR_IF = 0x0d, VOID = 0x40, I32 = 0x7f, I64 = 0x7e;

const T_IN_AT = 0;
const T_OUT_AT = 1024;
const BITS_AT = 4096;

// Locals: the five i32 parameters, the i64 parameter, then five i32 and one i64 of the body's own.
const BUF = 0, FROM = 1, TO = 2, WANT = 3, BITS = 4, C = 5, H = 6, P = 7, I = 8, ADDR = 9, CM1 = 10;

// scan(buf, from, to, want, bits, c): for p in [from, to], if hash(buf[p-48, p)) mod d == want
// (= d - 1), set bit p of the words at `bits`. The modulo is a divisibility test by multiplication
// (Lemire, Kaser and Kurz, "Faster remainder by direct computation", 2019: for 32-bit n and
// c = ceil(2^64 / d), d divides n iff n * c mod 2^64 <= c - 1), applied to n = h - want when
// h >= want: a 64-bit multiply where i32.rem_u was a division on every byte (measured 1.6x here).
// Read back (T_IN is the buzhash table, T_OUT the same rotated by 48 mod 32 = 16 for the byte leaving):
//   cm1 = c - 1
//   for (i = from - 48; !(i >=u from); i++) h = rotl(h, 1) ^ T_IN[buf[i]]   ; the first window
//   for (p = from; ; p++) {
//     if ((u64(h - want) * c <=u cm1) & (h >=u want)) { addr = bits + (p >>> 5) * 4; mem32[addr] |= 1 << p }
//     if (p == to) break
//     h = rotl(h, 1) ^ T_OUT[buf[p - 48]] ^ T_IN[buf[p]]
//   }
function scanBody(): number[] {
  const code = [
    GET, C, I64_CONST, ...sleb(1), I64_SUB, SET, CM1,
    GET, FROM, CONST, ...sleb(WINDOW), SUB, SET, I,
    BLOCK, VOID, LOOP, VOID,
    GET, I, GET, FROM, GE_U, BR_IF, 1,
    GET, H, CONST, ...sleb(1), ROTL,
    GET, BUF, GET, I, ADD, LOAD8_U, 0, 0,
    CONST, ...sleb(2), SHL, LOAD, 2, ...leb(T_IN_AT),
    XOR, SET, H,
    GET, I, CONST, ...sleb(1), ADD, SET, I,
    BR, 0, END, END,
    GET, FROM, SET, P,
    BLOCK, VOID, LOOP, VOID,
    GET, H, GET, WANT, SUB, I64_EXTEND_I32_U, GET, C, I64_MUL, GET, CM1, I64_LE_U,
    GET, H, GET, WANT, GE_U, AND,
    IF, VOID,
    GET, BITS, GET, P, CONST, ...sleb(5), SHR_U, CONST, ...sleb(2), SHL, ADD, TEE, ADDR,
    GET, ADDR, LOAD, 2, 0,
    CONST, ...sleb(1), GET, P, SHL, OR,
    STORE, 2, 0,
    END,
    GET, P, GET, TO, EQ, BR_IF, 1,
    GET, H, CONST, ...sleb(1), ROTL,
    GET, BUF, GET, P, ADD, CONST, ...sleb(WINDOW), SUB, LOAD8_U, 0, 0,
    CONST, ...sleb(2), SHL, LOAD, 2, ...leb(T_OUT_AT),
    XOR,
    GET, BUF, GET, P, ADD, LOAD8_U, 0, 0,
    CONST, ...sleb(2), SHL, LOAD, 2, ...leb(T_IN_AT),
    XOR, SET, H,
    GET, P, CONST, ...sleb(1), ADD, SET, P,
    BR, 0, END, END,
    END,
  ];
  const body = [2, 4, I32, 1, I64, ...code];
  return [...leb(body.length), ...body];
}

function moduleBytes(): Uint8Array {
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 6, I32, I32, I32, I32, I32, I64, 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0, ...leb(48)]),
    ...section(7, [2, ...str('scan'), 0, 0, ...str('mem'), 2, 0]),
    ...section(10, [1, ...scanBody()]),
  ]);
}

// The few WebAssembly names used here (the project's TypeScript libs declare no WebAssembly).
interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Scanner {
  scan: (buf: number, from: number, to: number, want: number, bits: number, c: bigint) => void;
  mem: WasmMemory;
}
let scanner: Scanner | undefined;

function instance(): Scanner {
  if (scanner) return scanner;
  const inst = new wasm.Instance(new wasm.Module(moduleBytes()));
  const s = inst.exports as unknown as Scanner;
  const words = new Int32Array(s.mem.buffer);
  for (let i = 0; i < 256; i++) {
    words[(T_IN_AT >> 2) + i] = BUZHASH_TABLE[i]! | 0;
    const v = BUZHASH_TABLE[i]!;
    words[(T_OUT_AT >> 2) + i] = (v << 16) | (v >>> 16);
  }
  scanner = s;
  return s;
}

/** ceil(2^64 / d) as the signed i64 WebAssembly takes (0 for d = 1: every n * 0 <= 2^64 - 1). */
function divisibilityMagic(d: number): bigint {
  if (!Number.isInteger(d) || d < 1 || d >= 2 ** 32) throw new RangeError(`discriminator ${d} out of range`);
  return BigInt.asIntN(64, (2n ** 64n - 1n) / BigInt(d) + 1n);
}

/** markCandidates, in WebAssembly: same arguments, same bits. */
export function markCandidatesWasm(buf: Uint8Array, from: number, to: number, d: number, bits: Uint32Array): void {
  if (from < WINDOW) throw new RangeError(`candidate scan from ${from}: needs ${WINDOW} bytes before it`);
  if (to > buf.length) throw new RangeError(`candidate scan to ${to} beyond ${buf.length} bytes`);
  if (to < from) return;
  const s = instance();
  const w0 = from >>> 5;
  const nWords = (to >>> 5) - w0 + 1;
  const dataAt = BITS_AT + nWords * 4;
  const first = from - WINDOW;
  const need = dataAt + (to - first);
  if (need > s.mem.buffer.byteLength) s.mem.grow(Math.ceil((need - s.mem.buffer.byteLength) / 65536));
  const heap = new Uint8Array(s.mem.buffer);
  heap.fill(0, BITS_AT, dataAt);
  heap.set(buf.subarray(first, to), dataAt);
  // Addresses as the function computes them: buf + p for byte p, bits + 4 * (p >>> 5) for its word (i32 arithmetic wraps).
  s.scan((dataAt - first) | 0, from, to, d - 1, (BITS_AT - w0 * 4) | 0, divisibilityMagic(d));
  bits.set(new Uint32Array(s.mem.buffer, BITS_AT, nWords), w0);
}
