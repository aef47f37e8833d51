// Splitting a byte stream into chunks. Fixed: every chunk `size` bytes (the last may be
// shorter): in-place updates keep offsets, random access is a division. Content-defined:
// casync's buzhash chunker bit for bit (src/cachunker.c), so our indexes share chunks with
// `casync make` and a rebuilt squashfs/ISO, whose content shifts, re-ships only what changed.
import { BUZHASH_TABLE } from './buzhash-table.ts';

export type ChunkerSpec = { kind: 'fixed'; size: number } | { kind: 'cdc'; min: number; avg: number; max: number };

export const DEFAULT_FIXED: ChunkerSpec = { kind: 'fixed', size: 256 * 1024 };
export const DEFAULT_CDC: ChunkerSpec = { kind: 'cdc', min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 };

/** "fixed:262144" | "cdc:16384:65536:262144" (image_versions.chunker). */
export function chunkerLabel(s: ChunkerSpec): string {
  return s.kind === 'fixed' ? `fixed:${s.size}` : `cdc:${s.min}:${s.avg}:${s.max}`;
}

/** min, avg, max as the index header records them. */
export function chunkerSizes(s: ChunkerSpec): [number, number, number] {
  return s.kind === 'fixed' ? [s.size, s.size, s.size] : [s.min, s.avg, s.max];
}

export function parseChunker(s: string): ChunkerSpec | undefined {
  if (s === 'fixed') return DEFAULT_FIXED;
  if (s === 'cdc') return DEFAULT_CDC;
  const f = /^fixed:(\d+)$/.exec(s);
  if (f) return { kind: 'fixed', size: Number(f[1]) };
  const c = /^cdc:(\d+):(\d+):(\d+)$/.exec(s);
  if (c) return { kind: 'cdc', min: Number(c[1]), avg: Number(c[2]), max: Number(c[3]) };
  return undefined;
}

const WINDOW = 48;

/** casync's ca_chunker_discriminator_from_avg(). */
export function discriminator(avg: number): number {
  return Math.floor(avg / (-1.42888852e-7 * avg + 1.33237515));
}

const T = BUZHASH_TABLE;
// The hot loop keeps the hash as an int32 (signed view of the same 32 bits): V8 then stays in
// integer registers; Uint32 values above 2^31 would turn every step into float arithmetic.
const T_IN = Int32Array.from(T, (v) => v | 0);
/** T rotated by WINDOW mod 32 = 16: what leaves the window. */
const T_OUT = Int32Array.from(T, (v) => (v << 16) | (v >>> 16));

function rol(v: number, s: number): number {
  s &= 31;
  return s === 0 ? v >>> 0 : ((v << s) | (v >>> (32 - s))) >>> 0;
}

/** The buzhash of buf[from, from + 48). */
export function buzhashStart(buf: Uint8Array, from: number): number {
  let h = 0;
  for (let i = 0; i < WINDOW; i++) h = (h ^ rol(T[buf[from + i]!]!, WINDOW - 1 - i)) >>> 0;
  return h;
}

export interface Chunker {
  /** Adds bytes; `emit` gets each finished chunk as a buffer the caller owns. */
  push(data: Uint8Array, emit: (chunk: Buffer) => void): void;
  /** Emits the last (shorter) chunk, if any. Emitted buffers are views valid only during the call: copy what you keep. */
  finish(emit: (chunk: Buffer) => void): void;
}

export function createChunker(spec: ChunkerSpec): Chunker {
  if (spec.kind === 'fixed') return new FixedChunker(spec.size);
  if (!(spec.min >= WINDOW && spec.min <= spec.avg && spec.avg <= spec.max)) throw new Error(`bad chunk sizes ${chunkerLabel(spec)}`);
  return new BuzhashChunker(spec.min, spec.avg, spec.max);
}

class FixedChunker implements Chunker {
  private cur: Buffer;
  private len = 0;
  constructor(private readonly size: number) {
    this.cur = Buffer.allocUnsafeSlow(size);
  }

  push(data: Uint8Array, emit: (chunk: Buffer) => void): void {
    let pos = 0;
    while (pos < data.length) {
      const n = Math.min(this.size - this.len, data.length - pos);
      this.cur.set(data.subarray(pos, pos + n), this.len);
      this.len += n;
      pos += n;
      if (this.len === this.size) {
        emit(this.cur);
        this.len = 0;
      }
    }
  }

  finish(emit: (chunk: Buffer) => void): void {
    if (this.len > 0) emit(this.cur.subarray(0, this.len));
    this.len = 0;
  }
}

class BuzhashChunker implements Chunker {
  private readonly d: number;
  private cur: Buffer;
  private len = 0;
  /** Next chunk length to test for a boundary. */
  private test: number;
  private h = 0;

  constructor(private readonly min: number, avg: number, private readonly max: number) {
    this.d = Math.min(Math.max(discriminator(avg), min), max);
    this.cur = Buffer.allocUnsafeSlow(max);
    this.test = min;
  }

  push(data: Uint8Array, emit: (chunk: Buffer) => void): void {
    let pos = 0;
    while (pos < data.length) {
      const n = Math.min(this.max - this.len, data.length - pos);
      this.cur.set(data.subarray(pos, pos + n), this.len);
      this.len += n;
      pos += n;
      this.scan(emit);
    }
  }

  /** Finds boundaries in cur[0, len); keeps what follows the last one at the start of cur. */
  private scan(emit: (chunk: Buffer) => void): void {
    const buf = this.cur;
    const min = this.min;
    const max = this.max;
    const d = this.d;
    const want = d - 1;
    // h mod d without fmod (slow in V8): a float quotient, corrected by at most one step.
    const inv = 1 / d;
    const len = this.len;
    let start = 0;
    let test = this.test;
    let h = this.h;
    for (;;) {
      // Chunk starts at `start`; the hash only sees bytes of the current chunk (casync resets its window per chunk).
      let cut = -1;
      if (test - start === min && start + min <= len) {
        h = buzhashStart(buf, start + min - WINDOW) | 0;
        if ((h >>> 0) % d === want || min >= max) cut = start + min;
        else test++;
      }
      if (cut < 0 && test - start > min) {
        const stop = Math.min(len, start + max);
        while (test <= stop) {
          h = ((h << 1) | (h >>> 31)) ^ T_OUT[buf[test - 1 - WINDOW]!]! ^ T_IN[buf[test - 1]!]!;
          const u = h >>> 0;
          let r = u - Math.floor(u * inv) * d;
          if (r < 0) r += d;
          else if (r >= d) r -= d;
          if (r === want || test - start === max) {
            cut = test;
            break;
          }
          test++;
        }
      }
      if (cut < 0) break;
      emit(buf.subarray(start, cut));
      start = cut;
      test = start + min;
    }
    if (start > 0) {
      buf.copyWithin(0, start, len);
      this.len = len - start;
      test -= start;
    }
    this.test = test;
    this.h = h;
  }

  finish(emit: (chunk: Buffer) => void): void {
    if (this.len > 0) emit(this.cur.subarray(0, this.len));
    this.len = 0;
    this.test = this.min;
  }
}
