// A database damaged past its first page: serve and migrate name it at start (quick_check);
// other opens do not read the whole file for it (a CLI command on a large database).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openDatabase } from '../../../src/db/index.ts';
import { tempDir } from '../../helpers/cli.ts';

function damagedDatabase(): string {
  const file = path.join(tempDir(), 'bb.db');
  const h = openDatabase(file);
  h.sqlite.exec('CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)');
  const ins = h.sqlite.prepare('INSERT INTO filler (body) VALUES (?)');
  h.sqlite.transaction(() => { for (let i = 0; i < 2000; i++) ins.run('x'.repeat(500)); })();
  h.sqlite.pragma('wal_checkpoint(TRUNCATE)');
  h.sqlite.close();
  const pageSize = new Database(file, { readonly: true }).pragma('page_size', { simple: true }) as number;
  const size = fs.statSync(file).size;
  assert.ok(size > 100 * pageSize, `${size} bytes`);
  // Overwrite a page in the middle of the filler table's b-tree.
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, Math.floor(size / pageSize / 2) * pageSize);
  fs.closeSync(fd);
  return file;
}

test('serve and migrate (integrityCheck) name a database damaged past its first page, in one line', () => {
  const file = damagedDatabase();
  assert.throws(() => openDatabase(file, { integrityCheck: true }),
    (err: Error) => /is not a valid SQLite database or is corrupt/.test(err.message) && !err.message.includes('\n'));
});

test('other opens leave the whole-file check out: the damage shows only where a query meets it', async () => {
  const file = damagedDatabase();
  const h = openDatabase(file);
  try {
    assert.ok(h.sqlite.prepare('SELECT count(*) AS n FROM schema_migrations').get());
    assert.throws(() => h.sqlite.prepare('SELECT sum(length(body)) FROM filler').get(), /malformed|corrupt/i);
  } finally {
    await h.close();
  }
});
