// The batch hash of native/chunk-hash.c against node:crypto: every length around SHA-512's block
// and padding edges (111/112 bytes: one padding block or two), chunk-sized messages, batches
// that refill lanes unevenly, views into a shared buffer at odd offsets, and argument mistakes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { hashChunk } from '../../../src/store/chunk-id.ts';
import { hashChunks, hasNativeChunkHash } from '../../../src/store/chunk-hash-native.ts';

const skip = hasNativeChunkHash ? undefined : 'the addon is not built or this CPU has no AVX-512';
const addon = hasNativeChunkHash
  ? createRequire(import.meta.url)(process.env.BRANCHBOOT_HASH_ADDON ?? '../../../build/Release/branchboot_hash.node') as { hashChunks: (c: unknown, o?: unknown) => void }
  : undefined;

function expectSame(chunks: Uint8Array[]): void {
  const got = hashChunks(chunks);
  assert.equal(got.length, chunks.length);
  chunks.forEach((c, i) => assert.equal(got[i]!.toString('hex'), hashChunk(c).toString('hex'), `chunk ${i} of ${c.length} bytes`));
}

test('every length from 0 to 400 bytes, in batches of 8, 9 and 33', { skip }, () => {
  const data = randomBytes(400);
  const all = Array.from({ length: 401 }, (_, n) => data.subarray(0, n));
  for (const size of [8, 9, 33]) for (let i = 0; i < all.length; i += size) expectSame(all.slice(i, i + size));
});

test('chunk-sized messages of uneven lengths, views into one shared buffer at odd offsets', { skip }, () => {
  const sab = new Uint8Array(new SharedArrayBuffer(8 << 20));
  sab.set(randomBytes(sab.length));
  const chunks: Uint8Array[] = [];
  let off = 3;
  for (let i = 0; i < 40; i++) {
    const len = [16384, 262144, 65536, 127, 128, 129, 1 << 20][i % 7]! + (i * 7919) % 4096;
    chunks.push(sab.subarray(off, off + len));
    off += len + (i % 5);
  }
  expectSame(chunks);
  expectSame(chunks.slice(0, 1));
  expectSame([]);
});

test('more chunks than one call takes are split', { skip }, () => {
  const data = randomBytes(2000);
  expectSame(Array.from({ length: 600 }, (_, i) => data.subarray(i % 97, (i % 97) + (i * 13) % 1900)));
});

test('argument mistakes are type errors, not crashes', { skip }, () => {
  const out = new Uint8Array(64);
  assert.throws(() => addon!.hashChunks([new Uint8Array(1)]), TypeError);
  assert.throws(() => addon!.hashChunks('x', out), /chunks must be an array/);
  assert.throws(() => addon!.hashChunks([new Uint8Array(1), 'x'], out), /every chunk must be a Uint8Array/);
  assert.throws(() => addon!.hashChunks([new Uint16Array(1)], out), /every chunk must be a Uint8Array/);
  assert.throws(() => addon!.hashChunks([new Uint8Array(1), new Uint8Array(1), new Uint8Array(1)], out), /32 bytes per chunk/);
  assert.throws(() => addon!.hashChunks(Array.from({ length: 257 }, () => new Uint8Array(0)), new Uint8Array(32 * 257)), /at most 256/);
});
