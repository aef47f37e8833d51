import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { compressChunk, compressChunkView, decompressChunk } from '../../../src/store/codec.ts';
import { storeChunk } from '../../../src/store/chunk-writer.ts';
import { hashChunk } from '../../../src/store/chunk-id.ts';
import { chunkPath } from '../../../src/store/layout.ts';

test('compressChunkView reuses one buffer per thread; compressChunk returns a frame of its own', () => {
  const a = Buffer.alloc(65536, 0x61);
  const b = randomBytes(262144);
  const va = compressChunkView(a, 3);
  const own = compressChunk(a, 3);
  assert.deepEqual(decompressChunk(own, a.length), a);
  const vb = compressChunkView(b, 3);
  assert.equal(va.buffer, vb.buffer, 'the same scratch buffer');
  assert.deepEqual(decompressChunk(vb, b.length), b);
  // Incompressible data still goes out as one zstd frame (casync and desync read only those).
  assert.equal(vb.readUInt32LE(0), 0xfd2fb528);
  // As casync's frames: no content size in the header (frame header descriptor: size flag 0, single segment 0).
  assert.equal(own[4]! & 0xe0, 0);
});

test('storeChunk writes each chunk once, by rename, and leaves no temp file', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-chunk-writer-'));
  try {
    const chunks = Array.from({ length: 40 }, (_, i) => (i % 2 ? randomBytes(20000 + i) : Buffer.alloc(30000 + i, i)));
    for (const c of chunks) assert.equal(storeChunk(root, c, 3).isNew, true);
    for (const c of chunks) {
      const again = storeChunk(root, c, 3);
      assert.equal(again.isNew, false);
      const file = chunkPath(root, hashChunk(c).toString('hex'));
      assert.equal(fs.statSync(file).size, again.stored);
      assert.deepEqual(decompressChunk(fs.readFileSync(file), c.length), c);
    }
    const names = fs.readdirSync(root, { recursive: true }).map(String);
    assert.equal(names.filter((n) => n.endsWith('.tmp')).length, 0);
    assert.equal(names.filter((n) => n.endsWith('.cacnk')).length, 40);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
