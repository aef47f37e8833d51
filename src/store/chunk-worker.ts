// Worker thread: hash, compress and write chunks (the CPU-heavy part of an import) so an
// import uses every core while the main thread reads and finds boundaries.
import { parentPort, workerData } from 'node:worker_threads';
import { storeChunk } from './chunk-writer.ts';

export interface ChunkJob {
  seq: number;
  data: Uint8Array;
}

export interface ChunkDone {
  seq: number;
  id?: Uint8Array;
  stored?: number;
  isNew?: boolean;
  error?: string;
}

const { root, level } = workerData as { root: string; level: number };

parentPort!.on('message', (job: ChunkJob) => {
  let reply: ChunkDone;
  try {
    const r = storeChunk(root, job.data, level);
    reply = { seq: job.seq, id: r.id, stored: r.stored, isNew: r.isNew };
  } catch (err) {
    reply = { seq: job.seq, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});
