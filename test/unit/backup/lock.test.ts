// restore holds serve's lock: a serve started meanwhile is told a restore runs, and a restore is
// refused while a serve (or a migrate) holds it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { lockDataDir } from '../../../src/data-dir-lock.ts';
import { restoreDatabase } from '../../../src/backup/restore.ts';
import { UserError } from '../../../src/util/errors.ts';
import { tempDir } from '../../helpers/cli.ts';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { migrate } from '../../../src/db/migrate.ts';

test('a serve started during a restore names the restore; a restore during a serve is refused with nothing changed', async () => {
  const dir = tempDir('bb-unit-lock-');
  const held = lockDataDir(dir, 'restore');
  try {
    assert.throws(() => lockDataDir(dir, 'serve'), /^UserError: dataDir \S+ is in use by another branchboot restore \(pid \d+\); stop it first$/);
  } finally { held.release(); }
  const bk = path.join(dir, 'bk.db');
  const db = new Database(bk);
  migrate(db);
  db.close();
  const serve = lockDataDir(dir, 'serve');
  try {
    await assert.rejects(restoreDatabase({ file: bk, database: path.join(dir, 'branchboot.db'), dataDir: dir, storePath: path.join(dir, 'store'), allowMissing: false }),
      (err: unknown) => err instanceof UserError && /is in use by another branchboot serve \(pid \d+\); stop it first, the database was not changed$/.test(err.message));
  } finally { serve.release(); }
  assert.equal(fs.existsSync(path.join(dir, 'branchboot.db')), false);
});
