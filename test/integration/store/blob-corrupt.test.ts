// A kernel or initrd damaged on disk after it was first served is refused (500, a log line),
// never sent; put right, it is served again.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { importImage } from '../../../src/store/importer.ts';
import { makeHarness } from './harness.ts';

const h = makeHarness('blob-corrupt');
after(async () => { await h.close(); });

test('a damaged kernel blob is a 500, the initrd and the image are served', { timeout: 60_000 }, async () => {
  const k = randomBytes(300_000);
  const i = randomBytes(500_000);
  for (const [n, b] of [['k', k], ['i', i], ['r.img', randomBytes(1 << 20)]] as const) fs.writeFileSync(path.join(h.dir, n), b);
  const r = await importImage({ config: h.config, db: h.handle.db, log: h.log }, { file: path.join(h.dir, 'r.img'), name: 'b', kernel: path.join(h.dir, 'k'), initrd: path.join(h.dir, 'i') });
  const base = await h.serve();
  const get = async (f: string, range?: string) => {
    const res = await fetch(`${base}/images/b/1/${f}`, range ? { headers: { range } } : {});
    return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
  };
  assert.ok((await get('vmlinuz')).body.equals(k));
  const file = path.join(h.config.store.path, r.kernelBlob!);
  const bad = Buffer.from(k);
  bad[1234]! ^= 1;
  fs.writeFileSync(file, bad);
  assert.equal((await get('vmlinuz')).status, 500);
  assert.equal((await get('vmlinuz', 'bytes=0-99')).status, 500);
  assert.ok(h.logLines.some((l) => l.includes('corrupt blob refused')));
  assert.ok((await get('initrd.img')).body.equals(i));
  assert.equal((await get('root.img', 'bytes=0-9')).status, 206);
  fs.writeFileSync(file, k);
  assert.ok((await get('vmlinuz')).body.equals(k));
});
