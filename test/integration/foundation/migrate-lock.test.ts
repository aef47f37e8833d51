// `branchboot migrate` next to a running serve: refused by serve's dataDir lock, the database
// untouched; and a serve started while migrate holds the lock is refused the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { loadMigrations } from '../../../src/db/migrate.ts';
import { lockDataDir } from '../../../src/data-dir-lock.ts';
import { runCli, startServe, tempDir } from '../../helpers/cli.ts';

function dataDir(): { dir: string; cfg: string; db: string } {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'var'));
  const cfg = path.join(dir, 'branchboot.yaml');
  fs.writeFileSync(cfg, 'dataDir: var\nlog:\n  level: info\nhttp:\n  port: 0\n');
  return { dir, cfg, db: path.join(dir, 'var', 'branchboot.db') };
}

test('migrate under a running serve is refused in one line naming its PID, and changes nothing', async () => {
  const { dir, cfg, db } = dataDir();
  const { proc, logs } = await startServe(cfg, { port: 0, cwd: dir });
  try {
    // As if the running serve were older than this migrate: one migration still to apply.
    const raw = new Database(db);
    const last = loadMigrations().at(-1)!.version;
    raw.prepare('DELETE FROM schema_migrations WHERE version = ?').run(last);
    raw.close();
    const r = await runCli(['migrate', '--config', cfg], { cwd: dir });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`^branchboot: dataDir .*var is in use by another branchboot serve \\(pid ${proc.pid}\\); stop it first, the database was not changed$`));
    const after = new Database(db, { readonly: true });
    assert.equal((after.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number }).v, last - 1);
    after.close();
  } finally {
    const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, logs());
  }
});

test('serve started while migrate holds the lock is refused naming migrate; once released, migrate runs', async () => {
  const { dir, cfg } = dataDir();
  const held = lockDataDir(path.join(dir, 'var'), 'migrate');
  try {
    const r = await runCli(['serve', '--config', cfg], { cwd: dir });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`is in use by another branchboot migrate \\(pid ${process.pid}\\); stop it first\\n`));
  } finally {
    held.release();
  }
  const m = await runCli(['migrate', '--config', cfg], { cwd: dir });
  assert.equal(m.code, 0, m.stderr);
});

test('the lock a migrate released is free: migrate twice in a row, then serve', () => {
  const dir = tempDir();
  lockDataDir(dir, 'migrate').release();
  lockDataDir(dir, 'migrate').release();
  lockDataDir(dir).release();
});
