// Where a content-defined chunk *may* end, found apart from where chunks start, so the scan can
// run in parallel over segments of the stream. casync's chunker (src/cachunker.c) cuts a chunk
// at length L >= min when the buzhash of the 48 bytes before L is ≡ d−1 (mod d), or at max.
// Its window restarts per chunk, but min >= 48, so the hash it tests at position p is always the
// hash of bytes [p−48, p): a property of p alone. A segment needs 47 bytes before it, no more.
import { BUZHASH_TABLE } from './buzhash-table.ts';

export const WINDOW = 48;

const T = BUZHASH_TABLE;
// int32 views of the table (V8 keeps the rolling hash in integer registers; uint32 above 2^31 would be floats).
export const T_IN = Int32Array.from(T, (v) => v | 0);
/** T rotated by WINDOW mod 32 = 16: what leaves the window. */
const T_OUT = Int32Array.from(T, (v) => (v << 16) | (v >>> 16));

/**
 * Sets bit p of `bits` (bit p & 31 of word p >>> 5) for every p in [from, to] where the hash of
 * buf[p − 48, p) is ≡ d − 1 (mod d), and clears the other bits of those positions. from >= 48.
 */
export function markCandidates(buf: Uint8Array, from: number, to: number, d: number, bits: Uint32Array): void {
  if (from < WINDOW) throw new RangeError(`candidate scan from ${from}: needs ${WINDOW} bytes before it`);
  if (to > buf.length) throw new RangeError(`candidate scan to ${to} beyond ${buf.length} bytes`);
  if (to < from) return;
  // Clear whole words; the bits below `from` in the first word belong to no one else (one block per bitmap).
  bits.fill(0, from >>> 5, (to >>> 5) + 1);
  const want = d - 1;
  // h mod d without fmod (slow in V8): a float quotient, corrected by at most one step.
  const inv = 1 / d;
  let h = 0;
  for (let i = from - WINDOW; i < from; i++) h = ((h << 1) | (h >>> 31)) ^ T_IN[buf[i]!]!;
  for (let p = from; ; ) {
    const u = h >>> 0;
    let r = u - Math.floor(u * inv) * d;
    if (r < 0) r += d;
    else if (r >= d) r -= d;
    if (r === want) bits[p >>> 5]! |= 1 << (p & 31);
    if (p === to) break;
    h = ((h << 1) | (h >>> 31)) ^ T_OUT[buf[p - WINDOW]!]! ^ T_IN[buf[p]!]!;
    p++;
  }
}

/** The first set bit in [from, to], or −1. */
export function firstCandidate(bits: Uint32Array, from: number, to: number): number {
  if (to < from) return -1;
  let w = from >>> 5;
  const last = to >>> 5;
  let word = bits[w]! & (~0 << (from & 31));
  for (;;) {
    if (word !== 0) {
      const p = (w << 5) + (31 - Math.clz32(word & -word));
      return p <= to ? p : -1;
    }
    if (++w > last) return -1;
    word = bits[w]!;
  }
}
