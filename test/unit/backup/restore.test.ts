// restoreDatabase and snapshotDatabase on real files: what a backup holds, and each way a
// restore can go wrong refused before the database in place is touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config.ts';
import { openDatabase } from '../../../src/db/index.ts';
import { loadMigrations, migrate } from '../../../src/db/migrate.ts';
import { importImage } from '../../../src/store/importer.ts';
import { snapshotDatabase } from '../../../src/backup/snapshot.ts';
import { restoreDatabase, type RestoreOptions } from '../../../src/backup/restore.ts';
import { checkBackupHeader } from '../../../src/backup/inspect.ts';
import { UserError } from '../../../src/util/errors.ts';
import { chunkId, decodeIndex } from '../../../src/store/caibx.ts';
import { chunkPath } from '../../../src/store/layout.ts';
import { tempDir } from '../../helpers/cli.ts';

const log = pino({ level: 'silent' });
const newest = loadMigrations().at(-1)!.version;

/** A dataDir with two imported versions (one with kernel and initrd), backed up; the store copy goes where the test says. */
async function fixture() {
  const dir = tempDir('bb-unit-backup-');
  const a = path.join(dir, 'a');
  const config = loadConfig({ env: {}, overrides: { dataDir: a, 'store.workers': 1, 'log.level': 'silent' } });
  const handle = openDatabase(config.database);
  for (const [f, size] of [['one.raw', 600_000], ['two.raw', 700_000], ['k', 4096], ['i', 4096]] as const) fs.writeFileSync(path.join(dir, f), randomBytes(size));
  await importImage({ config, db: handle.db, log }, { file: path.join(dir, 'one.raw'), name: 'one', kernel: path.join(dir, 'k'), initrd: path.join(dir, 'i') });
  await importImage({ config, db: handle.db, log }, { file: path.join(dir, 'two.raw'), name: 'two' });
  await handle.close();
  const bk = path.join(dir, 'backup.db');
  const tmp = path.join(dir, '.backup.tmp');
  const snap = snapshotDatabase(config.database, tmp);
  fs.renameSync(tmp, bk);
  const b = path.join(dir, 'b');
  fs.mkdirSync(b);
  const opts: RestoreOptions = { file: bk, database: path.join(b, 'branchboot.db'), dataDir: b, storePath: path.join(b, 'store'), allowMissing: false };
  const copyStore = () => fs.cpSync(config.store.path, opts.storePath, { recursive: true, preserveTimestamps: true });
  return { dir, a, b, bk, snap, opts, copyStore, storeA: config.store.path };
}

function oneLine(re: RegExp) {
  return (err: unknown) => err instanceof UserError && !err.message.includes('\n') && re.test(err.message);
}

test('a backup is one self-contained rollback-journal file that passes SQLite\'s check and counts what it holds', async () => {
  const f = await fixture();
  assert.equal(f.snap.readyVersions, 2);
  assert.equal(f.snap.schemaVersion, newest);
  const db = new Database(f.bk, { readonly: true });
  try {
    assert.equal(db.pragma('journal_mode', { simple: true }), 'delete');
    assert.equal(db.pragma('quick_check', { simple: true }), 'ok');
  } finally { db.close(); }
  assert.deepEqual(fs.readdirSync(f.dir).filter((n) => n.startsWith('backup.db')), ['backup.db']);
});

test('restore on a fresh dataDir with the store copied: in place, whole, every version present', async () => {
  const f = await fixture();
  f.copyStore();
  const r = await restoreDatabase(f.opts);
  assert.equal(r.store.versions, 2);
  assert.deepEqual(r.store.gaps, []);
  assert.ok(r.store.chunks > 2);
  assert.equal(r.aside, undefined);
  assert.equal((fs.statSync(f.opts.database).mode & 0o777), 0o600);
  assert.deepEqual(fs.readdirSync(f.b).filter((n) => n.endsWith('.tmp')), []);
  const h = openDatabase(f.opts.database);
  try {
    assert.equal((await h.db.selectFrom('image_versions').select('state').where('state', '=', 'ready').execute()).length, 2);
  } finally { await h.close(); }
});

test('a store older than the backup is named per version (index, chunks, blobs) and nothing changes; --allow-missing restores anyway', async () => {
  const f = await fixture();
  f.copyStore();
  fs.rmSync(path.join(f.opts.storePath, 'indexes', '2'), { recursive: true });
  const blobs = fs.readdirSync(path.join(f.opts.storePath, 'blobs'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  fs.rmSync(path.join(blobs[0]!.parentPath, blobs[0]!.name));
  const idx = decodeIndex(fs.readFileSync(path.join(f.opts.storePath, 'indexes', '1', '1.caibx')));
  fs.rmSync(chunkPath(f.opts.storePath, chunkId(idx, 0).toString('hex')));
  await assert.rejects(restoreDatabase(f.opts), oneLine(/lacks what 2 of the 2 versions in .*backup\.db need \(one@1: (kernel|initrd) blob \S+ missing, 1 of \d+ chunks missing; two@1: index indexes\/2\/1\.caibx missing\); copy the store first/));
  assert.equal(fs.existsSync(f.opts.database), false);
  assert.deepEqual(fs.readdirSync(f.b).filter((n) => n.endsWith('.tmp')), []);
  const r = await restoreDatabase({ ...f.opts, allowMissing: true });
  assert.equal(r.store.gaps.length, 2);
  assert.ok(fs.existsSync(f.opts.database));
});

test('an index from another history (same path, another size) is not taken for the version\'s', async () => {
  const f = await fixture();
  f.copyStore();
  fs.copyFileSync(path.join(f.opts.storePath, 'indexes', '1', '1.caibx'), path.join(f.opts.storePath, 'indexes', '2', '1.caibx'));
  await assert.rejects(restoreDatabase(f.opts), oneLine(/two@1: index indexes\/2\/1\.caibx describes 600000 bytes, the version 700000: not this version's index/));
});

test('an older backup is migrated; a newer one, another program\'s database, a cut or foreign file are refused in one line', async () => {
  const f = await fixture();
  f.copyStore();
  const old = path.join(f.dir, 'old.db');
  const o = new Database(old);
  migrate(o, loadMigrations(), 5);
  o.exec("INSERT INTO branches (name, created_at, updated_at) VALUES ('north', 1, 1)");
  o.close();
  const r = await restoreDatabase({ ...f.opts, file: old });
  assert.equal(r.fromVersion, 5);
  assert.equal(r.facts.schemaVersion, newest);
  assert.equal(r.facts.branches, 1);

  const newer = path.join(f.dir, 'newer.db');
  fs.copyFileSync(f.bk, newer);
  const n = new Database(newer);
  n.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 1)').run(newest + 1, 'future');
  n.close();
  await assert.rejects(restoreDatabase({ ...f.opts, file: newer }), oneLine(new RegExp(`newer\\.db has schema version ${newest + 1}, newer than this branchboot \\(knows up to ${newest}\\)`)));

  const other = path.join(f.dir, 'other.db');
  const x = new Database(other);
  x.exec('CREATE TABLE t (a)');
  x.close();
  await assert.rejects(restoreDatabase({ ...f.opts, file: other }), oneLine(/other\.db is an SQLite database but not branchboot's \(no schema_migrations, branches/));

  const cut = path.join(f.dir, 'cut.db');
  fs.writeFileSync(cut, fs.readFileSync(f.bk).subarray(0, 12_345));
  assert.throws(() => checkBackupHeader(cut), oneLine(/cut\.db is truncated: 12345 bytes of the \d+ its header announces/));
  const cutAtPage = path.join(f.dir, 'page.db');
  fs.writeFileSync(cutAtPage, fs.readFileSync(f.bk).subarray(0, 8192));
  await assert.rejects(restoreDatabase({ ...f.opts, file: cutAtPage }), oneLine(/page\.db is truncated/));
  const text = path.join(f.dir, 'inventory.yaml');
  fs.writeFileSync(text, 'branches: []\n'.repeat(20));
  await assert.rejects(restoreDatabase({ ...f.opts, file: text }), oneLine(/inventory\.yaml is not a branchboot backup \(not an SQLite database\)/));
  const empty = path.join(f.dir, 'empty.db');
  fs.writeFileSync(empty, '');
  await assert.rejects(restoreDatabase({ ...f.opts, file: empty }), oneLine(/empty\.db is empty/));
  // Each refusal above left the restored database as it was.
  assert.equal(new Database(f.opts.database, { readonly: true }).prepare('SELECT count(*) AS n FROM branches').pluck().get(), 1);
});

test('the database in place goes aside with its WAL; a stale WAL with no database is moved out of the way, never replayed onto the backup', async () => {
  const f = await fixture();
  f.copyStore();
  // A database a crash left with commits in its WAL.
  const live = new Database(f.opts.database);
  live.pragma('journal_mode = WAL');
  live.exec('CREATE TABLE mine (a); INSERT INTO mine VALUES (42)');
  const wal = fs.readFileSync(`${f.opts.database}-wal`);
  live.close();
  fs.writeFileSync(`${f.opts.database}-wal`, wal);
  const r = await restoreDatabase(f.opts);
  assert.ok(r.aside && fs.existsSync(r.aside) && fs.existsSync(`${r.aside}-wal`));
  assert.equal(fs.existsSync(`${f.opts.database}-wal`), false);
  const h = openDatabase(f.opts.database);
  try { assert.equal((await h.db.selectFrom('image_versions').select('id').execute()).length, 2); } finally { await h.close(); }

  fs.rmSync(f.opts.database);
  fs.writeFileSync(`${f.opts.database}-wal`, wal);
  const r2 = await restoreDatabase(f.opts);
  assert.ok(r2.staleWal && fs.existsSync(r2.staleWal));
  const h2 = new Database(f.opts.database, { readonly: true });
  try {
    assert.equal(h2.pragma('quick_check', { simple: true }), 'ok');
    assert.equal(h2.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'mine'").pluck().get(), 0);
  } finally { h2.close(); }
});

test('a live database\'s file copied with its WAL beside it is refused (its last commits may be in the WAL)', async () => {
  const f = await fixture();
  fs.writeFileSync(`${f.bk}-wal`, 'x');
  await assert.rejects(restoreDatabase(f.opts), oneLine(/backup\.db-wal exists beside .*backup\.db: that is a database in use or left by a crash, not a backup/));
});

test('a backup read from stdin (a compressed one, piped) is restored; one cut short is named as stdin', async () => {
  const f = await fixture();
  f.copyStore();
  const whole = fs.readFileSync(f.bk);
  await assert.rejects(restoreDatabase({ ...f.opts, file: '-', stdin: Readable.from([whole.subarray(0, 10_000)]) }), oneLine(/^restore: stdin is truncated: 10000 bytes/));
  assert.equal(fs.existsSync(f.opts.database), false);
  assert.deepEqual(fs.readdirSync(f.b).filter((n) => n.endsWith('.tmp')), []);
  const r = await restoreDatabase({ ...f.opts, file: '-', stdin: Readable.from([whole.subarray(0, 5000), whole.subarray(5000)]) });
  assert.equal(r.facts.readyVersions, 2);
});
