// Where a transfer's bytes come from. The per-packet path copies from memory it already has:
// either a whole file held in memory (generated files, netascii, small hot files such as the
// iPXE binaries) or a few large pieces of a big file read ahead of the sender.
import fs from 'node:fs';

export interface BlockSource {
  readonly size: number;
  /**
   * Copies `len` bytes at `pos` into `dst` at `dstOff` and returns true, or returns false when
   * that piece is not in memory yet: call load(pos), then ask again. Never blocks.
   */
  copy(pos: number, len: number, dst: Buffer, dstOff: number): boolean;
  load(pos: number): Promise<void>;
  close(): void;
  /**
   * Bytes that never change while the transfer runs (a file held in memory) can be sent as
   * they are, behind a separate 4-byte header, instead of being copied into a packet first.
   */
  view?(pos: number, len: number): Buffer;
}

export class MemorySource implements BlockSource {
  readonly size: number;
  constructor(private readonly data: Buffer) { this.size = data.length; }
  copy(pos: number, len: number, dst: Buffer, dstOff: number): boolean {
    this.data.copy(dst, dstOff, pos, pos + len);
    return true;
  }
  async load(): Promise<void> {}
  close(): void {}
  view(pos: number, len: number): Buffer {
    return this.data.subarray(pos, pos + len);
  }
}

interface Slot { start: number; end: number; buf: Buffer | undefined; loading: Promise<void> | undefined }

/**
 * A big file read in pieces of `chunkBytes` (a multiple of the block size, so a block never
 * straddles two pieces). Three pieces: the one being sent, the one before it (a window's
 * retransmission can reach back across the boundary) and the next one, read ahead as soon as
 * the sender enters the current one.
 */
export class FileSource implements BlockSource {
  private readonly slots: Slot[];
  private closed = false;
  private lastHit = 0;

  constructor(private readonly fd: number, readonly size: number, private readonly chunkBytes: number) {
    // Pieces are allocated on first use: a request that never completes its handshake (a
    // spoofed flood) must not hold three pieces of memory each.
    this.slots = [0, 1, 2].map(() => ({ start: -1, end: -1, buf: undefined, loading: undefined }));
  }

  static chunkFor(blksize: number, target = 256 * 1024): number {
    return blksize * Math.max(1, Math.floor(target / blksize));
  }

  copy(pos: number, len: number, dst: Buffer, dstOff: number): boolean {
    // Fast path: the same piece as last time.
    let s = this.slots[this.lastHit]!;
    if (!(s.loading === undefined && pos >= s.start && pos + len <= s.end)) {
      let found = -1;
      for (let i = 0; i < 3; i++) {
        const t = this.slots[i]!;
        if (t.loading === undefined && pos >= t.start && pos + len <= t.end) { found = i; break; }
      }
      if (found < 0) return false;
      this.lastHit = found;
      s = this.slots[found]!;
      // Entered a new piece: read the next one ahead.
      const next = s.start + this.chunkBytes;
      if (next < this.size && !this.has(next)) void this.load(next).catch(() => undefined);
    }
    s.buf!.copy(dst, dstOff, pos - s.start, pos - s.start + len);
    return true;
  }

  private has(pos: number): boolean {
    return this.slots.some((t) => pos >= t.start && pos < t.end);
  }

  load(pos: number): Promise<void> {
    const start = pos - (pos % this.chunkBytes);
    const existing = this.slots.find((t) => t.start === start);
    if (existing) return existing.loading ?? Promise.resolve();
    // Evict the piece furthest behind the sender, never the one in use or one being read.
    let victim: Slot | undefined;
    for (let i = 0; i < 3; i++) {
      const t = this.slots[i]!;
      if (t.loading || i === this.lastHit) continue;
      if (!victim || t.start < victim.start) victim = t;
    }
    if (!victim) return Promise.resolve();
    const slot = victim;
    const want = Math.min(this.chunkBytes, this.size - start);
    slot.start = start;
    slot.end = start + want;
    slot.buf ??= Buffer.allocUnsafe(this.chunkBytes);
    slot.loading = readFully(this.fd, slot.buf, want, start).then(() => { slot.loading = undefined; }, (err: unknown) => {
      slot.loading = undefined;
      slot.start = slot.end = -1;
      throw err;
    });
    return slot.loading;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.close(this.fd, () => undefined);
  }
}

function readFully(fd: number, buf: Buffer, len: number, pos: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const step = () => {
      fs.read(fd, buf, done, len - done, pos + done, (err, n) => {
        if (err) return reject(err);
        if (n === 0) return reject(new Error('file shrank during the transfer'));
        done += n;
        if (done >= len) resolve(); else step();
      });
    };
    step();
  });
}

/** RFC 1350 netascii: CR LF line ends and CR NUL for a bare CR. */
export function toNetascii(data: Buffer): Buffer {
  let extra = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === 0x0a || data[i] === 0x0d) extra++;
  if (extra === 0) return data;
  const out = Buffer.allocUnsafe(data.length + extra);
  let o = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c === 0x0a) { out[o++] = 0x0d; out[o++] = 0x0a; }
    else if (c === 0x0d) { out[o++] = 0x0d; out[o++] = 0x00; }
    else out[o++] = c;
  }
  return out;
}
