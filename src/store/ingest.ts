// Chunking a byte stream into the store and building its index. Reading and boundary finding
// run here; hashing, compression and writes run in the worker pool. Memory stays bounded:
// the pool holds at most maxInFlight chunks and the read side waits for it.
import { IndexWriter } from './caibx.ts';
import { type ChunkerSpec, chunkerSizes, createChunker } from './chunker.ts';
import type { ChunkPool, ChunkResult } from './worker-pool.ts';

const FEED = 256 * 1024;

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

export async function ingest(
  source: AsyncIterable<Uint8Array>,
  spec: ChunkerSpec,
  pool: ChunkPool,
  onProgress?: (p: IngestProgress) => void,
): Promise<IngestResult> {
  const [min, avg, max] = chunkerSizes(spec);
  const writer = new IndexWriter(min, avg, max);
  const chunker = createChunker(spec);
  const ends: number[] = [];
  const results = new Map<number, ChunkResult>();
  const seen = new Map<string, { isNew: boolean }>();
  let nextWrite = 0;
  let size = 0;
  let chunksNew = 0;
  let bytesNew = 0;
  let bytesStored = 0;
  let bytesDone = 0;
  let failure: Error | undefined;
  const waiting: Promise<void>[] = [];

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

  // Chunkers emit views into their own buffer; the pool copies each at once into a pooled buffer.
  const collect = (c: Buffer) => {
    const seq = ends.length;
    size += c.length;
    ends.push(size);
    const { done } = pool.enqueue(c);
    waiting.push(done.then((r) => onResult(seq, r), (e: Error) => { failure ??= e; }));
  };
  const settle = async () => {
    if (failure) throw failure;
    // Resolved entries need not be kept: they only hold memory.
    if (waiting.length > 4096) await Promise.all(waiting.splice(0, waiting.length));
  };

  for await (const data of source) {
    bytesDone += data.length;
    // Feed at most 256 KiB at a time: one push then emits at most 256 KiB / min + 1 chunks beyond the pool's limit.
    for (let off = 0; off < data.length; off += FEED) {
      await pool.waitForRoom();
      chunker.push(data.subarray(off, off + FEED), collect);
      await settle();
    }
    onProgress?.({ bytesDone, chunksTotal: ends.length, chunksNew, bytesNew });
  }
  chunker.finish(collect);
  await Promise.all(waiting);
  if (failure) throw failure;
  onProgress?.({ bytesDone, chunksTotal: ends.length, chunksNew, bytesNew });
  return { index: writer.finish(), size, chunksTotal: ends.length, chunksNew, bytesNew, bytesStored, distinctChunks: seen.size };
}
