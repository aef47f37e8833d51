// Chunk workers started ahead of their pool (the CLI does so while it loads the database
// modules) take the pool's data by message and store chunks like workers started by the pool.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ChunkPool, prestartChunkWorkers } from '../../../src/store/worker-pool.ts';
import { hashChunk } from '../../../src/store/chunk-id.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bbD-prestart-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('a pool takes prestarted workers and stores chunks with them', async () => {
  prestartChunkWorkers(2);
  // Workers started by the pool itself store alike: a third one when the pool wants 3.
  const pool = new ChunkPool(path.join(tmp, 'store'), 3, 3, 1 << 16);
  try {
    const slot = await pool.acquireSlot();
    const data = Buffer.alloc(3 * 4096);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
    pool.views[slot]!.set(data);
    const rs = await Promise.all([0, 1, 2].map((k) => pool.store(slot, k * 4096, 4096)));
    rs.forEach((r, k) => {
      assert.deepEqual(r.id, Buffer.from(hashChunk(data.subarray(k * 4096, (k + 1) * 4096))));
      assert.equal(r.isNew, true);
    });
  } finally {
    await pool.close();
  }
});

test('prestarted workers nobody takes do not keep the process alive', async () => {
  const mod = new URL('../../../src/store/worker-pool.ts', import.meta.url).href;
  const t0 = Date.now();
  await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `import(${JSON.stringify(mod)}).then((m) => m.prestartChunkWorkers(2))`], { timeout: 20_000 });
  assert.ok(Date.now() - t0 < 20_000);
});
