// Worker thread: hash, compress and write chunks (the CPU-heavy part of an import) so an
// import uses every core while the main thread reads and finds boundaries.
import { parentPort, workerData } from 'node:worker_threads';
import { storeChunk } from './chunk-writer.ts';

export interface ChunkJob {
  seq: number;
  /** A pooled buffer; the chunk is its first `length` bytes. It travels back with the reply. */
  buf: ArrayBuffer;
  length: number;
}

export interface ChunkDone {
  seq: number;
  buf: ArrayBuffer;
  id?: Uint8Array;
  stored?: number;
  isNew?: boolean;
  error?: string;
}

const { root, level } = workerData as { root: string; level: number };

// Jobs come in batches: one message per several chunks halves the main thread's postMessage cost.
parentPort!.on('message', (jobs: ChunkJob[]) => {
  const replies: ChunkDone[] = [];
  for (const job of jobs) {
    try {
      const r = storeChunk(root, new Uint8Array(job.buf, 0, job.length), level);
      replies.push({ seq: job.seq, buf: job.buf, id: r.id, stored: r.stored, isNew: r.isNew });
    } catch (err) {
      replies.push({ seq: job.seq, buf: job.buf, error: err instanceof Error ? err.message : String(err) });
    }
  }
  // Handing the buffers back keeps the import allocation-free in steady state (and its RSS flat).
  parentPort!.postMessage(replies, replies.map((r) => r.buf));
});
