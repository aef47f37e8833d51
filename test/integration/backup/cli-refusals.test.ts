// The real command on bad input: one line on stderr naming the file, exit 1, nothing written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { ROOT, cliArgv, runCli, serviceUserDataDir, tempDir } from '../../helpers/cli.ts';
import { until } from '../../helpers/until.ts';

test('restore refuses a truncated backup and a file that is not a database; backup refuses the live database and a missing folder', { timeout: 120_000 }, async () => {
  const dir = tempDir('bb-backup-cli-');
  const cfg = path.join(dir, 'bb.yaml');
  fs.writeFileSync(cfg, 'dataDir: var\nlog:\n  level: warn\n');
  assert.equal((await runCli(['token', 'create', 'x', '--config', cfg])).code, 0);
  const bk = path.join(dir, 'bk.db');
  const made = await runCli(['backup', '-o', bk, '--config', cfg]);
  assert.equal(made.code, 0, made.stderr);
  const cut = path.join(dir, 'cut.db');
  fs.writeFileSync(cut, fs.readFileSync(bk).subarray(0, fs.statSync(bk).size - 5000));
  const junk = path.join(dir, 'junk.db');
  fs.writeFileSync(junk, 'not a database at all\n');
  const db = path.join(dir, 'var', 'branchboot.db');
  const before = fs.readFileSync(db);
  for (const [file, why] of [[cut, /is truncated: \d+ bytes of the \d+ its header announces/], [junk, /is not a branchboot backup \(not an SQLite database\)/]] as const) {
    const r = await runCli(['restore', file, '--config', cfg]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    assert.ok(r.stderr.includes(file), r.stderr);
    assert.match(r.stderr, why);
  }
  assert.deepEqual(fs.readFileSync(db), before, 'the database in place was not touched');
  const live = await runCli(['backup', '-o', db, '--config', cfg]);
  assert.match(live.stderr, /^branchboot: backup: \S+ is the live database \(or its WAL\); write the backup elsewhere\n$/);
  const nowhere = await runCli(['backup', '-o', path.join(dir, 'no', 'x.db'), '--config', cfg]);
  assert.match(nowhere.stderr, /^branchboot: backup: cannot write \S+: no such folder \S+\n$/);
  const elsewhere = path.join(dir, 'elsewhere.yaml');
  fs.writeFileSync(elsewhere, 'dataDir: nothing-here\n');
  const missing = await runCli(['backup', '-o', path.join(dir, 'm.db'), '--config', elsewhere]);
  assert.match(missing.stderr, /^branchboot: backup: database \S+nothing-here\/branchboot\.db does not exist \(are dataDir and database in the config right\?\)\n$/);
  const none = await runCli(['backup', '--config', cfg]);
  assert.equal(none.code, 2);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
});

test('a backup interrupted by SIGINT leaves neither the file nor its temp; a killed one\'s temp is removed by the next', { timeout: 120_000 }, async () => {
  const dir = tempDir('bb-backup-int-');
  const cfg = path.join(dir, 'bb.yaml');
  fs.writeFileSync(cfg, 'dataDir: var\nlog:\n  level: warn\n');
  assert.equal((await runCli(['token', 'create', 'x', '--config', cfg])).code, 0);
  // Big enough (~80 MB) that the copy takes a while to write and check.
  const db = new Database(path.join(dir, 'var', 'branchboot.db'));
  db.transaction(() => {
    const ins = db.prepare("INSERT INTO boot_events (at, mac, stage, detail) VALUES (?, '52:54:00:00:00:01', 'dhcp.ack', ?)");
    for (let i = 0; i < 300_000; i++) ins.run(i, 'x'.repeat(200));
  })();
  db.close();
  const out = path.join(dir, 'bk.db');
  const [cmd, ...rest] = cliArgv('backup', '-o', out, '--config', cfg);
  const p = spawn(cmd!, rest, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((res) => p.once('exit', (code) => res(code)));
  const temps = () => fs.readdirSync(dir).filter((f) => f.startsWith('.bk.db.backup-'));
  await until(() => temps().length > 0, 'the backup\'s temp file', { everyMs: 2, timeoutMs: 60_000 });
  p.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.match(stderr, /backup interrupted by SIGINT: no backup written/);
  assert.deepEqual(temps(), []);
  assert.equal(fs.existsSync(out), false);

  // What SIGKILL leaves (no hook runs): a temp of a process that is gone.
  const stale = path.join(dir, '.bk.db.backup-4194305-abc.tmp');
  fs.writeFileSync(stale, 'half');
  const r = await runCli(['backup', '-o', out, '--config', cfg], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(temps(), []);
  assert.ok(fs.existsSync(out));
});

test('backup run as the service user into a folder it cannot write (root\'s home, through the wrapper) says so in one line', { skip: process.getuid?.() !== 0 && 'needs root (runs the command as nobody)', timeout: 120_000 }, () => {
  const { dir, cfg } = serviceUserDataDir('bb-backup-user-', { yaml: 'log:\n  level: warn\n' });
  const home = path.join(dir, 'root-home');
  fs.mkdirSync(home, { mode: 0o700 });
  const env = { PATH: process.env.PATH, HOME: '/nonexistent' };
  const run = (...args: string[]) => {
    const [cmd, ...rest] = cliArgv(...args, '--config', cfg);
    return spawnSync(cmd!, rest, { cwd: '/', uid: 65534, gid: 65534, env, encoding: 'utf8', timeout: 60_000 });
  };
  assert.equal(run('token', 'create', 'x').status, 0);
  const r = run('backup', '-o', path.join(home, 'b.db'));
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^branchboot: backup: cannot write \S+\/root-home\/b\.db: folder \S+\/root-home is not writable by user nobody\n$/);
  assert.deepEqual(fs.readdirSync(home), []);
});
