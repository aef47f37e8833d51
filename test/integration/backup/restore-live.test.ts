// The operator's story end to end, with real peers: a serve in a namespace answering a real DHCP
// client (busybox udhcpc) with an image imported; `branchboot backup` taken while it serves and
// while an import and an apply are in flight; the "disk dies"; a fresh dataDir gets the backup
// and a copy of the store (made after the backup, so newer than it); serve starts there, the
// client renews its same address, the image is listed and served byte for byte, `store verify`
// passes, the API token still works, and gc removes only what the restored database never knew.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { canUseNetns } from '../../helpers/netns.ts';
import { cliArgv, tempDir } from '../../helpers/cli.ts';
import { until } from '../../helpers/until.ts';
import { bb, makePair, serveIn, udhcpcScript, type Serve } from './harness.ts';

const MAC = '52:54:00:6b:00:01';
const SERVER = '10.78.0.1';

const config = (dataDir: string) => `dataDir: ${dataDir}\nlog:\n  level: info\nhttp:\n  address: ${SERVER}\n  port: 8080\ndhcp:\n  enabled: true\n  interfaces: [eth0]\n`;
const inventory = (machines: number) => `branches:
  - name: lab
    subnets:
      - cidr: 10.78.0.0/24
        dhcp: authoritative
        range: 10.78.0.100-10.78.0.150
        leaseTime: 600
    servers:
      http: http://${SERVER}:8080
machines:${machines ? '' : ' []'}
${Array.from({ length: machines }, (_, i) => `  - mac: 52:54:01:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}\n    branch: lab\n`).join('')}`;

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');
function rowsOf(file: string, q: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try { return (db.prepare(q).get() as { n: number }).n; } finally { db.close(); }
}

test('backup while serving (import and apply in flight), restore on a fresh dataDir with the store copied: same lease, image, token, verify', { skip: !canUseNetns() && 'needs root and ip netns', timeout: 600_000 }, async () => {
  const dir = tempDir('bb-backup-');
  const [a, b] = [path.join(dir, 'a'), path.join(dir, 'b')];
  const [cfgA, cfgB] = [path.join(dir, 'a.yaml'), path.join(dir, 'b.yaml')];
  fs.writeFileSync(cfgA, config(a));
  fs.writeFileSync(cfgB, config(b));
  const small = path.join(dir, 'lab.raw');
  const image = randomBytes(3 << 20);
  fs.writeFileSync(small, image);
  const big = path.join(dir, 'big.raw');
  fs.writeFileSync(big, randomBytes(160 << 20));
  const pair = makePair(`${SERVER}/24`, MAC);
  let serve: Serve | undefined;
  try {
    const srv = pair.server;
    const inv = path.join(dir, 'inv.yaml');
    fs.writeFileSync(inv, inventory(0));
    for (const args of [['apply', inv], ['image', 'import', small, '--name', 'lab'], ['admin', 'create', 'ada', '--password-stdin']]) {
      const r = await srv.run(cliArgv(...args, '--config', cfgA), { input: 'correct horse battery\n' });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    const tok = await bb(srv, 'token', 'create', 'ops', '--scope', 'admin', '--config', cfgA);
    assert.equal(tok.code, 0, tok.stderr);
    const token = tok.stdout.trim();

    serve = await serveIn(srv, cfgA);
    const log = path.join(dir, 'client.log');
    const client = pair.client.spawn(['busybox', 'udhcpc', '-f', '-i', 'eth0', '-s', udhcpcScript(dir, log), '-t', '20', '-T', '1', '-A', '1']);
    const bound = await until(() => /^bound ip=(\S+)/m.exec(read(log))?.[1], 'udhcpc bound', { timeoutMs: 30_000 });

    // An import in flight: its version row is 'importing' in the snapshot. The import is held
    // (SIGSTOP) from the moment its row exists until the backup is written: a 160 MB import
    // otherwise ends before a backup started from source through tsx has loaded.
    const importing = srv.spawn(cliArgv('image', 'import', big, '--name', 'big', '--config', cfgA));
    let importErr = '';
    importing.stderr!.on('data', (d: Buffer) => { importErr += d.toString(); });
    const importExit = new Promise<number | null>((res) => importing.once('exit', (code) => res(code)));
    const dbA = path.join(a, 'branchboot.db');
    await until(() => rowsOf(dbA, "SELECT count(*) AS n FROM image_versions WHERE state = 'importing'") > 0, 'the import to start', { timeoutMs: 60_000, everyMs: 5 });
    process.kill(-importing.pid!, 'SIGSTOP');
    const bk = path.join(dir, 'backup.db');
    const r1 = await bb(srv, 'backup', '--output', bk, '--config', cfgA);
    process.kill(-importing.pid!, 'SIGCONT');
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stdout, /1 lease, 2 images \(1 ready version\), 1 account, 1 API token/);
    assert.equal((fs.statSync(bk).mode & 0o777), 0o600);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temp file left');
    assert.equal(await importExit, 0, importErr);
    assert.equal(rowsOf(bk, "SELECT count(*) AS n FROM image_versions WHERE state = 'importing'"), 1, 'the import in flight is in the snapshot as importing');

    // An apply of 3,000 machines in flight: each snapshot has all of it or none (one transaction)
    // beside the one the client's DHCP discovered.
    fs.writeFileSync(inv, inventory(3000));
    const applying = bb(srv, 'apply', inv, '--config', cfgA);
    const viaStdout = path.join(dir, 'stdout.db');
    for (let i = 0; i < 2; i++) {
      const r = await srv.run(['sh', '-c', `"$@" > ${viaStdout}`, 'sh', ...cliArgv('backup', '-o', '-', '--config', cfgA)]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /written to stdout/);
      const machines = rowsOf(viaStdout, 'SELECT count(*) AS n FROM machines');
      assert.ok(machines === 1 || machines === 3001, `a torn snapshot: ${machines} machines`);
    }
    assert.equal((await applying).code, 0);

    // The disk dies. What survives: the backup, and the store copied after it (so it is newer).
    assert.equal(await serve.stop(), 0, serve.logs());
    serve = undefined;
    const early = await bb(srv, 'restore', bk, '--config', cfgB);
    assert.equal(early.code, 1);
    assert.match(early.stderr, /^branchboot: restore: the store \S+ lacks what 1 of the 1 versions in \S+ need \(lab@1: index indexes\/1\/1\.caibx missing\); copy the store first.*nothing was changed\n$/);
    assert.equal(fs.existsSync(path.join(b, 'branchboot.db')), false);
    execFileSync('cp', ['-a', path.join(a, 'store'), path.join(b, 'store')]);
    const restored = await bb(srv, 'restore', bk, '--config', cfgB);
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /1 import in flight when the backup was taken marked failed/);
    assert.match(restored.stdout, /1 of 1 ready version have their index, blobs and \d+ chunks present/);

    serve = await serveIn(srv, cfgB);
    const before = read(log).length;
    client.kill('SIGUSR1');
    const renewed = await until(() => /^renew ip=(\S+)/m.exec(read(log).slice(before))?.[1], 'udhcpc renew from the restored server', { timeoutMs: 30_000 });
    assert.equal(renewed, bound, 'the client kept its address');

    const list = await bb(srv, 'image', 'list', '--json', '--config', cfgB);
    const versions = JSON.parse(list.stdout) as { name: string; version: number; state: string }[];
    assert.deepEqual(versions.map((v) => `${v.name}@${v.version} ${v.state}`), ['big@1 failed', 'lab@1 ready']);
    const verify = await bb(srv, 'store', 'verify', '--config', cfgB);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    const api = await srv.run(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', `Authorization: Bearer ${token}`, `http://${SERVER}:8080/api/v1/images`]);
    assert.equal(api.stdout, '200', 'the API token from before the disk died still works');
    const got = await srv.run(['sh', '-c', `curl -sS http://${SERVER}:8080/images/lab/1/root.img | sha256sum`]);
    assert.equal(got.stdout.split(' ')[0], sha(image), 'the restored image is served byte for byte');

    const refused = await bb(srv, 'restore', bk, '--config', cfgB);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^branchboot: dataDir \S+ is in use by another branchboot serve \(pid \d+\); stop it first, the database was not changed\n$/);

    // The store copy is newer than the database: big@1's chunks are known to no version of the
    // restored database, and gc past the grace period removes them (correctly); lab@1 keeps its own.
    const gc = await bb(srv, 'store', 'gc', '--grace', '0', '--json', '--config', cfgB);
    assert.equal(gc.code, 0, gc.stderr);
    const report = JSON.parse(gc.stdout) as { chunksRemoved: number; indexesRemoved: number };
    assert.ok(report.chunksRemoved > 100, `gc removed ${report.chunksRemoved} chunks`);
    assert.equal(report.indexesRemoved, 1);
    const again = await bb(srv, 'store', 'verify', '--config', cfgB);
    assert.equal(again.code, 0, again.stdout);
    assert.equal(await serve.stop(), 0, serve.logs());
    serve = undefined;
  } finally {
    await serve?.stop();
    await pair.destroy();
  }
});
