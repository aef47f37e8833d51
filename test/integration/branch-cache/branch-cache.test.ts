// contrib/branch-cache/nginx.conf, as an admin drops it in, in front of a real `branchboot serve`
// across a veth "uplink": casync through it is byte-identical and a second extract never crosses
// the uplink; Range reads through its slices return the right bytes; what is mutable (the
// "current" aliases, the boot script) is the new version right after an import, never a stale copy;
// with the cache in central's http.trustedProxies, what a desktop fetches through it is the
// desktop's in the boot timeline, not the cache's.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { have, makeSquashfs, makeTree } from '../store/harness.ts';
import { tempDir } from '../../helpers/cli.ts';
import {
  BRANCH_ADDR, CACHE_URL, CENTRAL_URL, DESKTOP_ADDR, SITE_CONF, canRunLab, createLabNet, startBranchCache, startCentral,
  type BranchCache, type Central, type LabNet,
} from './lab.ts';

const MAC = '52:54:00:b0:00:01';
/** The desktop at DESKTOP_ADDR. */
const MAC2 = '52:54:00:b0:00:02';
const SLICE = 1024 * 1024;

describe('branch cache (nginx, contrib/branch-cache/nginx.conf) in front of serve', { skip: canRunLab() ?? false, timeout: 300_000 }, () => {
  let net: LabNet;
  let central: Central;
  let cache: BranchCache;
  let dir: string;
  let v1: Buffer;
  let v2: Buffer;

  const curl = (args: string[]) => net.run(net.branch, ['curl', '-sS', '--fail', ...args]);
  /** Bytes of a Range read through the cache, and the cache status nginx reported. */
  async function range(url: string, spec: string): Promise<{ body: Buffer; status: string; code: string }> {
    const out = path.join(dir, 'range.out');
    const r = await curl(['-r', spec, '-D', path.join(dir, 'range.h'), '-o', out, '-w', '%{http_code}', url]);
    assert.equal(r.code, 0, r.stderr);
    const headers = fs.readFileSync(path.join(dir, 'range.h'), 'utf8');
    return { body: fs.readFileSync(out), status: /^x-cache-status: *(\S+)/im.exec(headers)?.[1] ?? '', code: r.stdout };
  }
  const chunkLines = () => cache.lines().filter((l) => l.includes('.cacnk'));

  before(async () => {
    dir = tempDir('bb-branch-cache-');
    makeTree(path.join(dir, 'tree'), 6, 7);
    makeSquashfs(path.join(dir, 'filesystem.squashfs'), path.join(dir, 'tree'));
    v1 = fs.readFileSync(path.join(dir, 'filesystem.squashfs'));
    fs.writeFileSync(path.join(dir, 'vmlinuz'), Buffer.alloc(300_000, 1));
    fs.writeFileSync(path.join(dir, 'initrd.img'), Buffer.alloc(200_000, 2));
    net = createLabNet();
    central = await startCentral(net, path.join(dir, 'central'), { trustedProxies: [BRANCH_ADDR] });
    await central.importImage(path.join(dir, 'filesystem.squashfs'), ['--name', 'lab', '--flavor', 'live-boot', '--kernel', path.join(dir, 'vmlinuz'), '--initrd', path.join(dir, 'initrd.img')]);
    await central.apply([
      'branches:', '  - name: far', '    servers:', `      http: ${CACHE_URL}`, '    defaultImage: lab',
      'images:', '  - name: lab', '    flavor: live-boot', '    transport: http',
      'machines:', `  - mac: ${MAC}`, '    hostname: far-01', '    branch: far',
      `  - mac: ${MAC2}`, '    hostname: far-02', '    branch: far', '',
    ].join('\n'));
    cache = await startBranchCache(net, path.join(dir, 'nginx'));
  });
  after(async () => {
    await cache?.stop();
    await net?.destroy();
  });

  test('casync extract through the cache is byte-identical; the second one is all cache hits and crosses no uplink', async () => {
    const a = path.join(dir, 'x1.img');
    let r = await net.run(net.branch, ['casync', 'extract', `${CACHE_URL}/images/lab/1.caibx`, a], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.readFileSync(a).equals(v1));
    const first = chunkLines();
    assert.ok(first.length > 10, `${first.length} chunk requests`);
    assert.ok(first.every((l) => / cache=MISS /.test(l)), first.find((l) => !/ cache=MISS /.test(l)));
    const before = net.uplinkBytes();
    const b = path.join(dir, 'x2.img');
    r = await net.run(net.branch, ['casync', 'extract', `${CACHE_URL}/images/lab/1.caibx`, b], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.readFileSync(b).equals(v1));
    const second = chunkLines().slice(first.length);
    assert.equal(second.length, first.length);
    assert.ok(second.every((l) => / cache=HIT /.test(l)), second.find((l) => !/ cache=HIT /.test(l)));
    const index = cache.lines().filter((l) => l.includes('/images/lab/1.caibx')).at(-1);
    assert.match(index ?? '', / cache=HIT /);
    // Nothing but ARP and TCP noise: well under one chunk.
    const after = net.uplinkBytes();
    assert.ok(after.down - before.down < 16_384, `${after.down - before.down} bytes came down the uplink`);
  });

  test('Range reads of the assembled image through the slices return the right bytes, then hit', async () => {
    const url = `${CACHE_URL}/images/lab/1/filesystem.squashfs`;
    const n = v1.length;
    assert.ok(n > 3 * SLICE, `image of ${n} bytes spans several slices`);
    const cases: [string, number, number][] = [
      ['0-0', 0, 0],
      [`${n - 1}-${n - 1}`, n - 1, n - 1],
      [`${Math.floor(n / 2)}-${Math.floor(n / 2) + 4095}`, Math.floor(n / 2), Math.floor(n / 2) + 4095],
      [`${SLICE - 100}-${SLICE + 99}`, SLICE - 100, SLICE + 99],
      [`${2 * SLICE - 1}-${3 * SLICE}`, 2 * SLICE - 1, 3 * SLICE],
      ['-100', n - 100, n - 1],
    ];
    for (const [spec, s, e] of cases) {
      const got = await range(url, spec);
      assert.equal(got.code, '206', spec);
      assert.ok(got.body.equals(v1.subarray(s, e + 1)), `bytes of ${spec}`);
    }
    for (const [spec, s, e] of cases) {
      const got = await range(url, spec);
      assert.equal(got.status, 'HIT', spec);
      assert.ok(got.body.equals(v1.subarray(s, e + 1)), `cached bytes of ${spec}`);
    }
    // A whole-file GET (live-boot fetch=, iPXE) is assembled from the same slices.
    const whole = path.join(dir, 'whole.img');
    const r = await curl(['-o', whole, url]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.readFileSync(whole).equals(v1));
    const kernel = path.join(dir, 'k');
    assert.equal((await curl(['-o', kernel, `${CACHE_URL}/images/lab/1/vmlinuz`])).code, 0);
    assert.ok(fs.readFileSync(kernel).equals(fs.readFileSync(path.join(dir, 'vmlinuz'))));
  });

  test('httpfs2 (live-boot httpfs=) mounts the image through the cache and reads it byte-identical', { skip: fs.existsSync('/dev/fuse') && have('httpfs2') ? false : 'no FUSE or httpfs2' }, async () => {
    const v1File = path.join(dir, 'v1.squashfs');
    fs.writeFileSync(v1File, v1);
    const mnt = path.join(dir, 'mnt');
    fs.mkdirSync(mnt, { recursive: true });
    // One shell: `ip netns exec` gives every command its own mount namespace.
    const r = await net.run(net.branch, ['sh', '-c', [
      `httpfs2 -c -f -t 30 ${CACHE_URL}/images/lab/1/filesystem.squashfs ${mnt} -o ro 2>${dir}/httpfs2.err &`,
      'i=0; until [ -f "$M/filesystem.squashfs" ]; do sleep 0.1; i=$((i + 1)); [ $i -lt 300 ] || exit 9; done',
      'cmp "$M/filesystem.squashfs" "$V"; rc=$?', 'umount -l "$M"', 'wait', 'exit $rc',
    ].join('\n')], { env: { M: mnt, V: v1File }, timeoutMs: 120_000 });
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}${fs.readFileSync(path.join(dir, 'httpfs2.err'), 'utf8').slice(-1500)}`);
    const reads = cache.lines().filter((l) => l.includes('"GET /images/lab/1/filesystem.squashfs') && l.includes('" 206 '));
    assert.ok(reads.length > 10, `${reads.length} Range GETs through the cache`);
  });

  test('after a new version is imported, the current index, current image and boot plan through the cache are the new one', async () => {
    const cur = path.join(dir, 'cur.caibx');
    const script = async () => {
      const r = await curl([`${CACHE_URL}/boot/${MAC.replaceAll(':', '-')}.ipxe`]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    // Everything mutable asked for once (and twice) before the update, so a cache that kept it would serve it.
    for (let i = 0; i < 2; i++) {
      assert.equal((await curl(['-o', cur, `${CACHE_URL}/images/lab/current.caibx`])).code, 0);
      assert.match(await script(), new RegExp(`${CACHE_URL}/images/lab/1/vmlinuz`));
      assert.ok((await range(`${CACHE_URL}/images/lab/current/filesystem.squashfs`, '0-65535')).body.equals(v1.subarray(0, 65536)));
    }
    const old = fs.readFileSync(cur);

    makeTree(path.join(dir, 'tree', 'new'), 2, 99);
    makeSquashfs(path.join(dir, 'filesystem.squashfs'), path.join(dir, 'tree'));
    v2 = fs.readFileSync(path.join(dir, 'filesystem.squashfs'));
    assert.ok(!v2.subarray(0, 65536).equals(v1.subarray(0, 65536)), 'the new squashfs differs in its first 64 KiB (superblock)');
    await central.importImage(path.join(dir, 'filesystem.squashfs'), ['--name', 'lab', '--flavor', 'live-boot', '--kernel', path.join(dir, 'vmlinuz'), '--initrd', path.join(dir, 'initrd.img')]);

    assert.equal((await curl(['-o', cur, `${CACHE_URL}/images/lab/current.caibx`])).code, 0);
    const direct = await net.run(net.branch, ['curl', '-sS', '--fail', `${CENTRAL_URL}/images/lab/2.caibx`]);
    assert.equal(direct.code, 0);
    assert.ok(!fs.readFileSync(cur).equals(old), 'current.caibx through the cache is not the old index');
    assert.ok(fs.readFileSync(cur).equals(Buffer.from(direct.stdout, 'latin1')), 'current.caibx is version 2\'s');
    const s = await script();
    assert.match(s, new RegExp(`${CACHE_URL}/images/lab/2/vmlinuz`));
    assert.doesNotMatch(s, /\/images\/lab\/1\//);
    const head = await range(`${CACHE_URL}/images/lab/current/filesystem.squashfs`, '0-65535');
    assert.ok(head.body.equals(v2.subarray(0, 65536)), 'current image through the cache is version 2');
    const out = path.join(dir, 'x-cur.img');
    const r = await net.run(net.branch, ['casync', 'extract', `--seed=${path.join(dir, 'x1.img')}`, `${CACHE_URL}/images/lab/current.caibx`, out], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.readFileSync(out).equals(v2));
    // The mutable URLs were never stored: nginx reported no cache status for them.
    for (const l of cache.lines().filter((x) => /\/current[./]|\/boot\//.test(x))) assert.match(l, / cache=- /, l);
  });

  test('a desktop\'s script and initrd fetched through the cache are the desktop\'s boot steps, not the cache\'s', async () => {
    const token = (await central.cli(['token', 'create', 'timeline', '--scope', 'read'])).trim();
    // The desktop's own X-Forwarded-For is kept by nginx, in front of the address it appends:
    // central must take nginx's word, not the desktop's.
    const asDesktop = (url: string) => curl(['--interface', DESKTOP_ADDR, '-H', 'X-Forwarded-For: 10.211.0.99', '-o', '/dev/null', '-w', '%{http_code}', url]);
    type Ev = { mac: string | null; ip: string | null; stage: string };
    let events: Ev[] = [];
    /** The desktop's events once `stage` is among them (they reach the database within 100 ms; the script's first). */
    const waitFor = async (stage: string) => {
      for (let i = 0; i < 50 && !events.some((e) => e.stage === stage); i++) {
        if (i) await new Promise((r) => setTimeout(r, 200));
        const r = await net.run(net.central, ['curl', '-sS', '--fail', '-H', `Authorization: Bearer ${token}`, `${CENTRAL_URL}/api/v1/events?mac=${MAC2}`]);
        assert.equal(r.code, 0, r.stderr);
        events = (JSON.parse(r.stdout) as { items: Ev[] }).items;
      }
    };
    const script = await asDesktop(`${CACHE_URL}/boot/${MAC2.replaceAll(':', '-')}.ipxe`);
    assert.equal(script.stdout, '200', script.stderr);
    // Fetched at once, as iPXE does: the script's event may not be in the database yet, and the
    // initrd's MAC (found by its address, macForIp) must come from it all the same.
    const initrd = `${CACHE_URL}/images/lab/1/initrd.img`;
    assert.equal((await asDesktop(initrd)).stdout, '200');
    // The first fetch of it through this cache (a miss), so central saw it.
    const line = cache.lines().find((l) => l.startsWith(`${DESKTOP_ADDR} `) && l.includes('"GET /images/lab/1/initrd.img '));
    assert.match(line ?? '', / cache=MISS /, line);
    await waitFor('http.initrd');
    const steps = events.map((e) => `${e.stage} ${e.ip}`).sort();
    assert.deepEqual(steps, [`http.initrd ${DESKTOP_ADDR}`, `http.script ${DESKTOP_ADDR}`]);
  });
});

test('every location of the shipped nginx.conf that proxies sends X-Forwarded-For (nginx drops the server\'s proxy_set_header in a location with its own)', () => {
  const text = fs.readFileSync(SITE_CONF, 'utf8').replace(/#.*$/gm, '');
  const server = text.slice(0, text.indexOf('location'));
  assert.match(server, /proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/);
  const locations = text.split(/\n\s*location /).slice(1);
  assert.ok(locations.length >= 4, `${locations.length} locations`);
  for (const loc of locations) {
    const body = loc.slice(0, loc.indexOf('\n    }'));
    if (!body.includes('proxy_pass') || !body.includes('proxy_set_header')) continue;
    assert.match(body, /proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/, `location ${body.split('\n')[0]}`);
    assert.match(body, /proxy_set_header Connection "";/, `location ${body.split('\n')[0]}`);
  }
});
