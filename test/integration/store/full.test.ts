// The store's file system refusing writes: full (a small tmpfs), then read-only. The import fails
// with one line, publishes nothing, leaves no partial file, and the version before it is served
// byte for byte; once there is room, the same import succeeds and reuses what it wrote.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { importImage } from '../../../src/store/importer.ts';
import { compressChunk, decompressChunk } from '../../../src/store/codec.ts';
import { hashChunk } from '../../../src/store/chunk-id.ts';
import { chunkPath } from '../../../src/store/layout.ts';
import { walkChunks } from '../../../src/store/walk.ts';
import { imageCommand } from '../../../src/cli/image.ts';
import { storeCommand } from '../../../src/cli/store.ts';
import { listVersions } from '../../../src/model/image-versions.ts';
import { UserError } from '../../../src/util/errors.ts';
import { cliEnv, makeHarness, type StoreHarness } from './harness.ts';

function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('mount', ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

const MiB = 1024 * 1024;

describe('a store that refuses writes', { skip: canMount() ? false : 'needs root to mount a tmpfs', timeout: 120_000 }, () => {
  let h: StoreHarness;
  let store: string;
  let mounted = false;
  let base: string;
  const small = () => path.join(h.dir, 'small.img');
  const big = () => path.join(h.dir, 'big.img');
  const env = () => ({ config: h.config, db: h.handle.db, log: h.log });
  const cli = () => cliEnv(h);
  const tmpFiles = async () => {
    const out: string[] = [];
    for await (const e of walkChunks(store)) if (!e.hex) out.push(e.file);
    for (const f of fs.readdirSync(store, { recursive: true }) as string[]) if (f.endsWith('.tmp') && !f.startsWith('default.castr')) out.push(f);
    return out;
  };

  before(async () => {
    const dir = fs.mkdtempSync(path.join(h?.dir ?? '/tmp', 'bb-full-mnt-'));
    store = path.join(dir, 'store with space and ünïcode');
    fs.mkdirSync(store);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'bbFfull', store]);
    mounted = true;
    h = makeHarness('full', { 'store.path': store });
    fs.writeFileSync(small(), randomBytes(3 * MiB));
    // Random bytes do not compress: 12 MiB cannot fit in what is left of 8.
    fs.writeFileSync(big(), Buffer.concat([fs.readFileSync(small()), randomBytes(9 * MiB)]));
    await importImage(env(), { file: small(), name: 'x' });
    base = await h.serve();
  });

  after(async () => {
    await h?.close();
    if (mounted) {
      execFileSync('umount', [store]);
      fs.rmSync(path.dirname(store), { recursive: true, force: true });
    }
  });

  test('full: one-line error, nothing published, no partial file, the old version served as it was', async () => {
    const e = cli();
    const err = await imageCommand(['import', big(), '--name', 'x'], e).then(() => undefined, (x: unknown) => x);
    assert.ok(err instanceof UserError, `a user error, not ${String(err)}`);
    assert.match(err.message, /^image import: the store .* is full \(no space left on device\): x@2 was not published .* free space and import again/);
    assert.ok(!err.message.includes('\n'), 'one line');
    const versions = await listVersions(h.handle.db, { name: 'x' });
    assert.deepEqual(versions.map((v) => `${v.version}:${v.state}`), ['1:ready', '2:failed']);
    assert.match(versions[1]!.error ?? '', /is full/);
    assert.deepEqual(await tmpFiles(), [], 'no temp file left behind');
    // Every chunk under its final name is whole.
    for await (const c of walkChunks(store)) {
      assert.equal(hashChunk(decompressChunk(fs.readFileSync(c.file))).toString('hex'), c.hex);
    }
    assert.equal((await fetch(`${base}/images/x/2.caibx`)).status, 404);
    const cur = Buffer.from(await (await fetch(`${base}/images/x/current/root.img`)).arrayBuffer());
    assert.ok(cur.equals(fs.readFileSync(small())), 'version 1 byte-identical');
  });

  test('room again: the re-run reuses the chunks the failed one wrote', async () => {
    const before = new Map<string, number>();
    for await (const c of walkChunks(store)) before.set(c.hex!, fs.statSync(c.file).ino);
    execFileSync('mount', ['-o', 'remount,size=64m', store]);
    const r = await importImage(env(), { file: big(), name: 'x' });
    assert.equal(r.version, 3);
    // Each chunk there before is still the same file (reused, not written again).
    const rewritten = [...before].filter(([hex, ino]) => fs.statSync(chunkPath(store, hex), { throwIfNoEntry: false })?.ino !== ino);
    assert.deepEqual(rewritten, []);
    assert.ok(r.chunksTotal - r.chunksNew >= before.size - 1, `${r.chunksTotal - r.chunksNew} reused, ${before.size} were there`);
    const got = Buffer.from(await (await fetch(`${base}/images/x/3/root.img`)).arrayBuffer());
    assert.ok(got.equals(fs.readFileSync(big())));
  });

  test('read-only: import, gc and verify --quarantine say so in one line; serving goes on', async () => {
    // A corrupt chunk for verify to find (one of x@1's).
    let victim = '';
    for await (const c of walkChunks(store)) { victim = c.hex!; break; }
    const f = chunkPath(store, victim);
    const frame = fs.readFileSync(f);
    frame[frame.length >> 1]! ^= 0x5a;
    fs.writeFileSync(f, frame);
    // And one no index uses, for gc to try to remove.
    const stray = randomBytes(1000);
    const sf = chunkPath(store, hashChunk(stray).toString('hex'));
    fs.mkdirSync(path.dirname(sf), { recursive: true });
    fs.writeFileSync(sf, compressChunk(stray, 3));
    execFileSync('mount', ['-o', 'remount,ro', store]);
    try {
      fs.writeFileSync(path.join(h.dir, 'other.img'), randomBytes(MiB));
      const err = await imageCommand(['import', path.join(h.dir, 'other.img'), '--name', 'y'], cli()).then(() => undefined, (x: unknown) => x);
      assert.ok(err instanceof UserError, `a user error, not ${String(err)}`);
      assert.match(err.message, /^image import: the store .* is on a read-only file system: y@1 was not published/);
      const g = await storeCommand(['gc', '--grace', '0'], cli()).then(() => undefined, (x: unknown) => x);
      assert.ok(g instanceof UserError, `a user error, not ${String(g)}`);
      assert.match(g.message, /^store gc: the store .* is on a read-only file system/);
      const v = cli();
      assert.equal(await storeCommand(['verify', '--quarantine'], v), 1);
      assert.match(v.text(), new RegExp(`corrupt ${victim} .*\\[not quarantined: (EROFS|ENOENT)`));
      const got = Buffer.from(await (await fetch(`${base}/images/x/3/root.img`, { headers: { range: `bytes=${4 * MiB}-${5 * MiB - 1}` } })).arrayBuffer());
      assert.ok(got.equals(fs.readFileSync(big()).subarray(4 * MiB, 5 * MiB)));
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', store]);
    }
  });
});
