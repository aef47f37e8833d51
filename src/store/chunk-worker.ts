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

parentPort!.on('message', (job: ChunkJob) => {
  let reply: ChunkDone;
  try {
    const r = storeChunk(root, new Uint8Array(job.buf, 0, job.length), level);
    reply = { seq: job.seq, buf: job.buf, id: r.id, stored: r.stored, isNew: r.isNew };
  } catch (err) {
    reply = { seq: job.seq, buf: job.buf, error: err instanceof Error ? err.message : String(err) };
  }
  // Handing the buffer back keeps the import allocation-free in steady state (and its RSS flat).
  parentPort!.postMessage(reply, [job.buf]);
});
