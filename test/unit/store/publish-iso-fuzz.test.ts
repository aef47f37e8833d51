// publish in serve over mutated layered ISOs (rootKind 'iso': the casper/ folder read from the
// stored ISO by iso-files.ts): 1,500 mutations (each fsyncs its files) of a real xorriso ISO's metadata, names full of
// '/', '.', NUL. Each publish resolves or rejects with a plain Error; every file written lies in
// the version's casper/ folder, no temp file is left, and no more bytes are written than the
// image holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { publishVersion } from '../../../src/boot/publish.ts';
import type { ImageReader } from '../../../src/store/types.ts';
import { fuzzCount, fuzzScale, fuzzSeed, rng } from '../../helpers/rng.ts';
import { mutateIso } from '../../helpers/iso-mutate.ts';

const S = 2048;
const haveXorriso = spawnSync('sh', ['-c', 'command -v xorriso']).status === 0;

function walk(dir: string, out: { file: string; size: number }[] = []): { file: string; size: number }[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push({ file: p, size: fs.lstatSync(p).size });
  }
  return out;
}

test('publish fuzz: 1,500 mutated layered ISOs write only inside the version\'s casper/ folder', { timeout: 300_000 * fuzzScale() }, async (t) => {
  if (!haveXorriso) return t.skip('needs xorriso');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-pubfuzz-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const c = path.join(dir, 'tree', 'casper');
  fs.mkdirSync(path.join(c, 'sub'), { recursive: true });
  for (const [n, len] of [['minimal.squashfs', 5000], ['minimal.standard.live.squashfs', 3000], ['xx', 10], ['abc', 20], [`${'minimal.'.repeat(28)}squashfs`, 100]] as const) fs.writeFileSync(path.join(c, n), Buffer.alloc(len, n.length));
  fs.writeFileSync(path.join(c, 'sub', 'nested'), 'x');
  const isoFile = path.join(dir, 'x.iso');
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-o', isoFile, path.join(dir, 'tree')], { stdio: 'pipe' });
  const iso = fs.readFileSync(isoFile);
  // The metadata: PVD, root folder, casper/ (its records, NM names, CE areas follow in the next sectors).
  const rootLba = iso.readUInt32LE(16 * S + 158);
  const hot: [number, number][] = [[16 * S + 150, 16 * S + 200], [rootLba * S, rootLba * S + S]];
  for (let off = rootLba * S; off < rootLba * S + S && iso[off];) {
    if (iso.toString('latin1', off + 33, off + 39) === 'CASPER') { const l = iso.readUInt32LE(off + 2); hot.push([l * S, l * S + 3 * S]); }
    off += iso[off]!;
  }
  assert.equal(hot.length, 3);
  const r = rng(fuzzSeed(0x9b1));
  const rnd = (n: number) => Math.floor(r() * n);
  const root = path.join(dir, 'export');
  const casperDir = path.join(root, 'img', '1', 'casper');
  const tally = { ok: 0, error: 0 };
  const buf = Buffer.from(iso);
  for (let i = 0, n = fuzzCount(1500); i < n; i++) {
    const undo = mutateIso(buf, hot, rnd, () => [0, 0xffffffff, rootLba, 0x7fffffff][rnd(4)]!);
    const reader: ImageReader = {
      size: buf.length,
      read: async (o, l) => {
        assert.ok(o >= 0 && o + l <= buf.length && l <= 16 * 1024 * 1024, `input ${i}: read ${o}+${l}`);
        return Buffer.from(buf.subarray(o, o + l));
      },
    } as ImageReader;
    try {
      await publishVersion({ exportDir: root, image: 'img', version: 1, flavor: 'casper', reader, rootKind: 'iso' });
      tally.ok++;
    } catch (err) {
      if (err instanceof TypeError || err instanceof RangeError || !(err instanceof Error) || err.name === 'AssertionError') throw new Error(`input ${i} (FUZZ_SEED replays): ${(err as Error).stack}`);
      tally.error++;
    }
    const files = fs.existsSync(root) ? walk(root) : [];
    let bytes = 0;
    for (const f of files) {
      assert.equal(path.dirname(f.file), casperDir, `input ${i}: wrote ${f.file}`);
      assert.ok(!f.file.includes('.partial-'), `input ${i}: left ${f.file}`);
      bytes += f.size;
    }
    assert.ok(bytes <= buf.length, `input ${i}: ${bytes} bytes written`);
    fs.rmSync(root, { recursive: true, force: true });
    undo();
  }
  t.diagnostic(`${JSON.stringify(tally)}`);
});
