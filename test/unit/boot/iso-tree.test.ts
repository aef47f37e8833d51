// The walk through an ISO's package pool (iso-files.ts isoTreeFiles) and its publication beside
// casper/ (publish.ts), on ISOs made by the real xorriso and then damaged: folders whose records
// point back at an ancestor, nesting past the depth bound, more folders than the bound, names
// with "/", "..", NUL in pool/, symbolic links. Each is a one-line error or a listing that stays
// inside the image; nothing is written outside the version's folder; 1,000 mutations of the
// metadata keep all of that.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { isoTreeFiles, TREE_LIMITS } from '../../../src/boot/iso-files.ts';
import { publishVersion, ISO_MEDIA_FOLDERS } from '../../../src/boot/publish.ts';
import type { ImageReader } from '../../../src/store/types.ts';
import { fuzzCount, fuzzScale, fuzzSeed, rng } from '../../helpers/rng.ts';
import { mutateIso } from '../../helpers/iso-mutate.ts';

const S = 2048;
const haveXorriso = spawnSync('sh', ['-c', 'command -v xorriso']).status === 0;

const reader = (buf: Buffer): ImageReader & { largest: number } => {
  const r = {
    size: buf.length, largest: 0,
    read: async (o: number, l: number) => {
      assert.ok(o >= 0 && o + l <= buf.length, `read ${o}+${l} past ${buf.length}`);
      r.largest = Math.max(r.largest, l);
      return Buffer.from(buf.subarray(o, o + l));
    },
  };
  return r;
};

/** An ISO (xorriso -R) of `files` (path → bytes, or { link }) in a fresh folder. */
function makeIso(dir: string, files: Record<string, Buffer | string | { link: string }>): Buffer {
  const tree = fs.mkdtempSync(path.join(dir, 'tree-'));
  for (const [p, c] of Object.entries(files)) {
    fs.mkdirSync(path.join(tree, path.dirname(p)), { recursive: true });
    if (typeof c === 'object' && !Buffer.isBuffer(c)) fs.symlinkSync(c.link, path.join(tree, p));
    else fs.writeFileSync(path.join(tree, p), c);
  }
  const out = path.join(dir, `${path.basename(tree)}.iso`);
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-o', out, tree], { stdio: 'pipe' });
  return fs.readFileSync(out);
}

/** Offset of the directory record named `id` (ISO 9660 id, e.g. "POOL") in the folder at `lba`. */
function recordOffset(iso: Buffer, lba: number, id: string): number {
  const len = iso.readUInt32LE(lba * S + 10);
  for (let off = lba * S; off < lba * S + len;) {
    const n = iso[off]!;
    if (n === 0) { off = (Math.floor(off / S) + 1) * S; continue; }
    const idLen = iso[off + 32]!;
    if (iso.toString('latin1', off + 33, off + 33 + idLen).replace(/;1$/, '') === id) return off;
    off += n;
  }
  throw new Error(`no ${id} in folder at ${lba}`);
}
const lbaOf = (iso: Buffer, off: number) => iso.readUInt32LE(off + 2);
const rootLba = (iso: Buffer) => iso.readUInt32LE(16 * S + 158);
const setLba = (iso: Buffer, off: number, lba: number) => { iso.writeUInt32LE(lba, off + 2); iso.writeUInt32BE(lba, off + 6); };

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => !e.isDirectory())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/')).sort();
}

const POOL = {
  'casper/minimal.squashfs': Buffer.alloc(5000, 1),
  'pool/main/g/grub2/grub-efi_2.12_amd64.deb': Buffer.alloc(7000, 2),
  'pool/main/s/shim/shim-signed_1.58_amd64.deb': Buffer.alloc(3000, 3),
  'pool/restricted/n/nvidia/nvidia_550_amd64.deb': Buffer.alloc(9000, 4),
  'dists/noble/Release': 'Codename: noble\n',
  'dists/noble/main/binary-amd64/Packages.gz': Buffer.alloc(300, 5),
  'dists/stable': { link: 'noble' },
  '.disk/info': 'Ubuntu 24.04.1 LTS\n',
  ubuntu: { link: '.' },
  'boot/grub/grub.cfg': 'menuentry {}\n',
} as const;

test('isoTreeFiles: every file below pool/, dists/, .disk/ with its bytes; links and other folders left out; missing folders are no error', { timeout: 60_000 }, async (t) => {
  if (!haveXorriso) return t.skip('needs xorriso');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-isotree-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const iso = makeIso(dir, POOL);
  const got = await isoTreeFiles(reader(iso), ISO_MEDIA_FOLDERS);
  const want = Object.entries(POOL).filter(([p, c]) => /^(pool|dists|\.disk)\//.test(p) && (Buffer.isBuffer(c) || typeof c === 'string'));
  assert.deepEqual(got.map((f) => f.segments.join('/')), want.map(([p]) => p).sort((a, b) => ISO_MEDIA_FOLDERS.indexOf(a.split('/')[0]!) - ISO_MEDIA_FOLDERS.indexOf(b.split('/')[0]!) || (a < b ? -1 : 1)));
  for (const f of got) {
    const bytes = Buffer.concat(f.extents.map((e) => iso.subarray(e.start, e.start + e.length)));
    assert.equal(bytes.equals(Buffer.from(POOL[f.segments.join('/') as keyof typeof POOL] as Buffer | string)), true, f.segments.join('/'));
  }
  assert.deepEqual(await isoTreeFiles(reader(iso), ['nothere', 'boot/efi']), []);
});

test('isoTreeFiles: a folder pointing back at an ancestor, nesting past the bound, too many folders: one-line errors, bounded reads', { timeout: 60_000 }, async (t) => {
  if (!haveXorriso) return t.skip('needs xorriso');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-isotree-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const iso = makeIso(dir, POOL);
  const pool = recordOffset(iso, rootLba(iso), 'POOL');
  const main = recordOffset(iso, lbaOf(iso, pool), 'MAIN');
  // pool/main names pool/ itself: a walk that followed it would never end.
  const loop = Buffer.from(iso);
  setLba(loop, main, lbaOf(iso, pool));
  await assert.rejects(isoTreeFiles(reader(loop), ['pool']), { message: 'pool/main/ is a folder met before (directory records in a loop): a damaged ISO' });
  // pool/main names the root: pool/main/pool/… again.
  const toRoot = Buffer.from(iso);
  setLba(toRoot, main, rootLba(iso));
  await assert.rejects(isoTreeFiles(reader(toRoot), ['pool']), /is a folder met before .*a damaged ISO$/);

  const deep = makeIso(dir, { [`pool/${Array.from({ length: TREE_LIMITS.depth + 2 }, (_, i) => `d${i}`).join('/')}/x.deb`]: 'x' });
  await assert.rejects(isoTreeFiles(reader(deep), ['pool']), /^Error: pool\/d0\/.* lies deeper than 16 folders: a damaged ISO$/);
  const ok = makeIso(dir, { [`pool/${Array.from({ length: TREE_LIMITS.depth - 1 }, (_, i) => `d${i}`).join('/')}/x.deb`]: 'x' });
  assert.equal((await isoTreeFiles(reader(ok), ['pool'])).length, 1, '16 deep is fine');

  const saved = { ...TREE_LIMITS };
  try {
    TREE_LIMITS.dirs = 4;
    await assert.rejects(isoTreeFiles(reader(iso), ['pool']), { message: 'pool/ has more than 4 folders: a damaged ISO' });
    TREE_LIMITS.dirs = saved.dirs;
    TREE_LIMITS.files = 2;
    await assert.rejects(isoTreeFiles(reader(iso), ['pool']), { message: 'pool/ has more than 2 files: a damaged ISO' });
    TREE_LIMITS.files = saved.files;
    TREE_LIMITS.dirBytes = 3 * S;
    await assert.rejects(isoTreeFiles(reader(iso), ['pool']), /^Error: pool\/ has more than 6144 bytes of directory records: a damaged ISO$/);
  } finally { Object.assign(TREE_LIMITS, saved); }

  // A 4 GiB directory length in pool/: refused before the read, as for casper/ (past the end of
  // this image; in one that large, over MAX_DIR_BYTES).
  const huge = Buffer.from(iso);
  huge.writeUInt32LE(0xffff0000, main + 10); huge.writeUInt32BE(0xffff0000, main + 14);
  const r = reader(huge);
  await assert.rejects(isoTreeFiles(r, ['pool']), /^Error: ISO directory at sector \d+ lies past the image's end$/);
  const vast = { ...reader(huge), size: 6 * 1024 ** 3 };
  await assert.rejects(isoTreeFiles(vast, ['pool']), /claims 4294901760 bytes .*a damaged ISO/);
  assert.ok(r.largest <= 16 * 1024 * 1024);
  // Two pool files sharing one extent past what the image holds: the overlap rule of casper/.
  const ab = makeIso(dir, { 'pool/a.deb': Buffer.alloc(40_000, 1), 'pool/b.deb': Buffer.alloc(40_000, 2) });
  const poolAb = lbaOf(ab, recordOffset(ab, rootLba(ab), 'POOL'));
  const a = recordOffset(ab, poolAb, 'A.DEB'), b = recordOffset(ab, poolAb, 'B.DEB');
  const big = ab.length - lbaOf(ab, a) * S;
  for (const off of [a, b]) { setLba(ab, off, lbaOf(ab, a)); ab.writeUInt32LE(big, off + 10); ab.writeUInt32BE(big, off + 14); }
  await assert.rejects(isoTreeFiles(reader(ab), ['pool']), /lists \d+ bytes of files in a \d+-byte image \(overlapping extents\): a damaged ISO/);
});

test('publish: pool/, dists/, .disk/ land beside casper/, names that cannot be one file name are left out with what lies below them', { timeout: 60_000 }, async (t) => {
  if (!haveXorriso) return t.skip('needs xorriso');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-isotree-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const iso = makeIso(dir, POOL);
  // Rename pool/main's Rock Ridge name in place to "..": same length would be needed, so use "m/n"-like damage on a 4-byte name.
  const bad = Buffer.from(iso);
  const poolLba = lbaOf(iso, recordOffset(iso, rootLba(iso), 'POOL'));
  const main = recordOffset(iso, poolLba, 'MAIN');
  const nm = bad.indexOf(Buffer.from('NM'), main);
  assert.ok(nm > main && nm < main + bad[main]!);
  bad.write('../x', nm + 5, 'latin1'); // "main" → "../x": would climb out of pool/
  const exportDir = path.join(dir, 'export');
  const r = await publishVersion({ exportDir, image: 'noble', version: 1, flavor: 'casper', reader: reader(bad), rootKind: 'iso' });
  assert.deepEqual(walk(dir).filter((f) => f.startsWith('export/')), [
    'export/noble/1/.disk/info', 'export/noble/1/casper/minimal.squashfs',
    'export/noble/1/dists/noble/Release', 'export/noble/1/dists/noble/main/binary-amd64/Packages.gz',
    'export/noble/1/pool/restricted/n/nvidia/nvidia_550_amd64.deb',
  ]);
  assert.equal(r.bytes, 5000 + 9000 + 16 + 300 + 19);
  assert.equal(fs.readFileSync(path.join(exportDir, 'noble/1/pool/restricted/n/nvidia/nvidia_550_amd64.deb')).equals(Buffer.alloc(9000, 4)), true);
});

test('publish stopped at any read: no temp file left, every pool file there is whole, the next pass completes it', { timeout: 60_000 }, async (t) => {
  if (!haveXorriso) return t.skip('needs xorriso');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-isotree-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const many: Record<string, Buffer> = { 'casper/minimal.squashfs': Buffer.alloc(5000, 1) };
  for (let i = 0; i < 40; i++) many[`pool/main/p/p${i}/p${i}_1_all.deb`] = Buffer.alloc(1000 + i * 97, i);
  many['dists/noble/Release'] = Buffer.from('Codename: noble\n');
  const iso = makeIso(dir, many);
  const exportDir = path.join(dir, 'export');
  for (const stopAt of [3, 10, 25, 44, 60]) {
    fs.rmSync(exportDir, { recursive: true, force: true });
    const ac = new AbortController();
    let reads = 0;
    const base = reader(iso);
    const r: ImageReader = { size: base.size, read: async (o, l) => { if (++reads === stopAt) ac.abort(new Error('stop')); return base.read(o, l); } };
    await publishVersion({ exportDir, image: 'noble', version: 1, flavor: 'casper', reader: r, rootKind: 'iso', signal: ac.signal }).then(() => {}, (err: Error) => assert.equal(err.message, 'stop'));
    for (const f of walk(exportDir)) {
      assert.ok(!f.includes('.partial-'), `stop at ${stopAt}: left ${f}`);
      assert.equal(fs.readFileSync(path.join(exportDir, f)).equals(many[f.split('/').slice(2).join('/')]!), true, `stop at ${stopAt}: ${f} not whole`);
    }
    const again = await publishVersion({ exportDir, image: 'noble', version: 1, flavor: 'casper', reader: reader(iso), rootKind: 'iso' });
    assert.deepEqual(walk(exportDir), Object.keys(many).map((k) => `noble/1/${k}`).sort());
    assert.equal(again.bytes, Object.values(many).reduce((n, b) => n + b.length, 0));
  }
});

test('publish fuzz: 1,000 mutated ISOs with a pool write only inside the version\'s casper/, pool/, dists/, .disk/', { timeout: 300_000 * fuzzScale() }, async (t) => {
  if (!haveXorriso) return t.skip('needs xorriso');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-isotree-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const iso = makeIso(dir, POOL);
  // The metadata: the PVD, the root folder, and every folder below pool/, dists/, .disk/.
  const hot: [number, number][] = [[16 * S + 150, 16 * S + 200], [rootLba(iso) * S, rootLba(iso) * S + S]];
  const folders = (lba: number, depth: number): void => {
    hot.push([lba * S, lba * S + S]);
    if (depth > 4) return;
    const len = iso.readUInt32LE(lba * S + 10);
    for (let off = lba * S; off < lba * S + len && iso[off];) {
      if ((iso[off + 25]! & 2) && iso[off + 32]! > 1) folders(lbaOf(iso, off), depth + 1);
      off += iso[off]!;
    }
  };
  for (const id of ['POOL', 'DISTS']) folders(lbaOf(iso, recordOffset(iso, rootLba(iso), id)), 0);
  const rnd0 = rng(fuzzSeed(0x7001));
  const rnd = (n: number) => Math.floor(rnd0() * n);
  const exportDir = path.join(dir, 'export');
  const allowed = new Set(['casper', 'pool', 'dists', '.disk']);
  const tally = { ok: 0, error: 0 };
  const buf = Buffer.from(iso);
  for (let i = 0, n = fuzzCount(1000); i < n; i++) {
    const undo = mutateIso(buf, hot, rnd, () => [0, 0xffffffff, rootLba(iso), 0x7fffffff, hot[rnd(hot.length)]![0] / S][rnd(5)]!);
    try {
      await publishVersion({ exportDir, image: 'img', version: 1, flavor: 'casper', reader: reader(buf), rootKind: 'iso' });
      tally.ok++;
    } catch (err) {
      if (err instanceof TypeError || err instanceof RangeError || !(err instanceof Error) || err.name === 'AssertionError') throw new Error(`input ${i} (FUZZ_SEED replays): ${(err as Error).stack}`);
      assert.ok(!err.message.includes('\n'), `input ${i}: one line: ${err.message}`);
      tally.error++;
    }
    let bytes = 0;
    for (const f of walk(exportDir)) {
      const [img, version, top] = f.split('/');
      assert.ok(img === 'img' && version === '1' && allowed.has(top!), `input ${i}: wrote ${f}`);
      assert.ok(!f.includes('.partial-'), `input ${i}: left ${f}`);
      bytes += fs.statSync(path.join(exportDir, f)).size;
    }
    assert.ok(bytes <= buf.length, `input ${i}: ${bytes} bytes written`);
    fs.rmSync(exportDir, { recursive: true, force: true });
    undo();
  }
  t.diagnostic(JSON.stringify(tally));
});
