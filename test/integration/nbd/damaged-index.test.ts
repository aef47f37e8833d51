// An export whose index is damaged on disk: the client gets an error (never a size or bytes from
// it), the server logs which export and why, and the other exports are served.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { importImage } from '../../../src/store/importer.ts';
import { openStore } from '../../../src/store/store.ts';
import { NbdServer, storeExports } from '../../../src/nbd/index.ts';
import { makeHarness } from '../store/harness.ts';
import { have, run } from './run.ts';

const h = makeHarness('nbd-index');
after(async () => { await h.close(); });

test('a damaged index: an error for that export, a log line naming it, the others served', { skip: have('nbdinfo') ? false : 'nbdinfo missing', timeout: 60_000 }, async () => {
  const env = { config: h.config, db: h.handle.db, log: h.log };
  fs.writeFileSync(path.join(h.dir, 'd.img'), randomBytes(1 << 20));
  const d = await importImage(env, { file: path.join(h.dir, 'd.img'), name: 'd' });
  await importImage(env, { file: path.join(h.dir, 'd.img'), name: 'e' });
  const idx = path.join(h.config.store.path, d.indexFile);
  fs.truncateSync(idx, fs.statSync(idx).size - 5);
  const server = new NbdServer({ exports: storeExports(openStore(h.config, h.handle.db, h.log), h.log) });
  const a = await server.listen(0, '127.0.0.1');
  try {
    const bad = await run('nbdinfo', ['--size', `nbd://127.0.0.1:${a.port}/d`]);
    assert.notEqual(bad.code, 0);
    assert.ok(h.logLines.some((l) => l.includes('nbd export cannot be opened') && l.includes('"export":"d"')), 'logged');
    const ok = await run('nbdinfo', ['--size', `nbd://127.0.0.1:${a.port}/e`]);
    assert.equal(ok.stdout.trim(), String(1 << 20));
  } finally {
    await server.close(500);
  }
});
