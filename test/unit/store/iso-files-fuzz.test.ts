// A hostile or broken ISO at publish (iso-files.ts runs inside serve): directory records with
// huge lengths, a folder that contains itself, Rock Ridge CE continuations that loop or claim
// gigabytes, a root record that is not one, 200,000 extents, overlapping extents, and 100,000
// mutations of a real xorriso ISO. Each gets a one-line Error or a listing inside the image,
// within a read bound; none crashes (TypeError, RangeError) or hangs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { isoFolderFiles, MAX_DIR_BYTES } from '../../../src/boot/iso-files.ts';
import type { ImageReader } from '../../../src/store/types.ts';
import { fuzzCount, fuzzScale, fuzzSeed, rng } from '../../helpers/rng.ts';

const S = 2048;
const haveXorriso = spawnSync('sh', ['-c', 'command -v xorriso']).status === 0;

/** A reader over `buf` that may claim a larger `size` (a 6 GB ISO) and records its largest read. */
function reader(buf: Buffer, size = buf.length): ImageReader & { largest: number } {
  const r = {
    size, largest: 0,
    read: async (o: number, l: number) => {
      r.largest = Math.max(r.largest, l);
      if (l > MAX_DIR_BYTES) throw new Error(`TEST: read of ${l} bytes`);
      // The ImageReader contract: the caller keeps offset + length within size.
      if (o < 0 || o + l > size) throw new Error(`TEST: read ${o}+${l} past the size ${size}`);
      const out = Buffer.alloc(l);
      if (o < buf.length) buf.copy(out, 0, o, Math.min(o + l, buf.length));
      return out;
    },
  };
  return r as unknown as ImageReader & { largest: number };
}

/** A small real ISO: a long Rock Ridge name (continued in a CE area), a sub folder, several files. */
function buildIso(): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-isofuzz-'));
  try {
    const c = path.join(dir, 'tree', 'casper');
    fs.mkdirSync(path.join(c, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(c, 'minimal.squashfs'), Buffer.alloc(5000, 1));
    fs.writeFileSync(path.join(c, 'minimal.standard.live.squashfs'), Buffer.alloc(3000, 2));
    fs.writeFileSync(path.join(c, `${'minimal.'.repeat(28)}squashfs`), Buffer.alloc(100, 3));
    fs.writeFileSync(path.join(c, 'empty'), '');
    fs.writeFileSync(path.join(c, 'sub', 'nested'), 'x');
    const iso = path.join(dir, 'x.iso');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-o', iso, path.join(dir, 'tree')], { stdio: 'pipe' });
    return fs.readFileSync(iso);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface Rec { off: number; lba: number; len: number; name: string; flags: number }
function recordsAt(b: Buffer, lba: number, length: number): Rec[] {
  const out: Rec[] = [];
  let off = lba * S;
  const end = off + length;
  while (off < end) {
    const l = b[off]!;
    if (l === 0) { off = (Math.floor(off / S) + 1) * S; continue; }
    out.push({ off, lba: b.readUInt32LE(off + 2), len: b.readUInt32LE(off + 10), flags: b[off + 25]!, name: b.toString('latin1', off + 33, off + 33 + b[off + 32]!) });
    off += l;
  }
  return out;
}
function setBoth32(b: Buffer, at: number, v: number): void { b.writeUInt32LE(v, at); b.writeUInt32BE(v, at + 4); }
function layout(b: Buffer) {
  const rootLba = b.readUInt32LE(16 * S + 156 + 2);
  const root = recordsAt(b, rootLba, b.readUInt32LE(16 * S + 156 + 10));
  const casper = root.find((r) => r.name === 'CASPER')!;
  const inCasper = recordsAt(b, casper.lba, casper.len);
  return { rootLba, root, casper, inCasper, sub: inCasper.find((r) => r.name === 'SUB')! };
}
/** Offsets of the CE entries in the casper/ folder's System Use areas. */
function ceEntries(b: Buffer, recs: Rec[]): number[] {
  const out: number[] = [];
  for (const r of recs) {
    for (let o = r.off + 33; o + 28 <= r.off + b[r.off]!; o++) if (b.toString('latin1', o, o + 2) === 'CE' && b[o + 2] === 28 && b[o + 3] === 1) out.push(o);
  }
  return out;
}

const crashes = (err: unknown) => err instanceof TypeError || err instanceof RangeError || !(err instanceof Error) || /^TEST:/.test(err.message);

test('iso-files: hostile records give a one-line error or a bounded listing', { timeout: 60_000 }, async (t) => {
  if (!haveXorriso) return t.skip('needs xorriso');
  const iso = buildIso();
  const L = layout(iso);
  const ok = await isoFolderFiles(reader(iso), 'casper');
  assert.equal(ok.length, 4);
  assert.ok(ceEntries(iso, L.inCasper).length >= 1, 'the fixture continues a Rock Ridge name in a CE area');

  // Root record that is not one (length byte 0 / 255): was a TypeError "Cannot read properties of undefined".
  for (const v of [0, 33, 255]) {
    const b = Buffer.from(iso); b[16 * S + 156] = v;
    await assert.rejects(isoFolderFiles(reader(b), 'casper'), /not an ISO 9660 image/);
  }
  // casper/ claims 4 GB in a 6 GB image: was a 4 GB read into memory in serve.
  {
    const b = Buffer.from(iso); setBoth32(b, L.casper.off + 10, 0xffff0000);
    const r = reader(b, 6 * 1024 ** 3);
    await assert.rejects(isoFolderFiles(r, 'casper'), /claims 4294901760 bytes .*a damaged ISO/);
    assert.ok(r.largest <= MAX_DIR_BYTES);
  }
  // A CE continuation claiming 4 GB, and one that points at itself (a loop).
  for (const [what, patch] of [
    ['huge', (b: Buffer, o: number) => setBoth32(b, o + 20, 0xfffff000)],
    ['loop', (b: Buffer, o: number) => { setBoth32(b, o + 4, Math.floor(o / S)); setBoth32(b, o + 12, o % S - (o % S)); setBoth32(b, o + 20, S); }],
  ] as const) {
    const b = Buffer.from(iso);
    for (const o of ceEntries(b, L.inCasper)) patch(b, o);
    const r = reader(b, 6 * 1024 ** 3);
    const t0 = Date.now();
    const got = await isoFolderFiles(r, 'casper');
    assert.ok(Date.now() - t0 < 2000, what);
    assert.ok(r.largest <= S, `${what}: read ${r.largest} bytes for a CE area`);
    assert.equal(got.length, 4, what);
  }
  // casper/sub is casper/ itself: a folder path walks no further than its parts.
  {
    const b = Buffer.from(iso); setBoth32(b, L.sub.off + 2, L.casper.lba); setBoth32(b, L.sub.off + 10, L.casper.len);
    assert.equal((await isoFolderFiles(reader(b), 'casper/sub/sub/sub')).length, 4);
  }
  // One 3000-byte extent named 20,000 times (overlapping extents): would publish 20,000 copies.
  {
    const live = L.inCasper.find((r) => r.len === 3000)!;
    const recLen = iso[live.off]!;
    const perSector = Math.floor(S / recLen);
    const n = 20_000;
    const sectors = Math.ceil(n / perSector);
    const dir = Buffer.alloc(sectors * S);
    for (let i = 0; i < n; i++) iso.copy(dir, Math.floor(i / perSector) * S + (i % perSector) * recLen, live.off, live.off + recLen);
    const b = Buffer.concat([iso, dir]);
    setBoth32(b, L.casper.off + 2, iso.length / S); setBoth32(b, L.casper.off + 10, dir.length);
    await assert.rejects(isoFolderFiles(reader(b), 'casper'), /overlapping extents.*a damaged ISO/);
  }
  // One file of 200,000 extents (multi-extent flag on all but the last): Math.max(...) overflowed the stack.
  {
    const live = L.inCasper.find((r) => r.len === 3000)!;
    const recLen = 34; // the bare ISO 9660 record, one-byte name, no Rock Ridge: 60 a sector
    const perSector = Math.floor(S / recLen);
    const n = 200_000;
    const dir = Buffer.alloc(Math.ceil(n / perSector) * S);
    for (let i = 0; i < n; i++) {
      const at = Math.floor(i / perSector) * S + (i % perSector) * recLen;
      iso.copy(dir, at, live.off, live.off + 33);
      dir[at] = recLen; dir[at + 32] = 1; dir[at + 33] = 0x41;
      setBoth32(dir, at + 10, 0); // empty extents: the file stays inside the image
      if (i < n - 1) dir[at + 25] = dir[at + 25]! | 0x80;
    }
    const b = Buffer.concat([iso, dir]);
    setBoth32(b, L.casper.off + 2, iso.length / S); setBoth32(b, L.casper.off + 10, dir.length);
    const got = await isoFolderFiles(reader(b), 'casper');
    assert.equal(got.length, 1);
    assert.equal(got[0]!.extents.length, n - 1); // the first, empty, record opens the file without an extent
  }
});

test('iso-files fuzz: 100,000 mutated xorriso ISOs, an error or a listing inside the image', { timeout: 300_000 * fuzzScale() }, async (t) => {
  if (!haveXorriso) return t.skip('needs xorriso');
  const iso = buildIso();
  const L = layout(iso);
  const r = rng(fuzzSeed(0x150f));
  const rnd = (n: number) => Math.floor(r() * n);
  // Where the metadata lies: the PVD, the root folder, casper/, casper/sub, and their CE areas.
  const hot: [number, number][] = [[16 * S, 16 * S + 256], [L.rootLba * S, L.rootLba * S + S], [L.casper.lba * S, L.casper.lba * S + L.casper.len], [L.sub.lba * S, L.sub.lba * S + S]];
  for (const o of ceEntries(iso, L.inCasper)) { const lba = iso.readUInt32LE(o + 4); hot.push([lba * S, lba * S + S]); }
  const interesting = [0, 1, 16, L.rootLba, L.casper.lba, L.sub.lba, iso.length / S, iso.length / S + 1, 0x7fffffff, 0xffffffff, S, 34, 255];
  const buf = Buffer.from(iso);
  let errors = 0;
  let listings = 0;
  const t0 = Date.now();
  for (let i = 0, n = fuzzCount(100_000); i < n; i++) {
    const saved: [number, number][] = [];
    const set = (at: number, v: number) => { if (at >= 0 && at < buf.length) { saved.push([at, buf[at]!]); buf[at] = v & 255; } };
    for (let k = 1 + rnd(4); k > 0; k--) {
      const [a, z] = hot[rnd(hot.length)]!;
      const at = a + rnd(z - a);
      switch (rnd(4)) {
        case 0: set(at, rnd(256)); break;
        case 1: set(at, buf[at]! ^ (1 << rnd(8))); break;
        case 2: { const v = interesting[rnd(interesting.length)]!; for (let j = 0; j < 4; j++) set(at + j, v >>> (8 * j)); for (let j = 0; j < 4; j++) set(at + 4 + j, v >>> (24 - 8 * j)); break; }
        default: for (let j = rnd(34); j > 0; j--) set(at + j, 0); // a zero-length name, a cut record
      }
    }
    const size = rnd(8) ? buf.length : rnd(buf.length);
    const rd = reader(buf.subarray(0, size), rnd(4) ? size : 6 * 1024 ** 3);
    const folder = rnd(5) ? 'casper' : 'casper/sub';
    try {
      const got = await isoFolderFiles(rd, folder);
      listings++;
      let total = 0;
      for (const f of got) {
        assert.equal(typeof f.name, 'string');
        total += f.size;
        for (const e of f.extents) assert.ok(e.start >= 0 && e.start + e.length <= rd.size, `input ${i}: extent past the end`);
      }
      assert.ok(total <= rd.size, `input ${i}: ${total} bytes listed`);
    } catch (err) {
      if (crashes(err)) throw new Error(`input ${i} (FUZZ_SEED replays): ${(err as Error).stack}`);
      assert.ok(!(err as Error).message.includes('\n'), 'one line');
      errors++;
    }
    assert.ok(rd.largest <= MAX_DIR_BYTES);
    for (let j = saved.length - 1; j >= 0; j--) buf[saved[j]![0]] = saved[j]![1];
  }
  t.diagnostic(`${errors} errors, ${listings} listings in ${Date.now() - t0} ms`);
});
