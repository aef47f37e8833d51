// A chunk corrupted on disk is detected and refused (5xx, a cut connection, a rejected read,
// a log line), never served as wrong bytes; `store verify` finds it, `store gc` trims the store.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { importImage } from '../../../src/store/importer.ts';
import { DEFAULT_FIXED } from '../../../src/store/chunker.ts';
import { decodeIndex, chunkId } from '../../../src/store/caibx.ts';
import { compressChunk } from '../../../src/store/codec.ts';
import { chunkPath } from '../../../src/store/layout.ts';
import { sharedStore, CorruptChunkError } from '../../../src/store/store.ts';
import { imageCommand } from '../../../src/cli/image.ts';
import { storeCommand } from '../../../src/cli/store.ts';
import { cliEnv, have, makeExt4, makeHarness, makeTree, type StoreHarness } from './harness.ts';

const run = promisify(execFile);

describe('corrupt chunks, verify and gc', { skip: have('curl') && have('mkfs.ext4') && have('casync') ? false : 'needs curl, casync and mkfs.ext4', timeout: 120_000 }, () => {
  let h: StoreHarness;
  let base: string;
  let img: string;
  let ids: string[];
  let A = 0;
  let B = 0;
  const env = () => ({ config: h.config, db: h.handle.db, log: h.log });
  const cli = () => cliEnv(h);

  before(async () => {
    h = makeHarness('corrupt');
    makeTree(path.join(h.dir, 'tree'), 4, 3);
    img = path.join(h.dir, 'c.img');
    makeExt4(img, path.join(h.dir, 'tree'), 10);
    // Fixed blocks: the test addresses chunks by offset (i × 256 KiB).
    const r = await importImage(env(), { file: img, name: 'c', chunker: DEFAULT_FIXED });
    const idx = decodeIndex(fs.readFileSync(path.join(h.config.store.path, r.indexFile)));
    ids = Array.from({ length: idx.ends.length }, (_, i) => chunkId(idx, i).toString('hex'));
    // Two chunks that occur once each (not the shared all-zero block).
    const once = ids.map((_, i) => i).filter((i) => ids.indexOf(ids[i]!) === ids.lastIndexOf(ids[i]!));
    A = once[1]!;
    B = once[2]!;
    base = await h.serve();
  });
  after(async () => { await h?.close(); });

  test('corrupt chunk → 500 for a range in it, cut connection for a full GET, rejected read, logged', async () => {
    const good = fs.readFileSync(img);
    // Chunk A is replaced by a valid zstd frame of other bytes (only the hash can tell); chunk B by garbage.
    fs.writeFileSync(chunkPath(h.config.store.path, ids[A]!), compressChunk(Buffer.alloc(262144, 0x41), 3));
    const f9 = chunkPath(h.config.store.path, ids[B]!);
    const frame = fs.readFileSync(f9);
    frame[Math.floor(frame.length / 2)]! ^= 0xff;
    frame.writeUInt32LE(0xdeadbeef, frame.length - 4);
    fs.writeFileSync(f9, frame);

    const rA = await fetch(`${base}/images/c/1/root.img`, { headers: { range: `bytes=${A * 262144 + 10}-${A * 262144 + 20}` } });
    assert.equal(rA.status, 500);
    await rA.arrayBuffer();
    const rB = await fetch(`${base}/images/c/1/root.img`, { headers: { range: `bytes=${B * 262144}-${B * 262144 + 5}` } });
    assert.equal(rB.status, 500);
    await rB.arrayBuffer();
    // A range before the bad chunks still works.
    const ok = await fetch(`${base}/images/c/1/root.img`, { headers: { range: 'bytes=0-1000' } });
    assert.ok(Buffer.from(await ok.arrayBuffer()).equals(good.subarray(0, 1001)));

    const out = path.join(h.dir, 'full.out');
    await assert.rejects(run('curl', ['-sSf', '-o', out, `${base}/images/c/1/root.img`]), 'a full GET across the bad chunk must fail');
    const got = fs.readFileSync(out);
    assert.ok(got.length <= A * 262144, `got ${got.length} bytes: nothing past the bad chunk`);
    assert.ok(got.equals(good.subarray(0, got.length)), 'what was sent is correct');

    const store = sharedStore(env());
    const reader = await store.openReader('c', 'current');
    await assert.rejects(reader.read(A * 262144 - 10, 100), (e) => e instanceof CorruptChunkError && e.message.includes(ids[A]!));
    assert.ok(h.logLines.some((l) => l.includes('corrupt chunk refused') && l.includes(ids[A]!)));
    // The chunk itself is refused too (casync would reject it; an HTTP cache must not keep it).
    const cr = await fetch(`${base}/images/c/default.castr/${ids[A]!.slice(0, 4)}/${ids[A]}.cacnk`);
    assert.equal(cr.status, 500);
    await cr.arrayBuffer();
    await assert.rejects(run('casync', ['extract', `${base}/images/c/1.caibx`, path.join(h.dir, 'x.img')]));
    // The server keeps serving.
    assert.equal((await fetch(`${base}/images/c/1.caibx`)).status, 200);
  });

  test('store verify reports and quarantines; then the chunk is missing', async () => {
    const e1 = cli();
    assert.equal(await storeCommand(['verify'], e1), 1);
    assert.match(e1.text(), new RegExp(`corrupt ${ids[A]} \\(used by c@1\\)`));
    assert.match(e1.text(), new RegExp(`corrupt ${ids[B]}`));
    const e2 = cli();
    assert.equal(await storeCommand(['verify', '--quarantine'], e2), 1);
    assert.match(e2.text(), /\[quarantined\]/);
    assert.ok(fs.existsSync(path.join(h.config.store.path, 'quarantine', `${ids[A]}.cacnk`)));
    const e3 = cli();
    assert.equal(await storeCommand(['verify', '--json'], e3), 1);
    const rep = JSON.parse(e3.text()) as { missing: { chunk: string }[]; corrupt: unknown[] };
    assert.equal(rep.corrupt.length, 0);
    assert.deepEqual(rep.missing.map((m) => m.chunk).sort(), [ids[A], ids[B]].sort());
    assert.equal((await fetch(`${base}/images/c/default.castr/${ids[A]!.slice(0, 4)}/${ids[A]}.cacnk`)).status, 404);
  });

  test('image list, remove and store gc', async () => {
    // Re-import repairs the store: the missing chunks come back.
    await importImage(env(), { file: img, name: 'c', chunker: DEFAULT_FIXED });
    const other = path.join(h.dir, 'other.img');
    fs.writeFileSync(other, Buffer.alloc(3 * 262144 + 100, 0x33));
    await importImage(env(), { file: other, name: 'o' });
    const l = cli();
    assert.equal(await imageCommand(['list', '--json'], l), 0);
    const list = JSON.parse(l.text()) as { name: string; version: number; state: string; current: boolean; urls: { index: string; root: string }; nbdExport: string }[];
    assert.deepEqual(list.map((v) => `${v.name}@${v.version}:${v.state}:${v.current}`), ['c@1:ready:false', 'c@2:ready:true', 'o@1:ready:true']);
    assert.equal(list[1]!.urls.index, '/images/c/2.caibx');
    assert.equal(list[1]!.nbdExport, 'c@2');
    assert.equal(await storeCommand(['verify'], cli()), 0);

    assert.equal(await imageCommand(['remove', 'o@1'], cli()), 0);
    assert.equal((await fetch(`${base}/images/o/1.caibx`)).status, 404);
    const g1 = cli();
    assert.equal(await storeCommand(['gc', '--grace', '1', '--json'], g1), 0);
    assert.equal((JSON.parse(g1.text()) as { chunksRemoved: number }).chunksRemoved, 0, 'young chunks are spared');
    const g2 = cli();
    assert.equal(await storeCommand(['gc', '--grace', '0', '--json'], g2), 0);
    const rep = JSON.parse(g2.text()) as { chunksRemoved: number; chunksKept: number };
    assert.equal(rep.chunksRemoved, 2, 'the two distinct chunks of o@1');
    assert.equal(await storeCommand(['verify'], cli()), 0);
    const back = await fetch(`${base}/images/c/2/root.img`);
    assert.ok(Buffer.from(await back.arrayBuffer()).equals(fs.readFileSync(img)));
  });
});
