// `store gc` while an import is in flight, and while HTTP and NBD-style readers read the current
// version: the import's chunks (written, or reused, before its index is published) survive even
// with --grace 0, the published version is whole, and readers get the right bytes throughout.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { importImage } from '../../../src/store/importer.ts';
import { gcStore, verifyStore } from '../../../src/store/maintenance.ts';
import { sharedStore } from '../../../src/store/store.ts';
import { indexRelPath } from '../../../src/store/layout.ts';
import { listVersions } from '../../../src/model/image-versions.ts';
import { makeHarness } from './harness.ts';

const MiB = 1024 * 1024;
const h = makeHarness('gc-import');
after(async () => { await h.close(); });

test('gc --grace 0 during an import and during reads removes nothing in use', { timeout: 120_000 }, async () => {
  const env = { config: h.config, db: h.handle.db, log: h.log };
  const root = h.config.store.path;
  const v1 = randomBytes(8 * MiB);
  const f1 = path.join(h.dir, 'v1.img');
  fs.writeFileSync(f1, v1);
  await importImage(env, { file: f1, name: 'g' });
  // Version 2 starts with version 1 (its chunks are reused: touched, not written) and goes on with new data.
  const v2 = Buffer.concat([v1, randomBytes(32 * MiB)]);
  const f2 = path.join(h.dir, 'v2.img');
  fs.writeFileSync(f2, v2);
  // Version 1 removed: its chunks are unreferenced until version 2 is published.
  await h.handle.db.updateTable('image_versions').set({ state: 'removed' }).where('version', '=', 1).execute();
  const base = await h.serve();
  const store = sharedStore(env);

  let gc: Promise<unknown> | undefined;
  let gcs = 0;
  const r = await importImage(env, {
    file: f2, name: 'g',
    onProgress: (p) => {
      // Several collections while the import writes: after the reused part, and twice in the new part.
      if (p.phase === 'root' && gcs < 3 && p.bytesDone >= (9 + gcs * 10) * MiB) {
        gcs++;
        gc = Promise.all([gc, gcStore(h.handle.db, root, h.log, { graceHours: 0 })]);
      }
    },
  });
  await gc;
  assert.equal(gcs, 3);
  const rep = await verifyStore(h.handle.db, root, h.log);
  assert.deepEqual(rep.missing.map((m) => m.chunk), [], 'no chunk of the published version was collected');
  const got = Buffer.from(await (await fetch(`${base}/images/g/${r.version}/root.img`)).arrayBuffer());
  assert.ok(got.equals(v2), 'version 2 served whole over HTTP');

  // Readers of the current version while gc runs: an HTTP Range reader and a random-access (NBD) reader.
  const reader = await store.openReader('g', 'current');
  const gcNow = gcStore(h.handle.db, root, h.log, { graceHours: 0 });
  const reads = Array.from({ length: 40 }, async (_, i) => {
    const off = (i * 997 * 4096) % (v2.length - 70_000);
    assert.ok((await reader.read(off, 70_000)).equals(v2.subarray(off, off + 70_000)));
    const res = await fetch(`${base}/images/g/current/root.img`, { headers: { range: `bytes=${off}-${off + 99_999}` } });
    assert.equal(res.status, 206);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(v2.subarray(off, off + 100_000)));
  });
  await Promise.all([gcNow, ...reads]);
  assert.deepEqual((await verifyStore(h.handle.db, root, h.log)).missing, []);
});

test('an import gc took for dead (no heartbeat for 10 minutes) publishes nothing when it wakes', { timeout: 60_000 }, async () => {
  const env = { config: h.config, db: h.handle.db, log: h.log };
  const f = path.join(h.dir, 'late.img');
  fs.writeFileSync(f, randomBytes(2 * MiB));
  await assert.rejects(importImage(env, {
    file: f, name: 'late',
    // What store gc's failStaleImports does to a silent import, at the worst moment: just before it publishes.
    onProgress: (p) => { if (p.phase === 'publish') h.handle.sqlite.prepare("update image_versions set state = 'failed', error = 'import interrupted' where state = 'importing'").run(); },
  }), /late@1 was marked failed while it was importing/);
  const [row] = await listVersions(h.handle.db, { name: 'late' });
  assert.equal(row?.state, 'failed');
  assert.ok(!fs.existsSync(path.join(h.config.store.path, indexRelPath(row.image_id, 1))), 'no index left');
  assert.equal((await fetch(`${h.base}/images/late/1.caibx`)).status, 404);
});
