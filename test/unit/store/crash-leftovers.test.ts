// What a power loss can leave under a final name: a chunk or blob file renamed into place whose
// data never reached the disk (empty on ext4 and XFS). The next import must write it again, not
// count it as already stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { decompressChunk } from '../../../src/store/codec.ts';
import { storeChunk } from '../../../src/store/chunk-writer.ts';
import { hashChunk } from '../../../src/store/chunk-id.ts';
import { chunkPath } from '../../../src/store/layout.ts';
import { storeBlob } from '../../../src/store/blobs.ts';

test('an empty chunk file under its final name is written again', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-crash-chunk-'));
  try {
    const data = randomBytes(30_000);
    const file = chunkPath(root, hashChunk(data).toString('hex'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '');
    const r = storeChunk(root, data, 3);
    assert.equal(r.isNew, true);
    assert.ok(decompressChunk(fs.readFileSync(file)).equals(data));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

async function* once(data: Buffer): AsyncGenerator<Uint8Array> {
  yield data;
}

test('an empty blob file under its final name is replaced', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-crash-blob-'));
  try {
    const data = randomBytes(10_000);
    const first = await storeBlob(root, once(data));
    fs.writeFileSync(path.join(root, first.rel), '');
    const again = await storeBlob(root, once(data));
    assert.equal(again.rel, first.rel);
    assert.equal(again.isNew, true);
    assert.ok(fs.readFileSync(path.join(root, first.rel)).equals(data));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a blob stored again is touched (gc spares young unreferenced blobs: the import holds it only once ready)', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-blob-touch-'));
  try {
    const data = randomBytes(5_000);
    const first = await storeBlob(root, once(data));
    const file = path.join(root, first.rel);
    const old = new Date(Date.now() - 3 * 86_400_000);
    fs.utimesSync(file, old, old);
    const again = await storeBlob(root, once(data));
    assert.equal(again.isNew, false);
    assert.ok(fs.statSync(file).mtimeMs > Date.now() - 60_000, 'mtime refreshed');
    assert.deepEqual(fs.readdirSync(path.join(root, 'blobs')).filter((n) => n.endsWith('.tmp')), []);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
