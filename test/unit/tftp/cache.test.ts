// The in-memory cache of small files: the first request for a file does not wait for it to be
// read into memory (it reads the file itself), later ones get it from memory, and a file that
// changed is never served stale.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileCache } from '../../../src/tftp/files.ts';
import { startHarness, randomBytes } from './harness.ts';
import { tftpGet } from './client.ts';
import { until } from '../../helpers/until.ts';

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

describe('tftp file cache', () => {
  test("'reading' until the file is in memory, then the bytes; a replaced file is read anew", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-tftp-cache-'));
    try {
      const file = path.join(dir, 'f.bin');
      fs.writeFileSync(file, randomBytes(200_000, 31));
      const cache = new FileCache({ maxFileBytes: 1_000_000, maxTotalBytes: 10_000_000 });
      const st = fs.statSync(file);
      assert.equal(cache.get(file, st), 'reading');
      let got: Buffer | 'reading' | undefined;
      await until(() => (got = cache.get(file, st)) !== 'reading', 'the file in memory');
      assert.ok(Buffer.isBuffer(got) && got.equals(fs.readFileSync(file)));
      fs.writeFileSync(file, randomBytes(100_000, 32));
      assert.equal(cache.get(file, fs.statSync(file)), 'reading');
      assert.deepEqual(cache.stats(), { files: 1, bytes: 100_000 });
      assert.equal(cache.get(file, { ...st, size: 2_000_000 } as fs.Stats), undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('simultaneous first requests and later ones, at 65464 and 1468, byte-identical', async () => {
    const data = randomBytes(65464 * 5 + 100, 33);
    const h = await startHarness({ cacheMaxFileBytes: 1_000_000 }, { 'k.bin': data });
    try {
      const first = await Promise.all(Array.from({ length: 6 }, (_, i) => tftpGet({ port: h.port, file: 'k.bin', options: { blksize: i % 2 ? '1468' : '65464' }, timeoutMs: 30_000 })));
      first.forEach((r) => assert.equal(sha(r.data), sha(data)));
      await h.settle();
      await new Promise((r) => setTimeout(r, 200));
      const later = await tftpGet({ port: h.port, file: 'k.bin', options: { blksize: '65464' }, timeoutMs: 30_000 });
      assert.equal(sha(later.data), sha(data));
      assert.deepEqual(h.server.getStats().cache, { files: 1, bytes: data.length });
    } finally { await h.close(); }
  });
});
