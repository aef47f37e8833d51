import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { appliedVersion, loadMigrations, migrate } from '../../../src/db/migrate.ts';
import { openDatabase } from '../../../src/db/index.ts';
import { COLUMNS } from '../../../src/db/schema.ts';
import { tempDir } from '../../helpers/cli.ts';

const migrations = loadMigrations();

function columnsOf(db: Database.Database, table: string): string[] {
  return (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
}

test('from an empty database every migration applies, and a second run changes nothing', () => {
  const db = new Database(':memory:');
  const applied = migrate(db, migrations);
  assert.deepEqual(applied, migrations.map((m) => m.version));
  assert.deepEqual(migrate(db, migrations), []);
  assert.equal(appliedVersion(db), migrations.at(-1)!.version);
});

test('the table types in src/db/schema.ts match the columns the migrations create', () => {
  const db = new Database(':memory:');
  migrate(db, migrations);
  for (const [table, cols] of Object.entries(COLUMNS)) {
    assert.deepEqual(columnsOf(db, table).sort(), [...cols].sort(), `table ${table}`);
  }
});

test('from each earlier version, the rest apply and give the same schema as from empty', () => {
  const fresh = new Database(':memory:');
  migrate(fresh, migrations);
  const schemaOf = (db: Database.Database) =>
    (db.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name").all() as object[]);
  for (let v = 1; v < migrations.length; v++) {
    const db = new Database(':memory:');
    migrate(db, migrations, v);
    assert.equal(appliedVersion(db), v);
    migrate(db, migrations);
    assert.deepEqual(schemaOf(db), schemaOf(fresh), `upgrade from version ${v}`);
  }
});

test('a failing migration leaves the database at the version before it', () => {
  const dir = tempDir();
  for (const m of migrations) fs.writeFileSync(path.join(dir, `${String(m.version).padStart(4, '0')}_${m.name}.sql`), m.sql);
  const next = String(migrations.length + 1).padStart(4, '0');
  fs.writeFileSync(path.join(dir, `${next}_broken.sql`), 'CREATE TABLE half (x); INSERT INTO nowhere VALUES (1);');
  const db = new Database(':memory:');
  assert.throws(() => migrate(db, loadMigrations(dir)), /nowhere/);
  assert.equal(appliedVersion(db), migrations.length);
  assert.equal(columnsOf(db, 'half').length, 0, 'the broken migration left nothing behind');
});

test('a database newer than the code is refused with a clear message', () => {
  const db = new Database(':memory:');
  migrate(db, migrations);
  db.prepare('INSERT INTO schema_migrations VALUES (999, ?, ?)').run('future', Date.now());
  assert.throws(() => migrate(db, migrations), /schema version 999 is newer than this branchboot/);
});

test('a corrupt database file is reported as such, in one line', () => {
  const dir = tempDir();
  const file = path.join(dir, 'bb.db');
  fs.writeFileSync(file, Buffer.alloc(8192, 0x41));
  assert.throws(() => openDatabase(file), (err: Error) => /is not a valid SQLite database or is corrupt/.test(err.message) && !err.message.includes('\n'));
});
