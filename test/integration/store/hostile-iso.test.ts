// Importing hostile layered casper ISOs made by the real xorriso and mksquashfs: an initrd that
// is a zstd bomb (130 KB expanding past a gigabyte), an initrd whose cpio is cut, an ISO cut
// short, an ISO whose directories are garbage. Each ends in one line (or, for the bomb, in the layer-name rule)
// within bounded memory; none crashes or hangs the importer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { compress } from 'zstd-napi';
import { importImage } from '../../../src/store/importer.ts';
import { listIso } from '../../../src/store/iso.ts';
import { have, makeHarness, makeSquashfs, type StoreHarness } from './harness.ts';
import { newc } from '../../unit/store/newc.ts';

const missing = ['mksquashfs', 'xorriso'].filter((t) => !have(t));
let h: StoreHarness;
let layers: Record<string, string>;
const env = () => ({ config: h.config, db: h.handle.db, log: h.log });
const early = newc([['kernel', null], ['kernel/x86/microcode/GenuineIntel.bin', Buffer.alloc(5000, 9)]]);

function iso(name: string, initrd: Buffer, names = Object.keys(layers)): string {
  const tree = path.join(h.dir, `tree-${name}`);
  fs.mkdirSync(path.join(tree, 'casper'), { recursive: true });
  for (const n of names) fs.copyFileSync(layers[n]!, path.join(tree, 'casper', n));
  fs.writeFileSync(path.join(tree, 'casper', 'vmlinuz'), Buffer.alloc(9000, 1));
  fs.writeFileSync(path.join(tree, 'casper', 'initrd'), initrd);
  const out = path.join(h.dir, `${name}.iso`);
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-J', '-o', out, tree], { stdio: 'pipe' });
  return out;
}

before(() => {
  if (missing.length) return;
  h = makeHarness('hostile-iso');
  layers = {};
  for (const n of ['minimal', 'minimal.standard', 'minimal.standard.live', 'minimal.en']) {
    const tree = path.join(h.dir, `layer-${n}`);
    fs.mkdirSync(path.join(tree, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'etc', `layer-${n}`), n);
    layers[`${n}.squashfs`] = path.join(h.dir, `${n}.squashfs`);
    makeSquashfs(layers[`${n}.squashfs`]!, tree);
  }
});
after(async () => { await h?.close(); });

test('an initrd that is a zstd bomb: the import reads at most 1 GiB of it, in bounded memory, and the layer names decide', { timeout: 300_000 }, async (t) => {
  if (missing.length) return t.skip(`needs ${missing.join(', ')}`);
  const frame = compress(Buffer.alloc(64 * 1024 ** 2));
  const file = iso('bomb', Buffer.concat([early, ...Array.from({ length: 20 }, () => frame)]));
  let peak = 0;
  const base = process.memoryUsage().rss;
  const iv = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss - base); }, 20);
  try {
    const r = await importImage(env(), { file, name: 'bomb' });
    assert.equal(r.version, 1);
  } finally {
    clearInterval(iv);
  }
  assert.ok(peak < 500 * 1024 ** 2, `RSS grew ${Math.round(peak / 1e6)} MB`);
  const row = h.handle.sqlite.prepare("SELECT root_kind FROM image_versions v JOIN images i ON i.id = v.image_id WHERE i.name = 'bomb'").get() as { root_kind: string };
  assert.equal(row.root_kind, 'iso');
});

test('a cut initrd, a cut ISO, garbage directories: one line each', { timeout: 300_000 }, async (t) => {
  if (missing.length) return t.skip(`needs ${missing.join(', ')}`);
  const main = newc([['conf', null], ['conf/conf.d/default-layer.conf', 'LAYERFS_PATH=minimal.standard.live.squashfs\n']]);
  // Cut before the conf file: unreadable, so the layer names decide, and without a live layer that is a refusal.
  const cut = iso('cut-initrd', Buffer.concat([early, compress(main).subarray(0, 12)]), ['minimal.squashfs', 'minimal.en.squashfs']);
  await assert.rejects(importImage(env(), { file: cut, name: 'cut' }), (e: Error) => !e.message.includes('\n') && /no live layer .*its initrd could not be read/.test(e.message));
  // Cut inside the live layer (xorriso pads the end, so a cut by proportion may lose only padding).
  const wholeFile = iso('whole', Buffer.concat([early, compress(main)]));
  const live = (await listIso(wholeFile)).get('/casper/minimal.standard.live.squashfs')!;
  const short = path.join(h.dir, 'short.iso');
  fs.writeFileSync(short, fs.readFileSync(wholeFile).subarray(0, live.extents[0]!.start + 100));
  await assert.rejects(importImage(env(), { file: short, name: 'short' }), (e: Error) => !e.message.includes('\n') && /truncated|past|end/i.test(e.message));
  // The volume descriptor kept, the directories after it overwritten (a file with no CD001 is a raw image to the importer, by design).
  const junk = path.join(h.dir, 'junk.iso');
  const j = fs.readFileSync(wholeFile);
  j.fill(0xff, 17 * 2048, live.extents[0]!.start);
  fs.writeFileSync(junk, j);
  await assert.rejects(importImage(env(), { file: junk, name: 'junk' }), (e: Error) => !e.message.includes('\n'));
});
