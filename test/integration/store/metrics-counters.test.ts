// The block store's counters in /metrics: casync chunk requests (a first read misses the
// chunk-file cache, the second hits it), body bytes sent for chunks and image ranges (none for
// HEAD), and the verified-chunk cache behind image reads; scraped with a token from a real app.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import { importImage } from '../../../src/store/importer.ts';
import { DEFAULT_FIXED } from '../../../src/store/chunker.ts';
import { decodeIndex, chunkId } from '../../../src/store/caibx.ts';
import { storeRoutes } from '../../../src/http/routes/store.ts';
import { metricsRoutes } from '../../../src/http/routes/metrics.ts';
import type { HttpContext } from '../../../src/http/server.ts';
import { EventBus } from '../../../src/events.ts';
import { createToken } from '../../../src/model/tokens.ts';
import { have, makeExt4, makeHarness, makeTree } from './harness.ts';

test('chunk misses then hits, bytes of chunks and ranges, nothing for HEAD', { skip: have('mkfs.ext4') ? false : 'needs mkfs.ext4', timeout: 120_000 }, async () => {
  const h = makeHarness('metrics');
  const app = Fastify();
  try {
    makeTree(path.join(h.dir, 'tree'), 2, 5);
    const img = path.join(h.dir, 'm.img');
    makeExt4(img, path.join(h.dir, 'tree'), 8);
    const r = await importImage({ config: h.config, db: h.handle.db, log: h.log }, { file: img, name: 'm', chunker: DEFAULT_FIXED });
    const idx = decodeIndex(fs.readFileSync(path.join(h.config.store.path, r.indexFile)));
    const hex = chunkId(idx, 1).toString('hex');

    const ctx = { config: h.config, db: h.handle.db, log: h.log, events: new EventBus(h.handle.db, h.log), planner: undefined, health: () => ({}) } as unknown as HttpContext;
    await app.register(storeRoutes, { ctx });
    await app.register(metricsRoutes, { ctx });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const { token } = await createToken(h.handle.db, { name: 'prom', scopes: ['read'] });
    const scrape = async () => {
      const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
      const v = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
      return { hits: v('branchboot_http_chunk_file_cache_hits_total'), misses: v('branchboot_http_chunk_file_cache_misses_total'), bytes: v('branchboot_http_store_sent_bytes_total'), verified: v('branchboot_store_chunk_cache_misses_total') };
    };
    assert.deepEqual(await scrape(), { hits: 0, misses: 0, bytes: 0, verified: 0 });

    const url = `${base}/images/m/default.castr/${hex.slice(0, 4)}/${hex}.cacnk`;
    const first = Buffer.from(await (await fetch(url)).arrayBuffer());
    const second = Buffer.from(await (await fetch(url)).arrayBuffer());
    assert.ok(first.length > 0 && first.equals(second));
    assert.equal((await fetch(url, { method: 'HEAD' })).status, 200);
    const range = await fetch(`${base}/images/m/1/root.img`, { headers: { range: 'bytes=1000-1999' } });
    assert.equal(range.status, 206);
    assert.equal((await range.arrayBuffer()).byteLength, 1000);

    const s = await scrape();
    assert.deepEqual({ hits: s.hits, misses: s.misses, bytes: s.bytes }, { hits: 2, misses: 1, bytes: 2 * first.length + 1000 }, 'HEAD was a hit and sent no body');
    assert.ok(s.verified >= 1, 'the image range read a verified chunk');
  } finally {
    await app.close();
    await h.close();
  }
});
