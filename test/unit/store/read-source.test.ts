// The import's byte readers: file ranges read into the caller's buffer, pieces copied in, zero padding.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileRanges, fromPieces, zeroPadded, readRanges, type ByteReader } from '../../../src/store/read-source.ts';
import { ImageInputError } from '../../../src/store/probe.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-read-source-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7 + 3) & 0xff));
const file = path.join(tmp, 'img');
fs.writeFileSync(file, data);

/** Everything a reader gives, asking `step` bytes at a time into a shared buffer (as the chunk pool's blocks are). */
async function drain(r: ByteReader, step: number): Promise<Buffer> {
  const into = new Uint8Array(new SharedArrayBuffer(step + 3));
  const out: Buffer[] = [];
  try {
    for (let n; (n = await r.read(into, 3, step)) > 0;) out.push(Buffer.from(into.subarray(3, 3 + n)));
  } finally {
    await r.close();
  }
  return Buffer.concat(out);
}

test('fileRanges: the ranges in order, empty ranges skipped, any read size', async () => {
  const ranges = [{ start: 100, length: 900 }, { start: 0, length: 0 }, { start: 4000, length: 1000 }, { start: 10, length: 20 }];
  const want = Buffer.concat(ranges.map((r) => data.subarray(r.start, r.start + r.length)));
  for (const step of [1, 7, 512, 4096, 65536]) assert.ok((await drain(fileRanges(file, ranges), step)).equals(want), `step ${step}`);
  const pieces: Buffer[] = [];
  for await (const p of readRanges(file, ranges)) pieces.push(Buffer.from(p));
  assert.ok(Buffer.concat(pieces).equals(want));
});

test('fileRanges: a file shorter than its ranges is one clear error naming the byte', async () => {
  await assert.rejects(drain(fileRanges(file, [{ start: 4500, length: 1000 }]), 4096), (e: unknown) =>
    e instanceof ImageInputError && /ended at byte 5000, expected data up to 5500/.test(e.message));
});

test('zeroPadded: the source, then the zeros, then the end', async () => {
  const got = await drain(zeroPadded(fileRanges(file, [{ start: 0, length: 5000 }]), 96), 4096);
  assert.equal(got.length, 5096);
  assert.ok(got.subarray(0, 5000).equals(data));
  assert.ok(got.subarray(5000).equals(Buffer.alloc(96)));
});

test('fromPieces: pieces of any size copied in; closing early runs the source\'s cleanup', async () => {
  async function* pieces(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < data.length; i += 333) yield data.subarray(i, i + 333);
  }
  assert.ok((await drain(fromPieces(pieces()), 1000)).equals(data));
  let cleaned = false;
  async function* converter(): AsyncGenerator<Uint8Array> {
    try {
      for (;;) yield data;
    } finally {
      cleaned = true;
    }
  }
  const r = fromPieces(converter());
  assert.equal(await r.read(new Uint8Array(10), 0, 10), 10);
  await r.close();
  assert.ok(cleaned, 'the generator\'s finally ran at close');
});
