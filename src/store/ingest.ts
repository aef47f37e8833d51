// Chunking a byte stream into the store and building its index. This thread only reads the
// stream into shared block buffers (straight from the file when it is one) and picks the cuts;
// the workers scan each block for candidate cuts (in parallel, blocks being independent) and
// hash, compress and write the chunks. Memory stays bounded: the pool has a fixed number of
// blocks and reading waits for one.
import { IndexWriter } from './caibx.ts';
import { type ChunkerSpec, chunkerSizes, discriminator } from './chunker.ts';
import { CutFinder } from './cut-finder.ts';
import { WINDOW } from './boundary-scan.ts';
import type { ChunkPool, ChunkResult } from './worker-pool.ts';
import type { ByteReader } from './read-source.ts';

export interface IngestProgress {
  bytesDone: number;
  chunksTotal: number;
  chunksNew: number;
  bytesNew: number;
}

export interface IngestResult {
  index: Buffer;
  size: number;
  chunksTotal: number;
  /** Distinct chunks this import added to the store. */
  chunksNew: number;
  /** Compressed bytes this import added. */
  bytesNew: number;
  /** Compressed bytes of the distinct chunks the index references. */
  bytesStored: number;
  distinctChunks: number;
}

/** One block in flight: stream bytes [base, hi) in a pool slot; chunks ending in (lo, hi] are stored from it. */
interface Block {
  slot: number;
  base: number;
  lo: number;
  hi: number;
  last: boolean;
  bits: Uint32Array | undefined;
  scanned: boolean;
  /** Holders of the slot: the cut finder, the next block's overlap copy, each chunk being stored. */
  refs: number;
}

/** Reads `source` to its end and closes it, whatever happens. */
export async function ingest(
  source: ByteReader,
  spec: ChunkerSpec,
  pool: ChunkPool,
  onProgress?: (p: IngestProgress) => void,
): Promise<IngestResult> {
  const [min, avg, max] = chunkerSizes(spec);
  if (spec.kind === 'cdc' && !(min >= WINDOW && min <= avg && avg <= max)) throw new Error(`bad chunk sizes ${min}:${avg}:${max}`);
  if (max > pool.overlap) throw new Error(`chunks of up to ${max} bytes exceed the pool's ${pool.overlap}`);
  const cdc = spec.kind === 'cdc' && min < max;
  // casync's discriminator, clamped as its chunker does (see chunker.ts).
  const d = Math.min(Math.max(discriminator(avg), min), max);
  const writer = new IndexWriter(min, avg, max);
  const finder = new CutFinder(min, max);
  const ends: number[] = [];
  const results = new Map<number, ChunkResult>();
  const seen = new Map<string, { isNew: boolean }>();
  const blocks: Block[] = [];
  let resolved = 0;
  let nextWrite = 0;
  let chunksNew = 0;
  let bytesNew = 0;
  let bytesStored = 0;
  let bytesDone = 0;
  let storing = 0;
  let failure: Error | undefined;
  let finished: (() => void) | undefined;
  const fail = (e: Error) => {
    failure ??= e;
    // The reader may be waiting for a slot that no failed block will give back.
    pool.abort(failure);
    maybeDone();
  };
  const maybeDone = () => {
    if (finished && (failure || (resolved === blocks.length && storing === 0))) {
      const f = finished;
      finished = undefined;
      f();
    }
  };

  const unref = (b: Block) => {
    if (--b.refs === 0) pool.releaseSlot(b.slot);
  };

  const onResult = (seq: number, r: ChunkResult) => {
    results.set(seq, r);
    const hex = r.id.toString('hex');
    // Two copies of one chunk can be in flight at once: whichever worker loses the race sees the
    // other's file and says "not new", and its answer may arrive first. Count a chunk new once if any copy was.
    const prev = seen.get(hex);
    if (!prev) {
      seen.set(hex, { isNew: r.isNew });
      bytesStored += r.stored;
      if (r.isNew) {
        chunksNew++;
        bytesNew += r.stored;
      }
    } else if (r.isNew && !prev.isNew) {
      prev.isNew = true;
      chunksNew++;
      bytesNew += r.stored;
    }
    // The index lists chunks in order; results arrive in any order.
    for (let q = results.get(nextWrite); q; q = results.get(nextWrite)) {
      writer.add(ends[nextWrite]!, q.id);
      results.delete(nextWrite);
      nextWrite++;
    }
  };

  const storeChunk = (b: Block, start: number, end: number) => {
    const seq = ends.length;
    ends.push(end);
    b.refs++;
    storing++;
    pool.store(b.slot, start - b.base, end - start).then(
      (r) => onResult(seq, r),
      fail,
    ).finally(() => {
      unref(b);
      storing--;
      maybeDone();
    });
  };

  // Cuts are picked in stream order, as soon as every block up to this one is scanned.
  const resolve = () => {
    for (let b = blocks[resolved]; b?.scanned; b = blocks[resolved]) {
      finder.feed(b, (s, e) => storeChunk(b, s, e));
      b.bits = undefined;
      delete blocks[resolved];
      resolved++;
      unref(b);
    }
  };

  const dispatch = (b: Block) => {
    blocks.push(b);
    if (!cdc) {
      b.scanned = true;
      resolve();
      return;
    }
    b.bits = pool.bits[b.slot];
    // Candidates for stream positions (lo, hi]; none below 48 matter (every chunk is >= min >= 48).
    pool.scan(b.slot, Math.max(b.lo + 1 - b.base, WINDOW), b.hi - b.base, d).then(
      () => { b.scanned = true; resolve(); maybeDone(); },
      fail,
    );
  };

  let slot = -1;
  let view: Uint8Array;
  let base = 0;
  let lo = 0;
  let fill = 0;
  const cap = pool.blockSize;
  try {
    slot = await pool.acquireSlot();
    view = pool.views[slot]!;
    for (;;) {
      const n = await source.read(view, fill, lo - base + cap - fill);
      if (n === 0) break;
      bytesDone += n;
      fill += n;
      if (fill === lo - base + cap) {
        const prev: Block = { slot, base, lo, hi: base + fill, last: false, bits: undefined, scanned: false, refs: 2 };
        dispatch(prev);
        if (failure) throw failure;
        // The next block starts with the tail of this one: a chunk ending in it may start up to max bytes back.
        slot = await pool.acquireSlot();
        const ov = Math.min(pool.overlap, fill);
        const next = pool.views[slot]!;
        next.set(view.subarray(fill - ov, fill), 0);
        unref(prev);
        view = next;
        lo = prev.hi;
        base = lo - ov;
        fill = ov;
      }
      if (failure) throw failure;
      onProgress?.({ bytesDone, chunksTotal: ends.length, chunksNew, bytesNew });
    }
  } finally {
    await source.close();
  }
  dispatch({ slot, base, lo, hi: base + fill, last: true, bits: undefined, scanned: false, refs: 1 });
  // Every block is scanned and every chunk stored (or something failed and nothing more will come).
  await new Promise<void>((r) => {
    finished = r;
    maybeDone();
  });
  if (failure) throw failure;
  onProgress?.({ bytesDone, chunksTotal: ends.length, chunksNew, bytesNew });
  const size = base + fill;
  return { index: writer.finish(), size, chunksTotal: ends.length, chunksNew, bytesNew, bytesStored, distinctChunks: seen.size };
}
