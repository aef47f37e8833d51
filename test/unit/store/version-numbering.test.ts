// Two imports of one name at once, from two processes (the CLI and serve's REST job): each gets
// its own version number, none is lost or taken twice, and neither fails for the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../../../src/db/index.ts';
import { listVersions } from '../../../src/model/image-versions.ts';

const run = promisify(execFile);
const child = fileURLToPath(new URL('./fixtures/create-versions.ts', import.meta.url));

test('versions created by two processes at once: numbered 1..n, no gap, no collision, no failure', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-versions-'));
  try {
    const file = path.join(dir, 'b.db');
    const h = openDatabase(file);
    await h.close();
    const per = 60;
    const outs = await Promise.all([0, 1].map(() => run(process.execPath, ['--import', 'tsx', child, file, 'twice', String(per)])));
    const results = outs.map((o) => JSON.parse(o.stdout) as { ok: number; errors: string[] });
    for (const r of results) assert.deepEqual(r, { ok: per, errors: [] });
    const h2 = openDatabase(file);
    try {
      const versions = (await listVersions(h2.db, { name: 'twice' })).map((v) => v.version).sort((a, b) => a - b);
      assert.deepEqual(versions, Array.from({ length: 2 * per }, (_, i) => i + 1));
    } finally {
      await h2.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
