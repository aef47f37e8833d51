import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { IndexWriter, decodeIndex, encodeIndex, IndexFormatError, chunkAt, indexSize } from '../../../src/store/caibx.ts';

function sample(n: number, size = 262144): Buffer {
  const w = new IndexWriter(size, size, size);
  for (let i = 1; i <= n; i++) w.add(i * size - (i === n ? 1000 : 0), createHash('sha512-256').update(String(i)).digest());
  return w.finish();
}

describe('caibx codec', () => {
  test('round trip', () => {
    const buf = sample(5);
    assert.equal(buf.length, 104 + 40 * 5);
    const idx = decodeIndex(buf);
    assert.equal(idx.ends.length, 5);
    assert.equal(indexSize(idx), 5 * 262144 - 1000);
    assert.deepEqual(encodeIndex(idx), buf);
    assert.equal(chunkAt(idx, 0), 0);
    assert.equal(chunkAt(idx, 262143), 0);
    assert.equal(chunkAt(idx, 262144), 1);
    assert.equal(chunkAt(idx, 5 * 262144 - 1001), 4);
  });

  test('empty index', () => {
    const idx = decodeIndex(new IndexWriter(64, 64, 64).finish());
    assert.equal(indexSize(idx), 0);
  });

  const bad: [string, (b: Buffer) => Buffer, RegExp][] = [
    ['truncated', (b) => b.subarray(0, b.length - 1), /not 104 \+ 40n/],
    ['trailing bytes', (b) => Buffer.concat([b, Buffer.alloc(40)]), /bad tail|not after/],
    ['bad tail marker', (b) => { b.writeBigUInt64LE(1n, b.length - 8); return b; }, /bad tail marker/],
    ['bad tail table size', (b) => { b.writeBigUInt64LE(7n, b.length - 16); return b; }, /table size 7/],
    ['non-increasing ends', (b) => { b.writeBigUInt64LE(262144n, 64 + 40); return b; }, /chunk 1 end 262144 at byte 104 is not after/],
    ['chunk over max', (b) => { b.writeBigUInt64LE(262145n, 64); return b; }, /larger than the max/],
    ['unknown flags', (b) => { b.writeBigUInt64LE(0xb000000000000000n | 0x0100000000000000n, 16); return b; }, /unknown feature flags 0x100000000000000/],
    ['sha256 ids', (b) => { b.writeBigUInt64LE(0x9000000000000000n, 16); return b; }, /SHA-256/],
    ['bad header type', (b) => { b.writeBigUInt64LE(1n, 8); return b; }, /bad header/],
    ['min > avg', (b) => { b.writeBigUInt64LE(262145n, 24); return b; }, /not ordered/],
    ['bad table header', (b) => { b.writeBigUInt64LE(5n, 48); return b; }, /bad table header/],
    ['too short', () => Buffer.alloc(50), /shorter/],
  ];
  for (const [name, mutate, re] of bad) {
    test(`refuses ${name}`, () => {
      assert.throws(() => decodeIndex(mutate(Buffer.from(sample(3)))), (e: unknown) => e instanceof IndexFormatError && re.test(e.message));
    });
  }

  test('random mutations (100,000) never throw anything but IndexFormatError', () => {
    const base = sample(4);
    let seed = 42;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let k = 0; k < 100_000; k++) {
      const b = Buffer.from(base);
      for (let m = 0; m < 1 + Math.floor(rnd() * 4); m++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      const cut = rnd() < 0.2 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
      try { decodeIndex(cut); } catch (e) { assert.ok(e instanceof IndexFormatError, String(e)); }
    }
  });
});
