// Random reads through openStore's reader equal the image bytes, across chunk edges, for both
// chunkers; versions resolve (number, current, pinned current); exports are listed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config.ts';
import { openDatabase } from '../../../src/db/index.ts';
import { importImage } from '../../../src/store/importer.ts';
import { openStore, NotFoundError } from '../../../src/store/store.ts';
import { DEFAULT_CDC, DEFAULT_FIXED } from '../../../src/store/chunker.ts';

test('reader: random reads, versions, exports', { timeout: 60_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-reader-'));
  const config = loadConfig({ env: {}, overrides: { dataDir: dir, 'store.workers': 2, 'nbd.cacheMB': 1 } });
  const h = openDatabase(config.database);
  t.after(async () => { await h.close(); fs.rmSync(dir, { recursive: true, force: true }); });
  const log = pino({ level: 'silent' });
  let s = 99;
  const rnd = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n);
  const img = Buffer.alloc(3 * 1024 * 1024 + 777);
  for (let i = 0; i < img.length; i++) img[i] = i % 3 ? rnd(256) : 7;
  const file = path.join(dir, 'x.img');
  fs.writeFileSync(file, img);
  const env = { config, db: h.db, log };
  await importImage(env, { file, name: 'x', chunker: DEFAULT_FIXED });
  await importImage(env, { file, name: 'x', chunker: DEFAULT_CDC });
  const store = openStore(config, h.db, log);
  for (const v of [1, 2] as const) {
    const r = await store.openReader('x', v);
    assert.equal(r.size, img.length);
    const reads = Array.from({ length: 300 }, () => {
      const off = rnd(img.length);
      const len = Math.min(img.length - off, rnd(600_000));
      return { off, len, p: r.read(off, len) };
    });
    for (const x of reads) assert.ok((await x.p).equals(img.subarray(x.off, x.off + x.len)), `v${v} ${x.off}+${x.len}`);
    assert.ok((await r.read(img.length - 1, 1)).equals(img.subarray(img.length - 1)));
    await assert.rejects(r.read(img.length, 1), /outside the image/);
    await assert.rejects(r.read(-1, 1), /outside the image/);
  }
  assert.ok(store.chunks.cache.bytes <= 1024 * 1024, 'the cache stays in its budget');
  assert.equal((await store.openReader('x', 'current')).row.version, 2);
  await h.db.updateTable('images').set({ current_version: 1 }).execute();
  assert.equal((await store.openExport('x')).row.version, 1);
  assert.equal((await store.openExport('x@2')).row.version, 2);
  await assert.rejects(store.openReader('x', 3), NotFoundError);
  await assert.rejects(store.openReader('nope', 'current'), NotFoundError);
  const exportsList = await store.listExports();
  assert.deepEqual(exportsList.map((e) => `${e.exportName}:${e.version}`), ['x:1', 'x@1:1', 'x@2:2']);
});
