// Where chunks really end, from the candidate positions the parallel scan found (boundary-scan.ts).
// A cheap pass in stream order: a chunk starting at s ends at the first candidate in
// [s + min, s + max], else at s + max; the stream's tail is the last chunk. This is casync's rule
// (src/cachunker.c) restated over candidates, so the cuts are the serial chunker's, bit for bit.
// Fixed chunks are the case min = max (no candidates needed).
import { firstCandidate } from './boundary-scan.ts';

/** One block of the stream as the cut finder sees it: stream range (lo, hi], its candidates. */
export interface ScannedBlock {
  /** Stream offset of bit 0 of `bits` (and of byte 0 of the block's buffer). */
  base: number;
  /** Candidates are known for stream positions (lo, hi]. */
  lo: number;
  hi: number;
  /** Candidate bitmap indexed by position − base; unused when min = max. */
  bits: Uint32Array | undefined;
  /** The stream ends at hi. */
  last: boolean;
}

export class CutFinder {
  /** Start of the chunk being looked for. */
  private start = 0;
  constructor(private readonly min: number, private readonly max: number) {}

  /**
   * Feeds the next block (blocks in stream order, each lo = previous hi); calls `cut(start, end)`
   * for every chunk that ends in (lo, hi]. A chunk that may end after hi waits for the next block.
   */
  feed(b: ScannedBlock, cut: (start: number, end: number) => void): void {
    const { min, max } = this;
    let s = this.start;
    for (;;) {
      let end = -1;
      if (min >= max) {
        if (s + min <= b.hi) end = s + min;
      } else {
        const from = Math.max(s + min, b.lo + 1);
        const to = Math.min(s + max, b.hi);
        const p = from <= to ? firstCandidate(b.bits!, from - b.base, to - b.base) : -1;
        if (p >= 0) end = p + b.base;
        else if (s + max <= b.hi) end = s + max;
      }
      if (end < 0) break;
      cut(s, end);
      s = end;
    }
    if (b.last && s < b.hi) {
      cut(s, b.hi);
      s = b.hi;
    }
    this.start = s;
  }
}
