// The import engine alone (no CLI start, no database): ingest of one file into a fresh store,
// for trying worker counts and block sizes. Run it under the bench lock:
//   flock /tmp/branchboot-bench.lock node --import tsx bench/store/ingest.ts FILE [cdc|fixed] [workers,...] [blockKiB,...] [rounds]
// Prints: workers blockKiB seconds MB/s cpu_s (CPU = user + sys of this process, all threads).
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { ingest } from '../../src/store/ingest.ts';
import { ChunkPool } from '../../src/store/worker-pool.ts';
import { fileRanges } from '../../src/store/read-source.ts';
import { parseChunker, chunkerSizes } from '../../src/store/chunker.ts';

const [file, chunker = 'cdc', workerList = '2', blockList = '2048', roundsArg = '3'] = process.argv.slice(2);
if (!file) throw new Error('usage: ingest.ts FILE [cdc|fixed] [workers,...] [blockKiB,...] [rounds]');
const spec = parseChunker(chunker);
if (!spec) throw new Error(`bad chunker ${chunker}`);
const size = fs.statSync(file).size;
const root = process.env.BENCH_INGEST_DIR ?? '/tmp/bb-bench-ingest';

async function once(workers: number, blockKiB: number): Promise<void> {
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  execFileSync('sync');
  await new Promise((r) => setTimeout(r, 1000));
  const pool = new ChunkPool(root, 3, workers, chunkerSizes(spec!)[2], { blockSize: blockKiB * 1024 });
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await ingest(fileRanges(file!, [{ start: 0, length: size }]), spec!, pool);
    const s = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(cpu0);
    console.log(workers, blockKiB, s.toFixed(2), (size / 1e6 / s).toFixed(1), ((c.user + c.system) / 1e6).toFixed(2));
  } finally {
    await pool.close();
  }
}

for (let r = 0; r < Number(roundsArg); r++) {
  for (const w of workerList.split(',').map(Number)) for (const b of blockList.split(',').map(Number)) await once(w, b);
}
fs.rmSync(root, { recursive: true, force: true });
