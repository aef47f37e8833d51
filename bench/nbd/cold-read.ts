// Cold read of a whole image through the store reader, without NBD: where the cold path's time
// goes (chunker × verify in workers or on the event loop thread).
//   node --import tsx bench/nbd/cold-read.ts IMAGE
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/index.ts';
import { createLogger } from '../../src/log.ts';
import { importImage } from '../../src/store/importer.ts';
import { parseChunker } from '../../src/store/chunker.ts';
import { decodeIndex } from '../../src/store/caibx.ts';
import { IndexReader } from '../../src/store/reader.ts';
import { createChunkSource } from '../../src/store/chunk-source.ts';
import { verifyPool } from '../../src/store/verify-pool.ts';

const img = process.argv[2]!;
const size = (await fs.stat(img)).size;
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bb-cold-read-'));
const config = loadConfig({ env: {}, overrides: { dataDir, 'log.level': 'warn' } });
const database = openDatabase(config.database);
const log = createLogger(config);
try {
  for (const chunker of ['fixed', 'cdc']) {
    const r = await importImage({ config, db: database.db, log }, { file: img, name: chunker, chunker: parseChunker(chunker)! });
    const index = decodeIndex(await fs.readFile(path.join(config.store.path, r.indexFile)));
    for (const where of ['workers', 'main thread'] as const) {
      for (let rep = 0; rep < 2; rep++) {
        const reader = new IndexReader(index, createChunkSource(config.store.path, 64 << 20, log, where === 'workers' ? verifyPool() : null));
        const c0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        // nbdcopy's pattern: 256 KiB requests, many in flight.
        const step = 256 * 1024;
        let next = 0;
        const lane = async () => {
          while (next < size) {
            const off = next;
            next += step;
            await reader.read(off, Math.min(step, size - off));
          }
        };
        await Promise.all(Array.from({ length: 16 }, lane));
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        const c = process.cpuUsage(c0);
        console.log(`${chunker.padEnd(5)} ${where.padEnd(11)} ${(size / 1e6 / s).toFixed(0)} MB/s, ${((c.user + c.system) / 1e6 / (size / 1e9)).toFixed(2)} CPU-s/GB (${r.chunksTotal} chunks)`);
      }
    }
  }
} finally {
  await database.close();
  await fs.rm(dataDir, { recursive: true, force: true });
}
