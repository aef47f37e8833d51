// The store against the real casync client: identical indexes, extract over HTTP, digests,
// a seeded update that fetches only the changed chunk, curl Range cases, qcow2 and ISO inputs.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { importImage } from '../../../src/store/importer.ts';
import { DEFAULT_CDC, DEFAULT_FIXED } from '../../../src/store/chunker.ts';
import { have, makeExt4, makeHarness, makeSquashfs, makeTree, type StoreHarness } from './harness.ts';

const run = promisify(execFile);
const tools = ['casync', 'curl', 'mkfs.ext4', 'mksquashfs', 'xorriso', 'qemu-img', 'nbdcopy', 'qemu-nbd'];
const missing = tools.filter((t) => !have(t));

describe('block store with casync and curl', { skip: missing.length ? `missing ${missing.join(', ')}` : false, timeout: 180_000 }, () => {
  let h: StoreHarness;
  let base: string;
  let ext4: string;
  let sq: string;
  const env = () => ({ config: h.config, db: h.handle.db, log: h.log });

  before(async () => {
    h = makeHarness('casync');
    makeTree(path.join(h.dir, 'tree'), 6);
    ext4 = path.join(h.dir, 'a.img');
    makeExt4(ext4, path.join(h.dir, 'tree'), 16);
    sq = path.join(h.dir, 'a.squashfs');
    makeSquashfs(sq, path.join(h.dir, 'tree'));
    base = await h.serve();
  });
  after(async () => { await h?.close(); });

  test('fixed 256 KiB index is byte-identical to casync make --chunk-size=262144:262144:262144', async () => {
    const r = await importImage(env(), { file: ext4, name: 'ext', chunker: DEFAULT_FIXED });
    assert.equal(r.version, 1);
    assert.equal(r.rootKind, 'ext4');
    await run('casync', ['make', '--chunk-size=262144:262144:262144', `--store=${h.dir}/ref.castr`, `${h.dir}/ref-fixed.caibx`, ext4]);
    assert.ok(fs.readFileSync(path.join(h.config.store.path, r.indexFile)).equals(fs.readFileSync(`${h.dir}/ref-fixed.caibx`)));
  });

  test('content-defined boundaries are identical to casync default chunking', async () => {
    for (const [file, name] of [[sq, 'sq'], [ext4, 'extcdc']] as const) {
      const r = await importImage(env(), { file, name, chunker: DEFAULT_CDC });
      await run('casync', ['make', `--store=${h.dir}/ref.castr`, `${h.dir}/ref-${name}.caibx`, file]);
      assert.ok(fs.readFileSync(path.join(h.config.store.path, r.indexFile)).equals(fs.readFileSync(`${h.dir}/ref-${name}.caibx`)), name);
    }
  });

  test('casync extract over HTTP (no --store) is byte-identical; casync digest matches', async () => {
    for (const name of ['ext', 'sq', 'extcdc']) {
      const out = path.join(h.dir, `out-${name}.img`);
      await run('casync', ['extract', `${base}/images/${name}/1.caibx`, out]);
      const src = name === 'sq' ? sq : ext4;
      assert.ok(fs.readFileSync(out).equals(fs.readFileSync(src)), name);
      const { stdout: d1 } = await run('casync', ['digest', `${base}/images/${name}/current.caibx`]);
      const { stdout: d2 } = await run('casync', ['digest', src]);
      assert.equal(d1.trim(), d2.trim());
    }
  });

  test('seeded extract of version 2 fetches exactly the changed chunk', async () => {
    const v2 = path.join(h.dir, 'a2.img');
    fs.copyFileSync(ext4, v2);
    const fd = fs.openSync(v2, 'r+');
    // One 256 KiB block in the middle of the image gets new content.
    fs.writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 40 * 262144 + 8192);
    fs.closeSync(fd);
    const r = await importImage(env(), { file: v2, name: 'ext', chunker: DEFAULT_FIXED });
    assert.equal(r.version, 2);
    assert.equal(r.chunksNew, 1);
    h.requests.length = 0;
    const out = path.join(h.dir, 'out-v2.img');
    await run('casync', ['extract', `--seed=${ext4}`, `${base}/images/ext/2.caibx`, out]);
    assert.ok(fs.readFileSync(out).equals(fs.readFileSync(v2)));
    const chunkGets = h.requests.filter((u) => u.endsWith('.cacnk'));
    assert.equal(chunkGets.length, 1, chunkGets.join('\n'));
  });

  test('HTTP headers: index and chunk caching, HEAD, 404, no Content-Encoding', async () => {
    const idx = await fetch(`${base}/images/ext/1.caibx`);
    assert.equal(idx.status, 200);
    assert.equal(idx.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const etag = idx.headers.get('etag');
    assert.ok(etag);
    assert.equal((await fetch(`${base}/images/ext/1.caibx`, { headers: { 'if-none-match': etag } })).status, 304);
    assert.notEqual((await fetch(`${base}/images/ext/current.caibx`)).headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const buf = Buffer.from(await idx.arrayBuffer());
    const id = buf.subarray(64 + 8, 64 + 40).toString('hex');
    const chunkUrl = `${base}/images/ext/default.castr/${id.slice(0, 4)}/${id}.cacnk`;
    const c = await fetch(chunkUrl);
    assert.equal(c.status, 200);
    assert.equal(c.headers.get('content-encoding'), null);
    assert.equal(c.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(c.headers.get('etag'), `"${id}"`);
    const body = Buffer.from(await c.arrayBuffer());
    assert.equal(body.readUInt32LE(0), 0xfd2fb528);
    const hd = await fetch(chunkUrl, { method: 'HEAD' });
    assert.equal(hd.status, 200);
    assert.equal(Number(hd.headers.get('content-length')), body.length);
    assert.equal((await fetch(`${base}/images/ext/default.castr/0000/${'0'.repeat(64)}.cacnk`)).status, 404);
    assert.equal((await fetch(`${base}/images/ext/default.castr/0000/../x`)).status, 404);
    assert.equal((await fetch(`${base}/images/ext/9.caibx`)).status, 404);
    assert.equal((await fetch(`${base}/images/nope/1.caibx`)).status, 404);
    assert.equal((await fetch(`${base}/images/ext/1/other.img`)).status, 404);
  });

  test('curl Range cases on the assembled image', async () => {
    const img = fs.readFileSync(ext4);
    const size = img.length;
    const url = `${base}/images/ext/1/root.img`;
    const curl = async (...args: string[]) => {
      const { stdout } = await run('curl', ['-s', '-o', `${h.dir}/range.out`, '-w', '%{http_code}', ...args, url], { maxBuffer: 1 << 20 });
      return { code: Number(stdout), body: fs.readFileSync(`${h.dir}/range.out`) };
    };
    const head = await run('curl', ['-sI', url]);
    assert.match(head.stdout, /Accept-Ranges: bytes/i);
    assert.match(head.stdout, new RegExp(`Content-Length: ${size}`, 'i'));
    const whole = await curl();
    assert.equal(whole.code, 200);
    assert.ok(whole.body.equals(img));
    const cases: [string, number, number][] = [['0-0', 0, 1], [`${size - 1}-${size - 1}`, size - 1, size], ['262100-262200', 262100, 262201], ['1000000-3000000', 1000000, 3000001], [`${size - 10}-${size + 100}`, size - 10, size]];
    for (const [r, from, to] of cases) {
      const res = await curl('-r', r);
      assert.equal(res.code, 206, r);
      assert.ok(res.body.equals(img.subarray(from, to)), r);
    }
    const suffix = await curl('-H', 'Range: bytes=-500');
    assert.equal(suffix.code, 206);
    assert.ok(suffix.body.equals(img.subarray(size - 500)));
    for (const bad of ['bytes=abc', `bytes=${size}-`, `bytes=${size + 5}-${size + 10}`, 'bytes=20-10', 'nonsense']) {
      const res = await curl('-H', `Range: ${bad}`);
      assert.equal(res.code, 416, bad);
    }
    const { stdout: hdrs } = await run('curl', ['-s', '-D', '-', '-o', '/dev/null', '-H', `Range: bytes=${size}-`, url]);
    assert.match(hdrs, new RegExp(`Content-Range: bytes \\*/${size}`, 'i'));
    const multi = await curl('-r', '0-9,100-109');
    assert.equal(multi.code, 206);
    const text = multi.body.toString('latin1');
    assert.match(text, /Content-Range: bytes 0-9\//);
    assert.match(text, /Content-Range: bytes 100-109\//);
    assert.ok(multi.body.includes(img.subarray(100, 110)));
  });

  test('qcow2 input converts while reading', async () => {
    const q = path.join(h.dir, 'a.qcow2');
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', '-c', ext4, q]);
    const r = await importImage(env(), { file: q, name: 'q' });
    assert.equal(r.sizeBytes, fs.statSync(ext4).size);
    assert.equal(r.chunksNew, 0, 'same content as the raw import: every chunk reused');
    const out = path.join(h.dir, 'out-q.img');
    await run('casync', ['extract', `${base}/images/q/1.caibx`, out]);
    assert.ok(fs.readFileSync(out).equals(fs.readFileSync(ext4)));
  });

  test('live ISO: flavor from the layout, kernel and initrd as blobs, squashfs into the store', async () => {
    for (const [flavor, layout] of [
      ['casper', { 'casper/vmlinuz': 'k', 'casper/initrd': 'i', 'casper/filesystem.squashfs': 'sq' }],
      ['live-boot', { 'live/vmlinuz': 'k', 'live/initrd.img': 'i', 'live/filesystem.squashfs': 'sq' }],
      ['dracut', { 'images/pxeboot/vmlinuz': 'k', 'images/pxeboot/initrd.img': 'i', 'LiveOS/squashfs.img': 'sq' }],
    ] as const) {
      const root = path.join(h.dir, `iso-${flavor}`);
      const kernel = Buffer.alloc(300_000, 1);
      const initrd = Buffer.alloc(200_000, 2);
      kernel.write(flavor);
      for (const [rel, what] of Object.entries(layout)) {
        fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
        if (what === 'sq') fs.copyFileSync(sq, path.join(root, rel));
        else fs.writeFileSync(path.join(root, rel), what === 'k' ? kernel : initrd);
      }
      const iso = path.join(h.dir, `${flavor}.iso`);
      execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-J', '-V', 'LIVE', '-o', iso, root], { stdio: 'pipe' });
      const r = await importImage(env(), { file: iso, name: `live-${flavor}` });
      assert.equal(r.flavor, flavor);
      assert.equal(r.rootKind, 'iso-squashfs');
      assert.equal(r.sizeBytes, fs.statSync(sq).size);
      const rootName = flavor === 'dracut' ? 'squashfs.img' : 'filesystem.squashfs';
      assert.equal(r.rootFile, rootName);
      const get = async (p: string) => Buffer.from(await (await fetch(`${base}/images/live-${flavor}/1/${p}`)).arrayBuffer());
      assert.ok((await get(rootName)).equals(fs.readFileSync(sq)));
      assert.ok((await get('vmlinuz')).equals(kernel));
      assert.ok((await get('initrd.img')).equals(initrd));
      const part = await fetch(`${base}/images/live-${flavor}/current/vmlinuz`, { headers: { range: 'bytes=0-9' } });
      assert.equal(part.status, 206);
      assert.equal(Buffer.from(await part.arrayBuffer()).toString('latin1', 0, flavor.length), flavor);
    }
  });

  test('truncated and corrupt inputs give precise errors and no version', async () => {
    const cut = (src: string, n: number, name: string) => {
      const f = path.join(h.dir, name);
      fs.writeFileSync(f, fs.readFileSync(src).subarray(0, n));
      return f;
    };
    const cases: [string, RegExp][] = [
      [cut(ext4, 5 * 1024 * 1024, 'cut.ext4'), /ext file system is truncated: it spans 16777216 bytes/],
      [cut(sq, 100_000, 'cut.squashfs'), /squashfs is truncated: its superblock says \d+ bytes, the file has 100000/],
      [cut(path.join(h.dir, 'casper.iso'), 200_000, 'cut.iso'), /ISO is truncated|not a readable ISO/],
      [cut(ext4, 0, 'empty.img'), /the file is empty/],
    ];
    const bogusQcow = path.join(h.dir, 'bogus.qcow2');
    fs.writeFileSync(bogusQcow, Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 9]), Buffer.alloc(4096, 7)]));
    cases.push([bogusQcow, /not a usable qcow2 image/]);
    const q = path.join(h.dir, 'a.qcow2');
    cases.push([cut(q, Math.floor(fs.statSync(q).size / 2), 'cut.qcow2'), /qcow2 conversion failed|not a usable qcow2 image/]);
    const plainIso = path.join(h.dir, 'plain.iso');
    fs.mkdirSync(path.join(h.dir, 'plain'), { recursive: true });
    fs.writeFileSync(path.join(h.dir, 'plain', 'readme.txt'), 'hello');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-o', plainIso, path.join(h.dir, 'plain')], { stdio: 'pipe' });
    cases.push([plainIso, /not a live ISO: no casper\/, live\/ or LiveOS\/ folder/]);
    cases.push([path.join(h.dir, 'does-not-exist.img'), /cannot open/]);
    // A failed qcow2 conversion leaves nothing in /tmp (libnbd's socket activation left a folder per failure).
    const converterDirs = () => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('bb-qcow2-') || f.startsWith('libnbd')).sort();
    const dirsBefore = converterDirs();
    for (const [file, re] of cases) {
      await assert.rejects(importImage(env(), { file, name: 'bad' }), (e: Error) => re.test(e.message), `${file}`);
    }
    assert.deepEqual(converterDirs(), dirsBefore);
    assert.equal((await fetch(`${base}/images/bad/current.caibx`)).status, 404);
  });
});
