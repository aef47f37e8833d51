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

test('storeChunk makes a chunk folder again when it went away after the thread saw it', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-chunk-writer-'));
  try {
    // Two chunks in one 4-hex folder: the second is written into the folder the first one made.
    const byFolder = new Map<string, Buffer>();
    let pair: [Buffer, Buffer] | undefined;
    for (let i = 0; !pair; i++) {
      const c = Buffer.alloc(1000, 0).fill(i & 0xff, 0, 1).fill(i >> 8, 1, 2);
      const folder = hashChunk(c).toString('hex').slice(0, 4);
      const first = byFolder.get(folder);
      if (first) pair = [first, c];
      else byFolder.set(folder, c);
    }
    assert.equal(storeChunk(root, pair[0], 3).isNew, true);
    const file = chunkPath(root, hashChunk(pair[1]).toString('hex'));
    fs.rmSync(path.dirname(file), { recursive: true });
    assert.equal(storeChunk(root, pair[1], 3).isNew, true);
    assert.deepEqual(decompressChunk(fs.readFileSync(file), 1000), pair[1]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
