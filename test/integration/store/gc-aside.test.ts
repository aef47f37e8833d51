// A gc killed (-9, power) between renaming an unreferenced chunk aside and renaming it back: an
// import that had reused the chunk just before counts on it, and its index names it. The next gc
// must put the file back, not remove it as a stale temp file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { importImage } from '../../../src/store/importer.ts';
import { gcStore, verifyStore } from '../../../src/store/maintenance.ts';
import { chunkPath } from '../../../src/store/layout.ts';
import { makeHarness } from './harness.ts';

const h = makeHarness('gc-aside');
after(async () => { await h.close(); });
const DAY = 86_400_000;

/** The name removeUnlessTouched gives a file it holds aside. */
const asideOf = (file: string) => path.join(path.dirname(file), `.${path.basename(file)}.gc${randomBytes(4).toString('hex')}.tmp`);

test('a chunk left aside by a killed gc is put back by the next one, and the version stays whole', async () => {
  const env = { config: h.config, db: h.handle.db, log: h.log };
  const root = h.config.store.path;
  const file = path.join(h.dir, 'a.img');
  fs.writeFileSync(file, randomBytes(1 << 20));
  await importImage(env, { file, name: 'a', chunker: { kind: 'fixed', size: 262144 } });
  const hexes = fs.readdirSync(path.join(root, 'default.castr'), { recursive: true }).map(String).filter((n) => n.endsWith('.cacnk')).map((n) => path.basename(n, '.cacnk'));
  assert.equal(hexes.length, 4);
  const held = chunkPath(root, hexes[0]!);
  const aside = asideOf(held);
  fs.renameSync(held, aside);
  // A day later (the aside is long past the temp files' age limit).
  const rep = await gcStore(h.handle.db, root, h.log, { graceHours: 1, now: Date.now() + DAY });
  assert.equal(rep.asidesRestored, 1);
  assert.equal(rep.tmpRemoved, 0);
  assert.ok(fs.existsSync(held), 'the chunk is back under its name');
  assert.ok(!fs.existsSync(aside));
  const v = await verifyStore(h.handle.db, root, h.log);
  assert.deepEqual([v.missing.length, v.corrupt.length], [0, 0]);
});

test('an aside whose chunk was written anew meanwhile is dropped, the new file kept', async () => {
  const root = h.config.store.path;
  const hex = fs.readdirSync(path.join(root, 'default.castr'), { recursive: true }).map(String).find((n) => n.endsWith('.cacnk'))!;
  const home = chunkPath(root, path.basename(hex, '.cacnk'));
  const before = fs.readFileSync(home);
  const aside = asideOf(home);
  fs.writeFileSync(aside, 'stale');
  const rep = await gcStore(h.handle.db, root, h.log, { graceHours: 1, now: Date.now() + DAY });
  assert.equal(rep.asidesRestored, 1);
  assert.ok(!fs.existsSync(aside));
  assert.ok(fs.readFileSync(home).equals(before));
});

test('an ordinary stale temp file is still removed', async () => {
  const root = h.config.store.path;
  const hex = fs.readdirSync(path.join(root, 'default.castr'), { recursive: true }).map(String).find((n) => n.endsWith('.cacnk'))!;
  const tmp = path.join(path.dirname(chunkPath(root, path.basename(hex, '.cacnk'))), `.${path.basename(hex)}.0123456789ab0.tmp`);
  fs.writeFileSync(tmp, 'half a chunk');
  const rep = await gcStore(h.handle.db, root, h.log, { graceHours: 1, now: Date.now() + DAY });
  assert.equal(rep.tmpRemoved, 1);
  assert.equal(rep.asidesRestored, 0);
  assert.ok(!fs.existsSync(tmp));
});
