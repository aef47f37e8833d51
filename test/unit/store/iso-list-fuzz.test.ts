// The import's side of an ISO (iso.ts): xorriso's listing of a hostile ISO and what detectLayout
// makes of it. A folder that contains itself keeps xorriso busy forever (it was an import that
// never ended); a file of 200,000 extents overflowed Math.max(...); 100,000 mutated listings
// give a layout or a one-line ImageInputError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { detectLayout, listIso, parseReportLba } from '../../../src/store/iso.ts';
import { ImageInputError } from '../../../src/store/probe.ts';
import { fuzzCount, fuzzScale, fuzzSeed, rng } from '../../helpers/rng.ts';

const S = 2048;
const haveXorriso = spawnSync('sh', ['-c', 'command -v xorriso']).status === 0;

test('listIso: a folder whose record points at itself ends in a one-line error at the deadline', { timeout: 60_000 }, async (t) => {
  if (!haveXorriso) return t.skip('needs xorriso');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-isoloop-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tree = path.join(dir, 'tree');
  fs.mkdirSync(path.join(tree, 'casper', 'sub'), { recursive: true });
  fs.writeFileSync(path.join(tree, 'casper', 'sub', 'x'), 'x');
  fs.writeFileSync(path.join(tree, 'casper', 'minimal.squashfs'), Buffer.alloc(5000, 1));
  const iso = path.join(dir, 'x.iso');
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-o', iso, tree], { stdio: 'pipe' });
  assert.ok((await listIso(iso)).has('/casper/sub/x'));
  // casper/SUB's record now names casper/ itself.
  const b = fs.readFileSync(iso);
  const recs = (lba: number, len: number) => {
    const out: { off: number; name: string; lba: number; len: number }[] = [];
    for (let off = lba * S; off < lba * S + len;) {
      if (!b[off]) { off = (Math.floor(off / S) + 1) * S; continue; }
      out.push({ off, name: b.toString('latin1', off + 33, off + 33 + b[off + 32]!), lba: b.readUInt32LE(off + 2), len: b.readUInt32LE(off + 10) });
      off += b[off]!;
    }
    return out;
  };
  const casper = recs(b.readUInt32LE(16 * S + 158), b.readUInt32LE(16 * S + 166)).find((r) => r.name === 'CASPER')!;
  const sub = recs(casper.lba, casper.len).find((r) => r.name === 'SUB')!;
  b.writeUInt32LE(casper.lba, sub.off + 2); b.writeUInt32BE(casper.lba, sub.off + 6);
  b.writeUInt32LE(casper.len, sub.off + 10); b.writeUInt32BE(casper.len, sub.off + 14);
  fs.writeFileSync(iso, b);
  const t0 = Date.now();
  await assert.rejects(listIso(iso, 3000), (e: Error) => e instanceof ImageInputError && /did not finish listing the ISO in 3 s/.test(e.message) && !e.message.includes('\n'));
  assert.ok(Date.now() - t0 < 10_000);
});

const listing = [
  "File data lba:  0 ,       40 ,        3 ,     5000 , '/casper/vmlinuz'",
  "File data lba:  0 ,       43 ,        2 ,     4000 , '/casper/initrd'",
  "File data lba:  0 ,       45 ,        1 ,     2000 , '/casper/minimal.squashfs'",
  "File data lba:  0 ,       46 ,        1 ,     2000 , '/casper/minimal.standard.squashfs'",
  "File data lba:  0 ,       47 ,        1 ,     2000 , '/casper/minimal.standard.live.squashfs'",
  "File data lba:  0 ,       48 ,        1 ,       20 , '/casper/install-sources.yaml'",
  "File data lba:  0 ,       49 ,        1 ,       20 , '/it'\"'\"'s'",
].join('\n');

test('detectLayout: a layer of 200,000 extents (Math.max(...) overflowed the stack)', () => {
  const lines = [listing];
  for (let i = 0; i < 200_000; i++) lines.push(`File data lba:  ${i} , ${50 + (i % 10)} , 1 , 2048 , '/casper/minimal.en.squashfs'`);
  const files = parseReportLba(lines.join('\n'));
  assert.equal(files.get("/it's")?.size, 20);
  assert.equal(files.get('/casper/minimal.en.squashfs')!.extents.length, 200_000);
  const l = detectLayout(files, 'x.iso', 60 * S, { readable: true, layerfsPath: 'minimal.standard.live.squashfs' });
  assert.equal(l.rootKind, 'iso');
  assert.throws(() => detectLayout(files, 'x.iso', 59 * S, { readable: true, layerfsPath: undefined }), /ISO is truncated: \/casper\/minimal.en.squashfs needs bytes up to 122880/);
});

test('parseReportLba + detectLayout fuzz: 100,000 mutated listings, a layout or a one-line error', { timeout: 300_000 * fuzzScale() }, (t) => {
  const r = rng(fuzzSeed(0x1505));
  const rnd = (n: number) => Math.floor(r() * n);
  const junk = ["'", ',', ' ', '\n', '/', '.', '9', '99999999999999999999', '-1', 'casper/', '.squashfs', 'live.', '\0', 'é'];
  const tally: Record<string, number> = {};
  const t0 = Date.now();
  for (let i = 0, n = fuzzCount(100_000); i < n; i++) {
    let s = listing;
    for (let k = 1 + rnd(5); k > 0; k--) {
      const at = rnd(s.length + 1);
      s = rnd(3) ? s.slice(0, at) + junk[rnd(junk.length)] + s.slice(at + rnd(3)) : s.slice(0, at) + s.slice(at + 1 + rnd(20));
    }
    const files = parseReportLba(s);
    for (const f of files.values()) for (const e of f.extents) assert.ok(e.start >= 0 && e.length >= 0, `input ${i}`);
    const initrd = [undefined, { readable: true as const, layerfsPath: undefined }, { readable: true as const, layerfsPath: 'minimal.standard.live.squashfs' }, { readable: false as const, why: 'xz' }][rnd(4)];
    try {
      const l = detectLayout(files, 'x.iso', rnd(8) ? 60 * S : rnd(60 * S), initrd);
      tally[l.rootKind] = (tally[l.rootKind] ?? 0) + 1;
    } catch (err) {
      if (!(err instanceof ImageInputError) || err.message.includes('\n')) throw new Error(`input ${i} (FUZZ_SEED replays): ${(err as Error).stack}\n${JSON.stringify(s)}`);
      tally.error = (tally.error ?? 0) + 1;
    }
  }
  t.diagnostic(`${JSON.stringify(tally)} in ${Date.now() - t0} ms`);
});
