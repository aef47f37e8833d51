import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ROOT, freePort, runCli, startServe, tempDir } from '../../helpers/cli.ts';

function writeConfig(dir: string, port: number, extra = '', level = 'warn'): string {
  const file = path.join(dir, 'branchboot.yaml');
  fs.writeFileSync(file, `dataDir: ${path.join(dir, 'var')}\nlog:\n  level: ${level}\nhttp:\n  port: ${port}\n${extra}`);
  return file;
}

test('serve answers /healthz and stops cleanly on SIGTERM (exit 0, database closed)', async () => {
  const dir = tempDir();
  // Port 0: the kernel picks it and startServe reads it from the log (info), so no other test
  // can take it between a free-port probe and serve's bind.
  const cfg = writeConfig(dir, 0, '  shutdownGraceSeconds: 60\n', 'info');
  const { proc, url, logs } = await startServe(cfg, { port: 0 });
  const health = await (await fetch(`${url}/healthz`)).json() as { status: string; services: Record<string, { state: string }> };
  assert.equal(health.status, 'ok');
  assert.equal(health.services.http!.state, 'running');
  assert.equal(health.services.dhcp!.state, 'disabled', 'DHCP is off until configured');
  // A request in flight when SIGTERM arrives still gets its answer or is cut within the grace time.
  const started = Date.now();
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  proc.kill('SIGTERM');
  const code = await exited;
  assert.equal(code, 0, logs());
  // Idle, so nothing to wait for: well inside the 60 s grace (it was 10 s against the default 10 s
  // grace, which a loaded machine's process teardown could reach).
  assert.ok(Date.now() - started < 30_000, `stopped within the grace period (${Date.now() - started} ms)`);
  // The WAL was checkpointed and the file is a healthy database another process can open.
  const db = new Database(path.join(dir, 'var', 'branchboot.db'), { readonly: true });
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  db.close();
});

test('a second serve on the same dataDir (other ports) refuses in one line; the first runs on', async () => {
  const dir = tempDir();
  const cfg = writeConfig(dir, 0, '', 'info');
  const { proc, url, logs, stop } = await startServe(cfg, { port: 0 });
  try {
    const r = await runCli(['serve', '--config', cfg], { env: { BRANCHBOOT_HTTP_PORT: '0', BRANCHBOOT_LOG_LEVEL: 'warn' } });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim(), `branchboot: dataDir ${path.join(dir, 'var')} is in use by another branchboot serve (pid ${proc.pid}); stop it first`);
    assert.equal((await fetch(`${url}/healthz`)).status, 200, logs());
    assert.match(logs(), new RegExp(`"dataDir":"${path.join(dir, 'var')}","database":"${path.join(dir, 'var', 'branchboot.db')}"[^\n]*"msg":"branchboot running"`));
  } finally {
    await stop();
  }
});

test('a port in use is one clear line and a non-zero exit', async () => {
  const dir = tempDir();
  const blocker = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const r = await runCli(['serve', '--config', writeConfig(dir, port)]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('branchboot:')).length, 1);
    assert.match(r.stderr, new RegExp(`branchboot: http: 127\\.0\\.0\\.1:${port} is already in use`));
  } finally {
    blocker.close();
  }
});

test('a bad config is one line naming the key, exit non-zero, nothing created', async () => {
  const dir = tempDir();
  const cfg = path.join(dir, 'bad.yaml');
  fs.writeFileSync(cfg, `dataDir: ${path.join(dir, 'var')}\nhttp:\n  port: -1\n`);
  const r = await runCli(['serve', '--config', cfg]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), `branchboot: config ${cfg}: http.port: must be >= 0`);
  assert.ok(!fs.existsSync(path.join(dir, 'var')), 'nothing half-written');
});

test('a database locked by another process is reported, not a stack trace', async () => {
  const dir = tempDir();
  const cfg = writeConfig(dir, await freePort());
  assert.equal((await runCli(['migrate', '--config', cfg])).code, 0);
  const holder = new Database(path.join(dir, 'var', 'branchboot.db'));
  holder.pragma('locking_mode = EXCLUSIVE');
  holder.exec('BEGIN EXCLUSIVE');
  try {
    const r = await runCli(['migrate', '--config', cfg], { env: { BRANCHBOOT_LOG_LEVEL: 'silent' } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^branchboot: database .*branchboot\.db: is locked by another process/);
    assert.ok(!r.stderr.includes('    at '), 'no stack trace');
  } finally {
    holder.exec('ROLLBACK');
    holder.close();
  }
});

test('apply --dry-run, apply, export, token create and admin create through the real CLI', async () => {
  const dir = tempDir();
  const cfg = writeConfig(dir, await freePort());
  const inv = path.join(ROOT, 'test/fixtures/inventory.yaml');
  const dry = await runCli(['apply', inv, '--dry-run', '--config', cfg]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^\+ branch north$/m);
  assert.match(dry.stderr, /would apply 6 changes/);
  const applied = await runCli(['--config', cfg, 'apply', inv]);
  assert.match(applied.stderr, /applied 6 changes/);
  assert.match((await runCli(['apply', inv, '--config', cfg])).stderr, /no changes/);
  const exported = await runCli(['export', '--config', cfg]);
  assert.match(exported.stdout, /mac: 52:54:00:12:34:57\n\s+hostname: lab-n-02/);
  const tok = await runCli(['token', 'create', 'provision', '--scope', 'write', '--branch', 'north', '--config', cfg]);
  assert.equal(tok.code, 0, tok.stderr);
  assert.match(tok.stdout.trim(), /^bbt_[A-Za-z0-9_-]{43}$/);
  const db = new Database(path.join(dir, 'var', 'branchboot.db'), { readonly: true });
  const dump = JSON.stringify(db.prepare('SELECT * FROM api_tokens').all());
  db.close();
  assert.ok(!dump.includes(tok.stdout.trim()), 'only the hash is stored');
  const admin = await runCli(['admin', 'create', 'ada', '--password-stdin', '--config', cfg], { input: 'a long password\n' });
  assert.equal(admin.code, 0, admin.stderr);
  const again = await runCli(['admin', 'create', 'ada', '--password-stdin', '--config', cfg], { input: 'a long password\n' });
  assert.equal(again.stderr.trim(), 'branchboot: admin create: user "ada" already exists');
  const short = await runCli(['admin', 'create', 'bob', '--password-stdin', '--config', cfg], { input: 'ninechars\n' });
  assert.equal(short.stderr.trim(), 'branchboot: admin create: the password must have at least 10 characters (as the console and the API ask)');
  const bad = await runCli(['apply', path.join(dir, 'nope.yaml'), '--config', cfg]);
  assert.equal(bad.stderr.trim(), `branchboot: apply: cannot read ${path.join(dir, 'nope.yaml')}: no such file`);
});

test('the built command (what npm start runs: bin/branchboot.js → dist/) works, with Kysely loaded from its bundle', async () => {
  const run = promisify(execFile);
  const dir = tempDir();
  const list = await run(process.execPath, [path.join(ROOT, 'bin/branchboot.js'), 'image', 'list', '--json'], { env: { ...process.env, BRANCHBOOT_DATA_DIR: path.join(dir, 'var') } });
  assert.deepEqual(JSON.parse(list.stdout), []);
  // npm run build bundles Kysely into one file (~60 ms less start-up per command than its ~260).
  const loaded = await run(process.execPath, ['-e', "import('./dist/db/kysely.js').then(() => console.log(JSON.stringify(Object.keys(require.cache).filter((k) => k.includes('kysely')))))"], { cwd: ROOT });
  assert.deepEqual(JSON.parse(loaded.stdout), [path.join(ROOT, 'dist/vendor/kysely.cjs')]);
});

test('with no log.level, a command logs info lines to a pipe but not among its output on a terminal', async () => {
  const run = promisify(execFile);
  const dir = tempDir();
  const image = path.join(dir, 'small.img');
  fs.writeFileSync(image, Buffer.alloc(64 * 1024, 7));
  const env = { ...process.env, BRANCHBOOT_DATA_DIR: path.join(dir, 'var') };
  const cli = `${process.execPath} ${path.join(ROOT, 'bin/branchboot.js')}`;
  const piped = await run('sh', ['-c', `${cli} image import ${image} --name piped`], { env });
  assert.match(piped.stdout, /^piped@1: /);
  assert.match(piped.stderr, /"msg":"import started"/);
  assert.match(piped.stderr, /^branchboot: note: .*small\.img is not a squashfs, ext2\/3\/4, ISO 9660, qcow2 or partitioned disk image; it was stored byte for byte$/m);
  // script(1) gives the command a pseudo-terminal (stdout and stderr both), as an admin's shell would.
  const tty = await run('script', ['-qec', `${cli} image import ${image} --name tty`, '/dev/null'], { env });
  assert.match(tty.stdout, /tty@1: /);
  assert.doesNotMatch(tty.stdout, /"level":/);
});
