// The HTTP chunk path's cache: a chunk changed on disk after it was first served (truncated,
// bit-flipped, replaced) and then dropped from the cache is refused when read again, never
// served as the bytes it now holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { storeChunk } from '../../../src/store/chunk-writer.ts';
import { compressChunk } from '../../../src/store/codec.ts';
import { chunkPath } from '../../../src/store/layout.ts';
import { createChunkFiles } from '../../../src/store/chunk-files.ts';
import { CorruptChunkError } from '../../../src/store/chunk-source.ts';
import { VerifyPool } from '../../../src/store/verify-pool.ts';

const log = pino({ level: 'silent' });

for (const where of ['this thread', 'the verify pool'] as const) {
  test(`a chunk changed on disk after it left the cache is refused (${where})`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-chunk-files-'));
    const pool = where === 'the verify pool' ? new VerifyPool(1) : null;
    try {
      const hexes = Array.from({ length: 4 }, () => storeChunk(dir, randomBytes(100_000), 3).id.toString('hex'));
      const [a, b, c, d] = hexes as [string, string, string, string];
      // Room for about one chunk: each get evicts the one before.
      const files = createChunkFiles(dir, 150_000, log, pool);
      for (const hex of hexes) assert.ok((await files.get(hex))!.equals(fs.readFileSync(chunkPath(dir, hex))));
      assert.equal(files.peek(a), undefined, 'a left the cache');

      // a: one byte flipped in place (same size).
      const fa = fs.readFileSync(chunkPath(dir, a));
      fa[fa.length >> 1]! ^= 1;
      fs.writeFileSync(chunkPath(dir, a), fa);
      // b: truncated.
      fs.truncateSync(chunkPath(dir, b), 1000);
      // c: replaced by a valid frame of other bytes (only the hash can tell).
      fs.writeFileSync(chunkPath(dir, c), compressChunk(randomBytes(100_000), 3));
      for (const hex of [a, b, c]) {
        await assert.rejects(files.get(hex), (e) => e instanceof CorruptChunkError && e.chunkHex === hex, `chunk ${hex.slice(0, 8)} must be refused`);
      }
      // The untouched one is still served.
      assert.ok((await files.get(d))!.equals(fs.readFileSync(chunkPath(dir, d))));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
