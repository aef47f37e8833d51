// A store.path that cannot be a folder (under /proc, or a file in the way) fails the import
// at once with one line naming the store, before a version is created; Node's own recursive
// mkdir looped forever on the first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config.ts';
import { openDatabase } from '../../../src/db/index.ts';
import { importImage } from '../../../src/store/importer.ts';
import { StoreWriteError } from '../../../src/store/store-errors.ts';

test('a store path that cannot be made is a StoreWriteError and no version', { timeout: 20_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-root-'));
  fs.writeFileSync(path.join(dir, 'x.img'), Buffer.alloc(70_000, 1));
  fs.writeFileSync(path.join(dir, 'a-file'), '');
  for (const storePath of ['/proc/branchboot-no/store', path.join(dir, 'a-file', 'store')]) {
    const config = loadConfig({ env: {}, overrides: { dataDir: dir, 'store.path': storePath } });
    const h = openDatabase(config.database);
    t.after(() => h.close());
    await assert.rejects(importImage({ config, db: h.db, log: pino({ level: 'silent' }) }, { file: path.join(dir, 'x.img'), name: 'x' }),
      (err: unknown) => err instanceof StoreWriteError && err.message.startsWith(`the store ${storePath} cannot be created: `));
    assert.equal((await h.db.selectFrom('image_versions').selectAll().execute()).length, 0);
  }
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
});
