// `image remove` of a version an NBD client has open, then `store gc`: the client's reads are the
// right bytes while the chunks exist (or are cached) and EIO once they are gone, never other
// bytes; a new connection to that version is refused; other exports are served as before.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { importImage } from '../../../src/store/importer.ts';
import { gcStore } from '../../../src/store/maintenance.ts';
import { openStore } from '../../../src/store/store.ts';
import { imageCommand } from '../../../src/cli/image.ts';
import { openDatabase } from '../../../src/db/index.ts';
import { NbdServer, storeExports } from '../../../src/nbd/index.ts';
import { makeHarness } from '../store/harness.ts';
import { PYTHON, havePythonNbd } from './run.ts';
import { until } from '../../helpers/until.ts';

const h = makeHarness('nbd-remove', { 'nbd.cacheMB': 1 });
after(async () => { await h.close(); });

const CLIENT = `
import nbd, os, sys, time
img = open(sys.argv[2], "rb").read()
h = nbd.NBD(); h.connect_uri(sys.argv[1] + "/r@1")
print("first", h.pread(65536, 0) == img[:65536], flush=True)
while not os.path.exists(sys.argv[3]): time.sleep(0.05)
ok = eio = wrong = 0
for off in range(0, len(img), 256 * 1024):
    try:
        d = h.pread(65536, off)
        ok += d == img[off:off + 65536]
        wrong += d != img[off:off + 65536]
    except nbd.Error as e:
        eio += e.errno == "EIO"
print("after", ok, eio, wrong, flush=True)
try:
    g = nbd.NBD(); g.connect_uri(sys.argv[1] + "/r@1"); print("reconnect ok")
except nbd.Error as e:
    print("reconnect refused")
o = nbd.NBD(); o.connect_uri(sys.argv[1] + "/o")
print("other", o.pread(1 << 20, 0) == open(sys.argv[4], "rb").read(), flush=True)
`;

test('an open NBD export whose version is removed and collected: EIO, never wrong bytes', { skip: havePythonNbd() ? false : 'python3-libnbd missing', timeout: 120_000 }, async () => {
  const env = { config: h.config, db: h.handle.db, log: h.log };
  const img = randomBytes(4 << 20);
  const other = randomBytes(1 << 20);
  fs.writeFileSync(path.join(h.dir, 'r.img'), img);
  fs.writeFileSync(path.join(h.dir, 'o.img'), other);
  await importImage(env, { file: path.join(h.dir, 'r.img'), name: 'r' });
  await importImage(env, { file: path.join(h.dir, 'o.img'), name: 'o' });
  const server = new NbdServer({ exports: storeExports(openStore(h.config, h.handle.db, h.log)) });
  const a = await server.listen(0, '127.0.0.1');
  const go = path.join(h.dir, 'go');
  const child = spawn(PYTHON, ['-c', CLIENT, `nbd://127.0.0.1:${a.port}`, path.join(h.dir, 'r.img'), go, path.join(h.dir, 'o.img')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  try {
    await until(() => out.includes('first'), 'the client read before the removal', { timeoutMs: 30_000 });
    assert.match(out, /first True/);
    const cliEnv = { config: h.config, log: h.log, out: new PassThrough().resume(), err: new PassThrough().resume(), openDb: () => openDatabase(h.config.database), interactive: false };
    assert.equal(await imageCommand(['remove', 'r@1'], cliEnv), 0);
    const rep = await gcStore(h.handle.db, h.config.store.path, h.log, { graceHours: 0 });
    assert.ok(rep.chunksRemoved > 0);
    fs.writeFileSync(go, '');
    assert.equal(await exited, 0, err);
    const m = /after (\d+) (\d+) (\d+)\nreconnect (\w+)/.exec(out);
    assert.ok(m, out);
    const [ok, eio, wrong] = [Number(m[1]), Number(m[2]), Number(m[3])];
    assert.equal(wrong, 0, 'no read returned other bytes');
    assert.equal(ok + eio, 16);
    assert.ok(eio > 0, 'reads of collected chunks fail with EIO');
    assert.equal(m[4], 'refused');
    assert.match(out, /other True/, 'the other export is served as before');
  } finally {
    child.kill('SIGKILL');
    await server.close(500);
  }
});
