// kill -9 in the middle of `image import`: no visible version, no corrupt chunk; the re-run
// reuses what the first run wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../../../src/db/index.ts';
import { listVersions, resolveVersion } from '../../../src/model/image-versions.ts';
import { walkChunks } from '../../../src/store/walk.ts';
import { decompressChunk } from '../../../src/store/codec.ts';
import { hashChunk } from '../../../src/store/chunk-id.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

// Fixed blocks so the chunk count is known (160 MiB / 256 KiB = 640); kill safety does not depend on the chunker.
function importer(dir: string, file: string) {
  return spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), 'image', 'import', file, '--name', 'big', '--chunker', 'fixed', '--json'], {
    cwd: ROOT, env: { ...process.env, BRANCHBOOT_DATA_DIR: dir, BRANCHBOOT_LOG_LEVEL: 'warn', BRANCHBOOT_STORE_WORKERS: '2' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
}

test('kill -9 mid-import leaves no visible version and no corrupt chunk; re-run reuses chunks', { timeout: 120_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-kill-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const img = path.join(dir, 'big.img');
  // Incompressible and deduplication-free: every chunk is new work.
  execFileSync('head', ['-c', String(160 * 1024 * 1024), '/dev/urandom'], { stdio: ['ignore', fs.openSync(img, 'w'), 'ignore'] });
  const castr = path.join(dir, 'store', 'default.castr');

  const child = importer(dir, img);
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  // Wait until chunks are being written, then kill without warning.
  const deadline = Date.now() + 60_000;
  let n = 0;
  while (Date.now() < deadline) {
    n = fs.existsSync(castr) ? fs.readdirSync(castr).length : 0;
    if (n >= 20) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(n >= 20, 'the import started writing chunks');
  process.kill(child.pid!, 'SIGKILL');
  await new Promise((r) => child.once('close', r));

  const h = openDatabase(path.join(dir, 'branchboot.db'));
  try {
    assert.equal(await resolveVersion(h.db, 'big', 'current'), undefined, 'no visible version');
    // The CLI chunks the root while its database modules load (store/import-root.ts): the kill
    // may land before the version row exists. Either way nothing is visible or published.
    const rows = await listVersions(h.db);
    assert.ok(rows.length <= 1, `${rows.length} version rows`);
    for (const row of rows) assert.equal(row.state, 'importing');
    assert.ok(!fs.existsSync(path.join(dir, 'store', 'indexes')) || fs.readdirSync(path.join(dir, 'store', 'indexes'), { recursive: true }).every((f) => !String(f).endsWith('.caibx')), 'no index published');
    let chunks = 0;
    for await (const e of walkChunks(path.join(dir, 'store'))) {
      if (!e.hex) continue;
      chunks++;
      const data = decompressChunk(fs.readFileSync(e.file));
      assert.equal(hashChunk(data).toString('hex'), e.hex, `chunk ${e.hex} is whole`);
    }
    assert.ok(chunks > 0);
    assert.ok(chunks < 640, 'killed before the end');

    const again = importer(dir, img);
    let out = '';
    again.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const code = await new Promise((r) => again.once('close', r));
    assert.equal(code, 0);
    const r = JSON.parse(out) as { version: number; chunksTotal: number; chunksNew: number };
    assert.equal(r.version, rows.length + 1);
    assert.equal(r.chunksTotal, 640);
    assert.equal(r.chunksNew, 640 - chunks, 'every chunk of the killed run is reused');
    assert.equal((await resolveVersion(h.db, 'big', 'current'))?.version, rows.length + 1);
  } finally {
    await h.close();
  }
});
