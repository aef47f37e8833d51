// What publishing a layered casper ISO's package pool (pool/, dists/, .disk/ beside casper/)
// costs at nfs/cifs publish time: a synthetic ISO shaped like Ubuntu 24.04's (casper layers of
// incompressible data, a pool of many .deb-sized files), imported into a fresh store, then
// published; the casper/ part and the pool part are timed apart by removing one and publishing
// again (the other is then unchanged and only stat'ed). Run it under the bench lock:
//   flock /tmp/branchboot-bench.lock node --import tsx bench/store/publish-pool.ts [layerMiB] [poolFiles] [poolMiB] [rounds]
// Prints one line per round and the medians: seconds and MB/s of each part, files, bytes.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { pino } from 'pino';
import { compress } from 'zstd-napi';
import { loadConfig } from '../../src/config.ts';
import { openDatabase } from '../../src/db/index.ts';
import { importImage } from '../../src/store/importer.ts';
import { sharedStore } from '../../src/store/store.ts';
import { publishFromStore, ISO_MEDIA_FOLDERS } from '../../src/boot/publish.ts';
import { newc } from '../../test/unit/store/newc.ts';

const [layerMiB = 1536, poolFiles = 1500, poolMiB = 300, rounds = 5] = process.argv.slice(2).map(Number);
const root = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? '/tmp', 'bb-bench-publish-'));
const rnd = (seed: number) => { let s = seed; return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32); };

function layer(dir: string, name: string, mib: number): string {
  const tree = path.join(dir, `t-${name}`);
  fs.mkdirSync(tree, { recursive: true });
  // Incompressible, as squashfs content already is (xz/zstd): the store cannot shrink it either.
  for (let i = 0; i < mib; i += 64) fs.writeFileSync(path.join(tree, `blob${i}`), crypto.randomBytes(Math.min(64, mib - i) << 20));
  const out = path.join(dir, `${name}.squashfs`);
  execFileSync('mksquashfs', [tree, out, '-noappend', '-quiet', '-no-progress', '-noI', '-noD', '-noF', '-noX'], { stdio: 'pipe' });
  fs.rmSync(tree, { recursive: true });
  return out;
}

const t = (a: number) => (performance.now() - a) / 1000;
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  const src = path.join(root, 'iso');
  // Ubuntu's chain: minimal (largest), minimal.standard, minimal.standard.live.
  const parts = [['minimal', 0.55], ['minimal.standard', 0.3], ['minimal.standard.live', 0.15]] as const;
  fs.mkdirSync(path.join(src, 'casper'), { recursive: true });
  for (const [n, share] of parts) fs.renameSync(layer(root, n, Math.round(layerMiB * share)), path.join(src, 'casper', `${n}.squashfs`));
  fs.writeFileSync(path.join(src, 'casper/vmlinuz'), crypto.randomBytes(15 << 20));
  fs.writeFileSync(path.join(src, 'casper/initrd'), Buffer.concat([newc([['kernel', null]]), compress(newc([['conf', null], ['conf/conf.d', null], ['conf/conf.d/default-layer.conf', 'LAYERFS_PATH=minimal.standard.live.squashfs\n']]))]));
  fs.writeFileSync(path.join(src, 'casper/install-sources.yaml'), '- default: true\n');
  // The pool: .deb sizes spread log-uniformly from 4 KiB to 64 MiB-ish, scaled to poolMiB in all.
  const r = rnd(7);
  const raw = Array.from({ length: poolFiles }, () => Math.exp(Math.log(4096) + r() * (Math.log(64 << 20) - Math.log(4096))));
  const scale = (poolMiB * 1048576) / raw.reduce((a, b) => a + b, 0);
  raw.forEach((x, i) => {
    const dir = path.join(src, 'pool', i % 3 ? 'main' : 'restricted', String.fromCharCode(97 + (i % 26)), `pkg${i % 400}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `pkg${i}_1.0_amd64.deb`), crypto.randomBytes(Math.max(1, Math.round(x * scale))));
  });
  fs.mkdirSync(path.join(src, 'dists/noble/main/binary-amd64'), { recursive: true });
  fs.writeFileSync(path.join(src, 'dists/noble/Release'), 'Codename: noble\n');
  fs.writeFileSync(path.join(src, 'dists/noble/main/binary-amd64/Packages.gz'), crypto.randomBytes(200_000));
  fs.mkdirSync(path.join(src, '.disk'));
  fs.writeFileSync(path.join(src, '.disk/info'), 'Ubuntu 24.04.1 LTS "Noble Numbat" - Release amd64\n');
  const iso = path.join(root, 'bench.iso');
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-J', '-o', iso, src], { stdio: 'pipe' });
  fs.rmSync(src, { recursive: true });
  const config = loadConfig({ env: {}, overrides: { dataDir: path.join(root, 'data'), 'log.level': 'warn' } });
  const handle = openDatabase(config.database);
  const env = { config, db: handle.db, log: pino({ level: 'warn' }) };
  const t0 = performance.now();
  await importImage(env, { file: iso, name: 'noble' });
  console.log(`iso ${(fs.statSync(iso).size / 1e9).toFixed(2)} GB imported in ${t(t0).toFixed(1)} s`);
  fs.rmSync(iso);
  const store = sharedStore(env);
  const exportDir = path.join(root, 'export');
  const vdir = path.join(exportDir, 'noble', '1');
  const sizeOf = (d: string): { files: number; bytes: number } => {
    let files = 0, bytes = 0;
    for (const e of fs.readdirSync(d, { withFileTypes: true, recursive: true })) if (e.isFile()) { files++; bytes += fs.statSync(path.join(e.parentPath, e.name)).size; }
    return { files, bytes };
  };
  const rows: { whole: number; casper: number; pool: number; again: number }[] = [];
  for (let i = 0; i < rounds; i++) {
    fs.rmSync(exportDir, { recursive: true, force: true });
    execFileSync('sync');
    let a = performance.now();
    await publishFromStore(store, exportDir, 'noble', 1);
    const whole = t(a);
    a = performance.now();
    await publishFromStore(store, exportDir, 'noble', 1);
    const again = t(a);
    for (const f of ISO_MEDIA_FOLDERS) fs.rmSync(path.join(vdir, f), { recursive: true, force: true });
    execFileSync('sync');
    a = performance.now();
    await publishFromStore(store, exportDir, 'noble', 1);
    const pool = t(a);
    fs.rmSync(path.join(vdir, 'casper'), { recursive: true });
    execFileSync('sync');
    a = performance.now();
    await publishFromStore(store, exportDir, 'noble', 1);
    const casper = t(a);
    rows.push({ whole, casper, pool, again });
    console.log(`round ${i + 1}: whole ${whole.toFixed(2)} s, casper/ ${casper.toFixed(2)} s, pool+dists+.disk ${pool.toFixed(2)} s, unchanged pass ${(again * 1000).toFixed(0)} ms`);
  }
  const c = sizeOf(path.join(vdir, 'casper'));
  const p = ISO_MEDIA_FOLDERS.map((f) => sizeOf(path.join(vdir, f))).reduce((x, y) => ({ files: x.files + y.files, bytes: x.bytes + y.bytes }));
  const m = { whole: med(rows.map((x) => x.whole)), casper: med(rows.map((x) => x.casper)), pool: med(rows.map((x) => x.pool)), again: med(rows.map((x) => x.again)) };
  console.log(`casper/: ${c.files} files, ${(c.bytes / 1e6).toFixed(0)} MB, median ${m.casper.toFixed(2)} s (${(c.bytes / 1e6 / m.casper).toFixed(0)} MB/s)`);
  console.log(`pool/ dists/ .disk/: ${p.files} files, ${(p.bytes / 1e6).toFixed(0)} MB, median ${m.pool.toFixed(2)} s (${(p.bytes / 1e6 / m.pool).toFixed(0)} MB/s, ${(m.pool / p.files * 1000).toFixed(2)} ms/file)`);
  console.log(`whole version: median ${m.whole.toFixed(2)} s; unchanged pass ${(m.again * 1000).toFixed(0)} ms; pool adds ${((p.bytes / c.bytes) * 100).toFixed(1)} % disk, ${((m.pool / m.casper) * 100).toFixed(0)} % of casper/'s time`);
  await handle.close();
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
