// Random access over one image version: index (which chunk holds offset x) + verified chunks.
import type { ImageReader } from './types.ts';
import { type CaibxIndex, chunkAt, chunkId, chunkStart, indexSize } from './caibx.ts';
import type { ChunkSource } from './chunk-source.ts';

export class ReadRangeError extends Error {
  readonly code = 'EINVAL';
}

export class IndexReader implements ImageReader {
  readonly size: number;

  constructor(readonly index: CaibxIndex, private readonly chunks: ChunkSource) {
    this.size = indexSize(index);
  }

  /** Chunk size hint for clients (NBD preferred block size): the index's max chunk size. */
  get chunkSize(): number {
    return this.index.chunkMax;
  }

  private chunk(i: number): Promise<Buffer> {
    const start = chunkStart(this.index, i);
    return this.chunks.get(chunkId(this.index, i), this.index.ends[i]! - start);
  }

  async read(offset: number, length: number): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new ReadRangeError(`read of ${length} bytes at ${offset} is outside the image (size ${this.size})`);
    }
    if (length === 0) return Buffer.alloc(0);
    const first = chunkAt(this.index, offset);
    const last = chunkAt(this.index, offset + length - 1);
    if (first === last) {
      const data = await this.chunk(first);
      const s = offset - chunkStart(this.index, first);
      // A view into the cached chunk: callers must not modify it.
      return data.subarray(s, s + length);
    }
    const parts = await Promise.all(Array.from({ length: last - first + 1 }, (_, k) => this.chunk(first + k)));
    const out = Buffer.allocUnsafe(length);
    let pos = 0;
    for (let k = 0; k < parts.length; k++) {
      const i = first + k;
      const cs = chunkStart(this.index, i);
      const from = Math.max(offset, cs) - cs;
      const to = Math.min(offset + length, this.index.ends[i]!) - cs;
      parts[k]!.copy(out, pos, from, to);
      pos += to - from;
    }
    return out;
  }

  async readPieces(offset: number, length: number): Promise<Buffer[]> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new ReadRangeError(`read of ${length} bytes at ${offset} is outside the image (size ${this.size})`);
    }
    if (length === 0) return [];
    const first = chunkAt(this.index, offset);
    const last = chunkAt(this.index, offset + length - 1);
    const parts = await Promise.all(Array.from({ length: last - first + 1 }, (_, k) => this.chunk(first + k)));
    return parts.map((data, k) => {
      const cs = chunkStart(this.index, first + k);
      return data.subarray(Math.max(offset, cs) - cs, Math.min(offset + length, this.index.ends[first + k]!) - cs);
    });
  }

  /** Streams [offset, offset + length) chunk by chunk (HTTP bodies); `prefetch` chunks are read ahead. */
  async *stream(offset: number, length: number, prefetch = 2): AsyncGenerator<Buffer> {
    if (length === 0) return;
    const end = offset + length;
    const first = chunkAt(this.index, offset);
    const last = chunkAt(this.index, end - 1);
    const pending: Promise<Buffer>[] = [];
    let next = first;
    const fill = () => {
      while (next <= last && pending.length <= prefetch) {
        const p = this.chunk(next++);
        // A consumer that stops early never awaits the read-ahead: keep its failure from being unhandled.
        p.catch(() => {});
        pending.push(p);
      }
    };
    fill();
    for (let i = first; i <= last; i++) {
      const data = await pending.shift()!;
      fill();
      const cs = chunkStart(this.index, i);
      const from = Math.max(offset, cs) - cs;
      const to = Math.min(end, this.index.ends[i]!) - cs;
      yield data.subarray(from, to);
    }
  }
}
