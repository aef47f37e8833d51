// The assembled image through httpfs2, the FUSE client live-boot's httpfs= uses: it mounts the
// image URL as one file and turns every read into a Range GET. The file must read back
// byte-identical, including random reads inside and across chunk boundaries.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { importImage } from '../../../src/store/importer.ts';
import { DEFAULT_FIXED } from '../../../src/store/chunker.ts';
import { have, makeExt4, makeHarness, makeTree, type StoreHarness } from './harness.ts';

const tools = ['httpfs2', 'mkfs.ext4'];
const missing = tools.filter((t) => !have(t));
const noFuse = !fs.existsSync('/dev/fuse');
const skip = missing.length ? `missing ${missing.join(', ')} (scripts/apt/store.txt)` : noFuse ? 'no /dev/fuse: FUSE is not available here' : false;

function isFuseMount(dir: string): boolean {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => {
    const f = l.split(' ');
    return f[4] === dir && l.includes(' - fuse');
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('httpfs2 mounts the assembled image over HTTP Range', { skip, timeout: 120_000 }, () => {
  let h: StoreHarness;
  let base: string;
  let img: Buffer;
  let mnt: string;
  let child: ChildProcess | undefined;
  let stderr = '';
  const seen: { method: string; range: string | undefined }[] = [];

  before(async () => {
    h = makeHarness('httpfs2');
    makeTree(path.join(h.dir, 'tree'), 5);
    const file = path.join(h.dir, 'a.img');
    makeExt4(file, path.join(h.dir, 'tree'), 12);
    img = fs.readFileSync(file);
    await importImage({ config: h.config, db: h.handle.db, log: h.log }, { file, name: 'fs', chunker: DEFAULT_FIXED });
    base = await h.serve();
    h.app!.server.on('request', (req) => { if (req.url?.includes('/root.img')) seen.push({ method: req.method ?? '', range: req.headers.range }); });
    mnt = path.join(h.dir, 'mnt');
    fs.mkdirSync(mnt);
  });

  after(async () => {
    if (mnt && isFuseMount(mnt)) spawnSync('umount', ['-l', mnt]);
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await sleep(200);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await h?.close();
  });

  test('the mounted file is byte-identical; reads are Range GETs', async (t) => {
    // -f: stay in the foreground so we own the PID; -c /dev/null: its default console is /dev/console.
    child = spawn('httpfs2', ['-f', '-c', '/dev/null', '-t', '10', `${base}/images/fs/1/root.img`, mnt, '-o', 'ro'], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    // httpfs2 fetches the size before it mounts: on a loaded machine that took longer than 10 s.
    const deadline = Date.now() + 30_000;
    while (!isFuseMount(mnt) && Date.now() < deadline && child.exitCode === null) await sleep(50);
    if (!isFuseMount(mnt)) {
      const why = `httpfs2 did not mount (exit ${child.exitCode}): ${stderr.trim() || 'no message'}`;
      // Only a refusal of FUSE itself (no device access, no mount permission) is a reason to skip.
      if (/fuse|permission|not permitted|mount/i.test(stderr) && !/connect|HTTP|Range/i.test(stderr)) {
        t.skip(`FUSE cannot mount here: ${why}`);
        return;
      }
      assert.fail(why);
    }
    // Async fs only: the server runs in this process, a sync read would block the event loop
    // that has to answer httpfs2's request for it.
    const file = path.join(mnt, 'root.img');
    assert.equal((await fsp.stat(file)).size, img.length);
    const fh = await fsp.open(file, 'r');
    try {
      // Random reads first (what a mounted squashfs does), then the whole file.
      let s = 7;
      const rnd = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n);
      const probes: [number, number][] = [[0, 1], [img.length - 1, 1], [262144 - 100, 200], [5 * 262144 - 4096, 3 * 262144]];
      for (let i = 0; i < 40; i++) probes.push([rnd(img.length - 70_000), 1 + rnd(70_000)]);
      for (const [off, len] of probes) {
        const buf = Buffer.alloc(len);
        const { bytesRead } = await fh.read(buf, 0, len, off);
        assert.equal(bytesRead, len, `read ${len} at ${off}`);
        assert.ok(buf.equals(img.subarray(off, off + len)), `bytes at ${off}+${len}`);
      }
    } finally {
      await fh.close();
    }
    assert.ok((await fsp.readFile(file)).equals(img), 'whole file');
    const gets = seen.filter((r) => r.method === 'GET');
    assert.ok(gets.length > 10, `httpfs2 made ${gets.length} GETs`);
    assert.ok(gets.every((r) => r.range !== undefined && /^bytes=\d+-\d+$/.test(r.range)), 'every GET is a single Range');
  });
});
