// An import reusing an unreferenced chunk while `store gc` removes it: the import stats the chunk,
// then touches it; gc stats it, then removes it. Whatever the interleaving, the chunk the import
// counts on is on disk when its index is published.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { storeChunk } from '../../../src/store/chunk-writer.ts';
import { decompressChunk } from '../../../src/store/codec.ts';
import { chunkPath } from '../../../src/store/layout.ts';
import { gcStore } from '../../../src/store/maintenance.ts';
import { makeHarness } from '../../integration/store/harness.ts';

const h = makeHarness('gc-race');
after(async () => { await h.close(); });
const DAY = 86_400_000;

test('gc takes the chunk between the import\'s stat and its touch: the import writes it anew', () => {
  const data = randomBytes(50_000);
  // Written under another root first, so this thread's memory of recent chunks does not answer.
  const hex = storeChunk(path.join(h.dir, 'elsewhere'), data, 3).id.toString('hex');
  const root = path.join(h.dir, 'store-a');
  fs.mkdirSync(path.dirname(chunkPath(root, hex)), { recursive: true });
  fs.copyFileSync(chunkPath(path.join(h.dir, 'elsewhere'), hex), chunkPath(root, hex));
  const real = fs.utimesSync;
  fs.utimesSync = ((file: fs.PathLike, a: fs.TimeLike, m: fs.TimeLike) => {
    fs.utimesSync = real;
    fs.rmSync(file); // gc, in between
    real(file, a, m);
  }) as typeof fs.utimesSync;
  try {
    const r = storeChunk(root, data, 3);
    assert.equal(r.isNew, true);
  } finally {
    fs.utimesSync = real;
  }
  assert.ok(decompressChunk(fs.readFileSync(chunkPath(root, hex))).equals(data));
});

test('the import touches the chunk between gc\'s stat and its removal: gc leaves it', async () => {
  const root = h.config.store.path;
  const reused = randomBytes(40_000);
  const unused = randomBytes(40_000);
  const reusedHex = storeChunk(root, reused, 3).id.toString('hex');
  const unusedHex = storeChunk(root, unused, 3).id.toString('hex');
  const old = new Date(Date.now() - 3 * DAY);
  for (const hex of [reusedHex, unusedHex]) fs.utimesSync(chunkPath(root, hex), old, old);
  const target = chunkPath(root, reusedHex);
  const realStat = fsp.stat;
  fsp.stat = (async (file: fs.PathLike, opts?: fs.StatOptions) => {
    const st = await realStat(file, opts);
    if (file === target) {
      fsp.stat = realStat;
      const now = new Date();
      fs.utimesSync(target, now, now); // the import, in between
    }
    return st;
  }) as typeof fsp.stat;
  let rep;
  try {
    rep = await gcStore(h.handle.db, root, h.log, { graceHours: 1 });
  } finally {
    fsp.stat = realStat;
  }
  assert.ok(fs.existsSync(target), 'the chunk the import reused is still there');
  assert.ok(decompressChunk(fs.readFileSync(target)).equals(reused));
  assert.ok(!fs.existsSync(chunkPath(root, unusedHex)), 'the other unreferenced chunk is gone');
  assert.equal(rep.chunksRemoved, 1);
  // Nothing left aside.
  assert.deepEqual(fs.readdirSync(path.dirname(target)).filter((n) => n.startsWith('.')), []);
});

test('a full file system refuses the rename aside: gc removes the chunk in place (gc is how room is made)', async () => {
  const root = h.config.store.path;
  const unused = randomBytes(40_000);
  const hex = storeChunk(root, unused, 3).id.toString('hex');
  const old = new Date(Date.now() - 3 * DAY);
  fs.utimesSync(chunkPath(root, hex), old, old);
  const realRename = fsp.rename;
  fsp.rename = (async () => { throw Object.assign(new Error('ENOSPC: no space left on device, rename'), { code: 'ENOSPC' }); }) as typeof fsp.rename;
  let rep;
  try {
    rep = await gcStore(h.handle.db, root, h.log, { graceHours: 1 });
  } finally {
    fsp.rename = realRename;
  }
  assert.ok(!fs.existsSync(chunkPath(root, hex)));
  assert.equal(rep.chunksRemoved, 1);
});
