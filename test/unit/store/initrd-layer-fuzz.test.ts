// An admin's initrd read at import for LAYERFS_PATH (initrd-layer.ts), and the layer names of
// an ISO (casper-layers.ts): compression bombs stop at a bound in bounded memory, damaged cpio
// (cut, non-hex or huge sizes) is "could not be read" rather than "no default layer", nesting
// stops, and 100,000 mutated initrds and layer sets give an answer or a one-line error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { compress } from 'zstd-napi';
import { initrdLayer, MAX_DECOMPRESSED, type InitrdLayer } from '../../../src/store/initrd-layer.ts';
import { casperLayers } from '../../../src/store/casper-layers.ts';
import { ImageInputError } from '../../../src/store/probe.ts';
import { fuzzCount, fuzzScale, fuzzSeed, rng } from '../../helpers/rng.ts';
import { newc } from './newc.ts';

async function* chunks(b: Buffer, size = 65536): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

const early = newc([['kernel', null], ['kernel/x86/microcode/AuthenticAMD.bin', Buffer.alloc(3000, 7)]]);
const main = newc([['bin', Buffer.alloc(7000, 1)], ['conf', null], ['conf/conf.d/default-layer.conf', 'LAYERFS_PATH=minimal.standard.live.squashfs\n'], ['scripts/casper', Buffer.alloc(500, 3)]]);
const found = { readable: true, layerfsPath: 'minimal.standard.live.squashfs' };

test('initrd: a zstd bomb stops at the bound in bounded memory (DecompressStream held 4 GB for 130 KB)', { timeout: 120_000 }, async () => {
  // 17 frames of 64 MiB of zeros, 2 KB each: 1.06 GiB of output behind the early archive.
  const frame = compress(Buffer.alloc(64 * 1024 ** 2));
  const bomb = Buffer.concat([early, ...Array.from({ length: 17 }, () => frame)]);
  assert.ok(bomb.length < 100_000);
  let peak = 0;
  const base = process.memoryUsage().rss;
  const iv = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss - base); }, 20);
  const r = await initrdLayer(chunks(bomb));
  clearInterval(iv);
  assert.equal(r.readable, false);
  assert.match((r as { why: string }).why, new RegExp(`more than ${MAX_DECOMPRESSED / 1024 ** 2} MiB decompressed .*compression bomb`));
  assert.ok(peak < 400 * 1024 ** 2, `RSS grew ${Math.round(peak / 1e6)} MB`);
});

test('initrd: a gzip bomb, a cpio of one huge file, and nesting stop', { timeout: 60_000 }, async () => {
  const member = gzipSync(Buffer.alloc(16 * 1024 ** 2));
  const gz = Buffer.concat([early, ...Array.from({ length: 8 }, () => member)]);
  const r = await initrdLayer(chunks(gz), 64 * 1024 ** 2);
  assert.deepEqual(r, { readable: false, why: 'more than 64 MiB decompressed without finding conf/conf.d/default-layer.conf (a compression bomb?)' });
  // The plain archive and three compressions inside each other are read; a fourth is not.
  let nested = main;
  for (let i = 0; i < 2; i++) nested = gzipSync(nested);
  assert.deepEqual(await initrdLayer(chunks(Buffer.concat([early, compress(nested)]))), found);
  nested = compress(gzipSync(nested));
  assert.deepEqual(await initrdLayer(chunks(nested)), { readable: false, why: 'nested too deep' });
});

test('initrd: damaged cpio is "could not be read", not "no default layer" (which accepts any ISO)', async () => {
  const hdr = (b: Buffer, field: number, text: string) => { const c = Buffer.from(b); c.write(text, 6 + 8 * field, 'latin1'); return c; };
  const cases: [string, Buffer][] = [
    ['cut in a header', Buffer.concat([early, main.subarray(0, 50)])],
    ['cut in a file', Buffer.concat([early, main.subarray(0, 300)])],
    ['no trailer', early.subarray(0, early.indexOf('TRAILER!!!') - 110)],
    ['non-hex size', Buffer.concat([early, hdr(main, 6, '12zz0000')])],
    ['negative size', Buffer.concat([early, hdr(main, 6, '-0000001')])],
    ['4 GiB file', Buffer.concat([early, hdr(main, 6, 'ffffffff')])],
    ['name of 0 bytes', Buffer.concat([early, hdr(main, 11, '00000000')])],
    ['name of 4 GiB', Buffer.concat([early, hdr(main, 11, 'fffffff0')])],
    ['zstd cut', Buffer.concat([early, compress(main).subarray(0, 20)])],
    ['gzip cut', Buffer.concat([early, gzipSync(main).subarray(0, 20)])],
    ['empty', Buffer.alloc(0)],
  ];
  for (const [what, b] of cases) {
    const r = await initrdLayer(chunks(b, 97));
    assert.equal(r.readable, false, `${what}: ${JSON.stringify(r)}`);
  }
  // Zero padding between archives and a conf read in 1-byte pieces still work.
  assert.deepEqual(await initrdLayer(chunks(Buffer.concat([early, Buffer.alloc(4096), gzipSync(main)]), 1)), found);
});

test('casper-layers: a LAYERFS_PATH of 30,000 dots and an ISO of 200,000 layers answer in one line, fast', () => {
  const t0 = Date.now();
  // Was: a chain of 30,000 names up to 60 KB each (1 GB) and a join past V8's string limit.
  assert.throws(() => casperLayers('x.iso', ['a.squashfs'], { readable: true, layerfsPath: `${'a.'.repeat(30_000)}squashfs` }), (e: Error) => e instanceof ImageInputError && /no file name is that long/.test(e.message) && e.message.length < 400);
  // Was: leaves() compared every pair, 4·10^10 compares.
  const names = Array.from({ length: 200_000 }, (_, i) => `l${i}.x${i % 7}.squashfs`).sort();
  assert.throws(() => casperLayers('x.iso', names, { readable: false, why: 'xz' }), (e: Error) => e instanceof ImageInputError && /no live layer/.test(e.message) && /and 199988 more/.test(e.message) && e.message.length < 2000);
  assert.ok(Date.now() - t0 < 5000, `${Date.now() - t0} ms`);
});

test('initrd + casper-layers fuzz: 100,000 mutated initrds and layer sets', { timeout: 300_000 * fuzzScale() }, async (t) => {
  const r = rng(fuzzSeed(0x1d7d));
  const rnd = (n: number) => Math.floor(r() * n);
  const plain = Buffer.concat([early, main]);
  const seeds = [plain, Buffer.concat([early, gzipSync(main)]), Buffer.concat([early, compress(main)])];
  const words = ['minimal', 'standard', 'live', 'en', 'enhanced-secureboot', 'filesystem', '', 'a'];
  const t0 = Date.now();
  const tally: Record<string, number> = {};
  for (let i = 0, n = fuzzCount(100_000); i < n; i++) {
    // Uncompressed cpio is cheap and most of the parser: nine in ten; the rest through gzip/zstd.
    const seed = i % 10 ? plain : seeds[1 + rnd(2)]!;
    const b = Buffer.from(seed);
    for (let k = 1 + rnd(4); k > 0; k--) {
      const at = rnd(b.length);
      switch (rnd(5)) {
        case 0: b[at] = rnd(256); break;
        case 1: b[at] = b[at]! ^ (1 << rnd(8)); break;
        case 2: b.write('0123456789abcdefgxzFFFF-'[rnd(24)]!, at, 'latin1'); break; // a hex field off by one digit
        case 3: { const s = ['ffffffff', '00000000', '7fffffff', '-0000001', '        '][rnd(5)]!; b.write(s, Math.min(at, b.length - 8), 'latin1'); break; }
        default: break;
      }
    }
    const input = rnd(6) ? b : b.subarray(0, rnd(b.length));
    let got: InitrdLayer;
    try {
      got = await initrdLayer(chunks(input, 1 + rnd(4096)), 4 * 1024 ** 2);
    } catch (err) {
      throw new Error(`input ${i} threw (FUZZ_SEED replays): ${(err as Error).stack}`);
    }
    const key = got.readable ? (got.layerfsPath === undefined ? 'no conf' : 'layer') : 'unreadable';
    tally[key] = (tally[key] ?? 0) + 1;
    // The layer names the initrd gave, or random ones, through casperLayers.
    const names = Array.from({ length: rnd(6) }, () => `${Array.from({ length: 1 + rnd(3) }, () => words[rnd(words.length)]).join('.')}.squashfs`);
    try {
      const c = casperLayers('x.iso', [...new Set(names)].sort(), got);
      if (c.chain) for (const l of c.chain) assert.ok(names.includes(l), `input ${i}: chain names ${l}`);
    } catch (err) {
      if (!(err instanceof ImageInputError) || err.message.includes('\n')) throw new Error(`input ${i}: ${(err as Error).stack}`);
    }
  }
  t.diagnostic(`${JSON.stringify(tally)} in ${Date.now() - t0} ms`);
});
