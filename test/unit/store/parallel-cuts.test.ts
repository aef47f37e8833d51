// The parallel boundary scan (candidates per block, cuts picked in order) against the serial
// chunker, which matches casync bit for bit: every cut must be the same.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createChunker, DEFAULT_CDC, discriminator, type ChunkerSpec, chunkerSizes } from '../../../src/store/chunker.ts';
import { markCandidates, firstCandidate, WINDOW } from '../../../src/store/boundary-scan.ts';
import { CutFinder } from '../../../src/store/cut-finder.ts';
import { markCandidatesWasm } from '../../../src/store/boundary-scan-wasm.ts';
import { markCandidatesNative } from '../../../src/store/boundary-scan-native.ts';
import { ingest } from '../../../src/store/ingest.ts';
import { ChunkPool } from '../../../src/store/worker-pool.ts';
import { fromPieces } from '../../../src/store/read-source.ts';
import { decodeIndex, chunkId } from '../../../src/store/caibx.ts';
import { hashChunk } from '../../../src/store/chunk-id.ts';

function serialEnds(spec: ChunkerSpec, data: Uint8Array): number[] {
  const c = createChunker(spec);
  const ends: number[] = [];
  let end = 0;
  const emit = (b: Buffer) => ends.push((end += b.length));
  c.push(data, emit);
  c.finish(emit);
  return ends;
}

/** The ingest pipeline's cut logic without threads: blocks of `block` new bytes after `overlap` old ones. */
function blockEnds(spec: ChunkerSpec, data: Uint8Array, block: number): number[] {
  const [min, avg, max] = chunkerSizes(spec);
  const d = Math.min(Math.max(discriminator(avg), min), max);
  const finder = new CutFinder(min, max);
  const ends: number[] = [];
  let lo = 0;
  do {
    const hi = Math.min(lo + block, data.length);
    const base = Math.max(0, lo - max);
    const buf = data.slice(base, hi);
    const bits = new Uint32Array(Math.floor(buf.length / 32) + 1).fill(0xffffffff);
    if (min < max) markCandidates(buf, Math.max(lo + 1 - base, WINDOW), hi - base, d, bits);
    finder.feed({ base, lo, hi, bits, last: hi === data.length }, (s, e) => {
      assert.ok(s >= base && e <= hi, 'a chunk lies in the block where it ends');
      ends.push(e);
    });
    lo = hi;
  } while (lo < data.length);
  return ends;
}

// avg 5251 gives d = 3943, which divides (hash of 48 zero bytes) + 1: every position of a zero run is a candidate.
const ZERO_RUNS_CUT = { kind: 'cdc', min: 1024, avg: 5251, max: 16384 } as const;

function lcg(seed: number): () => number {
  let s = seed;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

function inputs(): [string, Buffer][] {
  const rnd = lcg(7);
  const random = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < random.length; i++) random[i] = Math.floor(rnd() * 256);
  const sparse = Buffer.alloc(2 * 1024 * 1024 + 5);
  for (let i = 0; i < sparse.length; i++) sparse[i] = rnd() < 0.3 ? 0 : Math.floor(rnd() * 256);
  const zeros = Buffer.alloc(1024 * 1024 + 300);
  const period = Buffer.alloc(1536 * 1024);
  for (let i = 0; i < period.length; i++) period[i] = (i * 7) % 251 === 0 ? 1 : i % 13;
  // Zeros and random data interleaved at odd offsets: runs of identical hashes, then none.
  const mixed = Buffer.concat([random.subarray(0, 300_001), zeros.subarray(0, 700_003), random.subarray(400_000, 900_000), zeros.subarray(0, 70_000), period.subarray(0, 400_000)]);
  return [['random', random], ['random 30% zeros', sparse], ['zeros', zeros], ['periodic', period], ['mixed', mixed], ['short', random.subarray(0, 20_000)], ['empty', Buffer.alloc(0)]];
}

test('the zero-run spec really makes zero runs all candidates', () => {
  const d = Math.min(Math.max(discriminator(ZERO_RUNS_CUT.avg), ZERO_RUNS_CUT.min), ZERO_RUNS_CUT.max);
  const bits = new Uint32Array(10);
  markCandidates(new Uint8Array(300), WINDOW, 300, d, bits);
  for (let p = WINDOW; p <= 300; p++) assert.equal(firstCandidate(bits, p, p), p);
});

test('the WebAssembly and the C scan mark exactly the bits of the JS scan', () => {
  assert.ok(markCandidatesNative, 'the scan addon is built (npm install)');
  for (const [name, plain] of inputs()) {
    if (plain.length < 100) continue;
    // The workers scan blocks in SharedArrayBuffers.
    const data = new Uint8Array(new SharedArrayBuffer(plain.length));
    data.set(plain);
    // 1 (every position), 2 and 2^32 - 5 are the edges of the divisibility test both use.
    for (const d of [49535, 3943, 75, 192, 1, 2, 2 ** 32 - 5]) {
      for (const [from, to] of [[WINDOW, data.length], [WINDOW + 1, Math.min(data.length, 70_001)], [Math.floor(data.length / 3), data.length - 1], [500, 499], [1000, 1000],
        // The C scan's four interleaved chains: stretches shorter than, equal to and just past a multiple of four.
        [WINDOW, WINDOW + 3], [WINDOW, WINDOW + 4], [777, 777 + 4 * 1000], [777, 777 + 4 * 1000 + 1]] as const) {
        const a = new Uint32Array(Math.floor(data.length / 32) + 1).fill(0xdeadbeef);
        const b = new Uint32Array(a.length).fill(0xdeadbeef);
        const c = new Uint32Array(a.length).fill(0xdeadbeef);
        markCandidates(data, from, to, d, a);
        markCandidatesWasm(data, from, to, d, b);
        markCandidatesNative(data, from, to, d, c);
        assert.deepEqual(b, a, `wasm ${name} d=${d} [${from}, ${to}]`);
        assert.deepEqual(c, a, `C ${name} d=${d} [${from}, ${to}]`);
      }
    }
  }
});

test('the C scan refuses what would read or write outside its arrays', () => {
  const mark = markCandidatesNative!;
  const buf = new Uint8Array(1000);
  const bits = new Uint32Array(32);
  assert.throws(() => mark(buf, 47, 100, 7, bits), RangeError);
  assert.throws(() => mark(buf, 48, 1001, 7, bits), RangeError);
  assert.throws(() => mark(buf, 48, 999, 0, bits), RangeError);
  assert.throws(() => mark(buf, 48, 999, 2 ** 32, bits), RangeError);
  assert.throws(() => mark(buf, 48, 999, 7, new Uint32Array(31)), RangeError);
  assert.throws(() => mark(buf, 48.5, 999, 7, bits), RangeError);
  assert.throws(() => mark(buf, 1e30, 999, 7, bits), RangeError);
  assert.throws(() => mark(buf, 48, 998.5, 7, bits), RangeError);
  assert.throws(() => mark(buf, 48, Number.NaN, 7, bits), RangeError);
  mark(buf, 48, -1, 7, bits); // to < from: nothing to do, as in the JS scan
  assert.throws(() => mark(new Uint16Array(500) as unknown as Uint8Array, 48, 499, 7, bits), TypeError);
  mark(buf, 48, 999, 7, bits);
});

test('firstCandidate finds the first set bit in a range', () => {
  const bits = new Uint32Array(8);
  bits[1] = (1 << 31) >>> 0;
  bits[3] = 0b1001;
  assert.equal(firstCandidate(bits, 0, 255), 63);
  assert.equal(firstCandidate(bits, 63, 63), 63);
  assert.equal(firstCandidate(bits, 64, 255), 96);
  assert.equal(firstCandidate(bits, 97, 98), -1);
  assert.equal(firstCandidate(bits, 97, 99), 99);
  assert.equal(firstCandidate(bits, 100, 255), -1);
  assert.equal(firstCandidate(bits, 5, 4), -1);
});

test('block-wise candidates + in-order cuts equal the serial chunker (casync) on every input and block size', () => {
  const specs: ChunkerSpec[] = [DEFAULT_CDC, ZERO_RUNS_CUT, { kind: 'cdc', min: 64, avg: 256, max: 1024 }, { kind: 'cdc', min: 48, avg: 100, max: 200 }, { kind: 'cdc', min: 4096, avg: 4096, max: 4096 }, { kind: 'fixed', size: 262144 }, { kind: 'fixed', size: 1000 }];
  for (const [name, data] of inputs()) {
    for (const spec of specs) {
      const want = serialEnds(spec, data);
      for (const block of [1, 777, 65536, 1 << 20, 4 << 20]) {
        if (block < 1000 && data.length > 200_000) continue;
        assert.deepEqual(blockEnds(spec, data, block), want, `${name}, ${JSON.stringify(spec)}, block ${block}`);
      }
    }
  }
});

test('markCandidates sets exactly the positions the serial chunker would test true', () => {
  const rnd = lcg(3);
  const data = Buffer.alloc(100_000);
  for (let i = 0; i < data.length; i++) data[i] = rnd() < 0.5 ? 0 : Math.floor(rnd() * 4);
  // min = 48, avg small: many candidates; every serial cut with length < max must be a candidate, and vice versa along the way.
  const spec = { kind: 'cdc', min: 48, avg: 64, max: 1 << 20 } as const;
  const d = Math.min(Math.max(discriminator(spec.avg), spec.min), spec.max);
  const bits = new Uint32Array(Math.floor(data.length / 32) + 1);
  markCandidates(data, WINDOW, data.length, d, bits);
  const serial = serialEnds(spec, data);
  let s = 0;
  for (const e of serial.slice(0, -1)) {
    assert.equal(firstCandidate(bits, s + spec.min, data.length), e);
    s = e;
  }
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bbB-ingest-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function* pieces(data: Buffer, rnd: () => number): AsyncIterable<Uint8Array> {
  for (let pos = 0; pos < data.length; ) {
    const n = 1 + Math.floor(rnd() * 300_000);
    yield data.subarray(pos, pos + n);
    pos += n;
  }
}

test('ingest through the worker pool: the index has the serial chunker\'s cuts and the chunks\' ids', async () => {
  const rnd = lcg(11);
  for (const [name, data] of inputs()) {
    for (const spec of [DEFAULT_CDC, ZERO_RUNS_CUT, { kind: 'fixed', size: 65536 } as const]) {
      for (const blockSize of spec === DEFAULT_CDC ? [100_000, 2 * 1024 * 1024] : [100_000]) {
        const pool = new ChunkPool(path.join(tmp, 'store'), 3, 2, chunkerSizes(spec)[2], { blockSize, slots: 3 });
        try {
          const r = await ingest(fromPieces(pieces(data, rnd)), spec, pool);
          const idx = decodeIndex(r.index);
          const want = serialEnds(spec, data);
          assert.equal(r.size, data.length);
          assert.deepEqual(Array.from(idx.ends), want, `${name} ${JSON.stringify(spec)} ${blockSize}`);
          let s = 0;
          want.forEach((e, i) => {
            assert.ok(chunkId(idx, i).equals(hashChunk(data.subarray(s, e))), `${name}: chunk ${i} id`);
            s = e;
          });
        } finally {
          await pool.close();
        }
      }
    }
  }
});
