// Bytes received but not yet parsed. TCP splits and merges messages at will, so the parser
// asks for exact byte counts; headers usually sit inside one chunk and come back without a copy.

export class ByteQueue {
  private chunks: Buffer[] = [];
  /** Index of the first live chunk: shift() would be O(n) per step on a queue of tiny segments. */
  private first = 0;
  private head = 0; // bytes of chunks[first] already consumed
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Removes and returns exactly n bytes; the caller checks `length` first. */
  take(n: number): Buffer {
    if (n > this.total) throw new RangeError(`take(${n}) with ${this.total} queued`);
    const c0 = this.chunks[this.first];
    if (c0 && c0.length - this.head >= n) {
      const out = c0.subarray(this.head, this.head + n);
      this.advance(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[this.first]!;
      const step = Math.min(n - filled, c.length - this.head);
      c.copy(out, filled, this.head, this.head + step);
      filled += step;
      this.advance(step);
    }
    return out;
  }

  /** Drops up to n bytes without copying them; returns how many were dropped. */
  skip(n: number): number {
    let dropped = 0;
    while (dropped < n && this.total > 0) {
      const c = this.chunks[this.first]!;
      const step = Math.min(n - dropped, c.length - this.head);
      this.advance(step);
      dropped += step;
    }
    return dropped;
  }

  clear(): void {
    this.chunks = [];
    this.first = 0;
    this.head = 0;
    this.total = 0;
  }

  private advance(n: number): void {
    this.head += n;
    this.total -= n;
    if (this.head === this.chunks[this.first]!.length) {
      this.chunks[this.first] = EMPTY; // let the consumed chunk be collected
      this.first++;
      this.head = 0;
      if (this.first === this.chunks.length) { this.chunks = []; this.first = 0; }
      // Compact only once the dead prefix is half the array: each live entry is then copied
      // O(1) times on average. A fixed threshold (every 1,024 chunks) copied the whole tail
      // each time, quadratic on a queue of a million tiny segments.
      else if (this.first >= 1024 && this.first * 2 >= this.chunks.length) { this.chunks = this.chunks.slice(this.first); this.first = 0; }
    }
  }
}

const EMPTY = Buffer.alloc(0);
