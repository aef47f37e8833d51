import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createChunker, discriminator, buzhashStart, DEFAULT_CDC, type ChunkerSpec } from '../../../src/store/chunker.ts';
import { BUZHASH_TABLE } from '../../../src/store/buzhash-table.ts';

function chunkLengths(spec: ChunkerSpec, data: Buffer, piece: (i: number) => number): number[] {
  const c = createChunker(spec);
  const out: number[] = [];
  const emit = (b: Buffer) => out.push(b.length);
  for (let pos = 0, i = 0; pos < data.length; i++) {
    const n = Math.max(1, piece(i));
    c.push(data.subarray(pos, pos + n), emit);
    pos += n;
  }
  c.finish(emit);
  return out;
}

test('casync constants', () => {
  assert.equal(BUZHASH_TABLE.length, 256);
  assert.equal(BUZHASH_TABLE[0], 0x458be752);
  assert.equal(BUZHASH_TABLE[255], 0xd95ddf11);
  assert.equal(discriminator(65536), 49535);
});

test('boundaries do not depend on how the stream is cut into pieces', () => {
  let s = 5;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const data = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = rnd() < 0.3 ? 0 : Math.floor(rnd() * 256);
  for (const spec of [DEFAULT_CDC, { kind: 'fixed', size: 262144 } as const, { kind: 'cdc', min: 64, avg: 256, max: 1024 } as const]) {
    const whole = chunkLengths(spec, data, () => data.length);
    assert.equal(whole.reduce((a, b) => a + b, 0), data.length);
    for (const l of whole.slice(0, -1)) {
      const [min, max] = spec.kind === 'fixed' ? [spec.size, spec.size] : [spec.min, spec.max];
      assert.ok(l >= min && l <= max);
    }
    assert.deepEqual(chunkLengths(spec, data, () => 1 + Math.floor(rnd() * 70000)), whole);
    assert.deepEqual(chunkLengths(spec, data.subarray(0, 200000), () => 1 + Math.floor(rnd() * 50)), chunkLengths(spec, data.subarray(0, 200000), () => 1 << 20));
  }
});

test('rolling hash equals a fresh hash of the window', () => {
  const buf = Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 37 + 11) & 255));
  let h = buzhashStart(buf, 0);
  const rol = (v: number, n: number) => ((v << n) | (v >>> (32 - n))) >>> 0;
  for (let i = 48; i < 200; i++) {
    h = (rol(h, 1) ^ rol(BUZHASH_TABLE[buf[i - 48]!]!, 16) ^ BUZHASH_TABLE[buf[i]!]!) >>> 0;
    assert.equal(h, buzhashStart(buf, i - 47));
  }
});
