// An index damaged on disk after it was published (truncated, a flipped byte in its tail) is
// refused with a 500 and a log line, never sent: HTTP caches would keep it a year (immutable).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { importImage } from '../../../src/store/importer.ts';
import { makeHarness } from './harness.ts';

const h = makeHarness('index-corrupt');
after(async () => { await h.close(); });

test('a truncated or damaged index is a 500, the other versions are served', { timeout: 60_000 }, async () => {
  const env = { config: h.config, db: h.handle.db, log: h.log };
  const f = path.join(h.dir, 'x.img');
  fs.writeFileSync(f, randomBytes(3 << 20));
  const v1 = await importImage(env, { file: f, name: 'x' });
  fs.writeFileSync(f, randomBytes(3 << 20));
  const v2 = await importImage(env, { file: f, name: 'x' });
  const base = await h.serve();
  const i1 = path.join(h.config.store.path, v1.indexFile);
  const i2 = path.join(h.config.store.path, v2.indexFile);
  fs.truncateSync(i2, fs.statSync(i2).size - 7);
  const good = fs.readFileSync(i1);
  for (const ref of ['2', 'current']) {
    const r = await fetch(`${base}/images/x/${ref}.caibx`);
    assert.equal(r.status, 500, ref);
    assert.match(await r.text(), /corrupt/);
  }
  assert.ok(h.logLines.some((l) => l.includes('corrupt index refused')));
  const r1 = await fetch(`${base}/images/x/1.caibx`);
  assert.equal(r1.status, 200);
  assert.ok(Buffer.from(await r1.arrayBuffer()).equals(good));
  // A flipped byte in the tail's marker of version 1.
  const bad = Buffer.from(good);
  bad[bad.length - 1]! ^= 0x40;
  fs.writeFileSync(i1, bad);
  assert.equal((await fetch(`${base}/images/x/1.caibx`)).status, 500);
});
