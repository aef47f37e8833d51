// SIGTERM while serve has work in flight: a clean exit within http.shutdownGraceSeconds, exit
// code 0, nothing half-done left visible, and a next start that finds nothing stale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { runCli, startServe, tempDir } from '../../helpers/cli.ts';

test('SIGTERM during an uploaded import: exit 0 within the grace time, the version failed saying why, the upload removed', async () => {
  const dir = tempDir();
  const cfg = path.join(dir, 'branchboot.yaml');
  // zstd level 19 on one worker: 24 MiB of noise takes seconds, so the import is surely running.
  fs.writeFileSync(cfg, 'dataDir: var\nlog:\n  level: info\nhttp:\n  port: 0\n  shutdownGraceSeconds: 2\nstore:\n  zstdLevel: 19\n  workers: 1\n');
  const tok = await runCli(['token', 'create', 'adm', '--scope', 'admin', '--config', cfg]);
  assert.equal(tok.code, 0, tok.stderr);
  const { proc, url, logs } = await startServe(cfg, { port: 0 });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
  try {
    const r = await fetch(`${url}/api/v1/images/big/upload`, {
      method: 'POST', body: randomBytes(24 << 20),
      headers: { authorization: `Bearer ${tok.stdout.trim()}`, 'content-type': 'application/octet-stream' },
    });
    assert.equal(r.status, 202, await r.text());
    while (!logs().includes('"import started"')) await new Promise((res) => setTimeout(res, 50));
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  const t0 = Date.now();
  proc.kill('SIGTERM');
  assert.equal(await exited, 0, logs());
  const took = Date.now() - t0;
  assert.ok(took < 2000 + 3000, `exited ${took} ms after SIGTERM (grace 2 s)`);
  assert.ok(!logs().includes('"import finished"'), 'the import was still running at SIGTERM');
  assert.deepEqual(fs.readdirSync(path.join(dir, 'var', 'uploads')), [], 'no upload left behind');
  const db = new Database(path.join(dir, 'var', 'branchboot.db'), { readonly: true });
  const row = db.prepare('SELECT state, error FROM image_versions').get() as { state: string; error: string };
  db.close();
  assert.equal(row.state, 'failed');
  assert.match(row.error, /serve stopped during the import/);
  // The next start: no stale lock, no "database is locked".
  const again = await runCli(['migrate', '--config', cfg]);
  assert.equal(again.code, 0, again.stderr);
});

test('SIGTERM during a CLI import: one line, exit 128+signal, the version failed at once (not left importing)', async () => {
  const dir = tempDir();
  const image = path.join(dir, 'noise.img');
  fs.writeFileSync(image, randomBytes(24 << 20));
  const { spawn } = await import('node:child_process');
  const { cliArgv } = await import('../../helpers/cli.ts');
  const [cmd, ...args] = cliArgv('image', 'import', image, '--name', 'noise');
  const child = spawn(cmd!, args, {
    env: { ...process.env, BRANCHBOOT_DATA_DIR: path.join(dir, 'var'), BRANCHBOOT_STORE_ZSTD_LEVEL: '19', BRANCHBOOT_STORE_WORKERS: '1', BRANCHBOOT_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  while (!err.includes('"import started"')) {
    if (child.exitCode !== null) assert.fail(err);
    await new Promise((res) => setTimeout(res, 50));
  }
  child.kill('SIGTERM');
  assert.equal(await exited, 143, err);
  assert.ok(!err.includes('"import finished"'), 'the import was still running at SIGTERM');
  assert.equal(err.trim().split('\n').at(-1), 'branchboot: image import interrupted by SIGTERM: noise@1 marked failed, nothing was published');
  const db = new Database(path.join(dir, 'var', 'branchboot.db'), { readonly: true });
  assert.deepEqual(db.prepare('SELECT version, state FROM image_versions').all(), [{ version: 1, state: 'failed' }]);
  db.close();
});

test('SIGTERM with a console event stream open: serve does not wait out the grace time for it', async () => {
  const dir = tempDir();
  const cfg = path.join(dir, 'branchboot.yaml');
  fs.writeFileSync(cfg, 'dataDir: var\nlog:\n  level: info\nhttp:\n  port: 0\n  shutdownGraceSeconds: 30\n');
  const tok = await runCli(['token', 'create', 'watch', '--scope', 'read', '--config', cfg]);
  const { proc, url, logs } = await startServe(cfg, { port: 0 });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
  const stream = await fetch(`${url}/api/v1/imports/stream`, { headers: { authorization: `Bearer ${tok.stdout.trim()}` } });
  assert.equal(stream.status, 200);
  const reader = stream.body!.getReader();
  await reader.read(); // the stream is open: its first bytes (retry:) arrived
  const t0 = Date.now();
  proc.kill('SIGTERM');
  assert.equal(await exited, 0, logs());
  const took = Date.now() - t0;
  assert.ok(took < 10_000, `stopped ${took} ms after SIGTERM with an event stream open (grace 30 s)`);
  await reader.cancel().catch(() => {});
});
