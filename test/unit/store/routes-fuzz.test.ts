// Random and mutated requests against the store routes: never a crash, never a 5xx for bad
// input (5xx is kept for a store that cannot read its own data), never a body outside Range.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config.ts';
import { openDatabase } from '../../../src/db/index.ts';
import { importImage } from '../../../src/store/importer.ts';
import { storeRoutes } from '../../../src/http/routes/store.ts';
import type { HttpContext } from '../../../src/http/server.ts';
import { fuzzCount, fuzzScale, fuzzSeed, rng } from '../../helpers/rng.ts';

test('store routes fuzz (10,000 requests)', { timeout: 120_000 * fuzzScale() }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-routes-'));
  const config = loadConfig({ env: {}, overrides: { dataDir: dir, 'store.workers': 1 } });
  const h = openDatabase(config.database);
  const log = pino({ level: 'silent' });
  const img = Buffer.alloc(300_000);
  for (let i = 0; i < img.length; i++) img[i] = (i * 31 + (i >> 9)) & 255;
  fs.writeFileSync(path.join(dir, 'f.img'), img);
  await importImage({ config, db: h.db, log }, { file: path.join(dir, 'f.img'), name: 'f' });
  const app = Fastify();
  await app.register(storeRoutes, { ctx: { config, db: h.db, log } as unknown as HttpContext });
  t.after(async () => { await app.close(); await h.close(); fs.rmSync(dir, { recursive: true, force: true }); });

  // mulberry32, not an LCG modulo n: an LCG's low bits cycle (rnd(2) would alternate).
  const r = rng(fuzzSeed(11));
  const rnd = (n: number) => Math.floor(r() * n);
  const pick = <T>(a: T[]): T => a[rnd(a.length)]!;
  const paths = ['/images/f/1/root.img', '/images/f/current/root.img', '/images/f/1.caibx', '/images/f/current.caibx', '/images/f/default.castr/abcd/' + 'a'.repeat(64) + '.cacnk', '/images/f/1/vmlinuz', '/images/x/1/root.img', '/images/f/0/root.img', '/images/f/99999999999/root.img'];
  const junk = '%/.?#-=,;bytes0123456789abcdef\u00e9 \t';
  const mutate = (x: string) => {
    let out = x;
    for (let k = rnd(3); k > 0; k--) {
      const at = rnd(out.length + 1);
      out = rnd(2) ? out.slice(0, at) + junk[rnd(junk.length)] + out.slice(at) : out.slice(0, at) + out.slice(at + 1);
    }
    return out;
  };
  for (let i = 0, n = fuzzCount(10_000); i < n; i++) {
    const url = rnd(4) ? pick(paths) : mutate(pick(paths));
    const range = rnd(3) ? `bytes=${mutate(`${rnd(340_000)}-${rnd(340_000)}`)}${rnd(4) ? '' : `,${rnd(1000)}-${rnd(2000)}`}` : undefined;
    let res;
    try {
      res = await app.inject({ method: rnd(5) ? 'GET' : 'HEAD', url, headers: range ? { range } : {} });
    } catch {
      continue; // inject itself refuses some malformed URLs
    }
    assert.ok(res.statusCode < 500, `${url} ${range} → ${res.statusCode} ${res.body.slice(0, 200)}`);
    if (res.statusCode === 206 && !String(res.headers['content-type']).startsWith('multipart/')) {
      const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(res.headers['content-range']));
      assert.ok(m, String(res.headers['content-range']));
      if (res.rawPayload.length) assert.ok(res.rawPayload.equals(img.subarray(Number(m[1]), Number(m[2]) + 1)));
    }
  }
});
