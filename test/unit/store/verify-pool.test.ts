// The verify pool's workers must not keep a process alive once idle, including the ones that
// never got a job: Node refs a worker again when its first 'message' listener is added, so an
// unref() before that was undone (a CLI or test process then never exited).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../../..');

test('a pool whose workers are idle, one of them never used, lets the process exit', { timeout: 60_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-verify-pool-'));
  try {
    const script = `
      import { storeChunk } from ${JSON.stringify(path.join(ROOT, 'src/store/chunk-writer.ts'))};
      import { chunkPath } from ${JSON.stringify(path.join(ROOT, 'src/store/layout.ts'))};
      import { VerifyPool } from ${JSON.stringify(path.join(ROOT, 'src/store/verify-pool.ts'))};
      const data = Buffer.alloc(70000, 9);
      const { id } = storeChunk(${JSON.stringify(dir)}, data, 3);
      const hex = Buffer.from(id).toString('hex');
      const got = await new VerifyPool(3).load(chunkPath(${JSON.stringify(dir)}, hex), hex, data.length);
      console.log(got.equals(data) ? 'verified' : 'wrong bytes');
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.stdout.trim(), 'verified', r.stderr);
    assert.equal(r.signal, null, 'the process did not exit by itself within 30 s');
    assert.equal(r.status, 0, r.stderr);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
