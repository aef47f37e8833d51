// Transfers in the server's own thread and spread over worker threads: the same bytes either
// way, many at once (cached files in shared memory, big files as descriptors handed over), and
// a stop while transfers run ends each with a reason for the client and an event.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startHarness, randomBytes } from './harness.ts';
import { tftpGet } from './client.ts';
import { until } from '../../helpers/until.ts';

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

describe('tftp transfer threads', { timeout: 60_000 }, () => {
  for (const transferThreads of [0, 2]) {
    test(`${transferThreads} threads: 24 simultaneous transfers, cached and read from the file, byte-identical`, async () => {
      // small: cacheable (requests that come while it is read into memory read the file, later
      // ones send from memory without a copy at 64 KiB blocks), ending with an empty block at
      // 65464; big: read from the file block by block.
      const small = randomBytes(65464 * 3, 21);
      const big = randomBytes(1_500_000, 22);
      const h = await startHarness({ transferThreads, cacheMaxFileBytes: 500_000, maxTransfersPerClient: 100 }, { 'small.bin': small, 'big.bin': big });
      const options: Record<string, string>[] = [{ blksize: '1468', windowsize: '8' }, { blksize: '1468', tsize: '0' }, { blksize: '65464' }];
      try {
        const gets = Array.from({ length: 24 }, (_, i) => tftpGet({
          port: h.port, file: i % 2 ? 'big.bin' : 'small.bin', options: options[i % 3], timeoutMs: 30_000,
        }));
        const res = await Promise.all(gets);
        res.forEach((r, i) => assert.equal(sha(r.data), sha(i % 2 ? big : small), `transfer ${i}`));
        await h.settle();
        assert.equal(h.events.length, 24);
        assert.ok(h.events.every((e) => e.detail.outcome === 'ok'));
        assert.equal(h.server.getStats().completed, 24);
      } finally { await h.close(); }
    });

    test(`${transferThreads} threads: stop() ends running transfers and tells their clients`, async () => {
      const h = await startHarness({ transferThreads }, { 'f.bin': randomBytes(100_000, 23) });
      let closed = false;
      try {
        let received = 0;
        const r = tftpGet({ port: h.port, file: 'f.bin', stallAfter: 5, timeoutMs: 30_000, dropIn: (n) => { received = n + 1; return false; } });
        // Stop once the transfer runs (the client has its first blocks): after a fixed 200 ms a
        // loaded machine sometimes had not begun it in its worker thread yet.
        await until(() => received >= 5, 'the first blocks');
        await h.close();
        closed = true;
        const res = await r;
        assert.match(res.error?.message ?? '', /shutting down/);
        assert.deepEqual(h.events.map((e) => e.detail.outcome), ['shutdown']);
        assert.equal(h.server.getStats().active, 0);
      } finally { if (!closed) await h.close(); }
    });
  }
});
