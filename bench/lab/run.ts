// `npm run bench:lab`: a branch of 16 desktops behind a shaped uplink, all powered on at once.
// Namespace `central` runs `branchboot serve` with a real squashfs image (two versions); namespace
// `branch` runs the 16 clients (bench/lab/clients.ts) and, for the cached rows, nginx with
// contrib/branch-cache/nginx.conf. One veth is the uplink, tbf-shaped both ways. Per scenario
// and uplink rate: bytes over the uplink (the veth's counters), time until the last client is
// done, the median client's time; direct to central vs through the branch cache, cold (first boot
// after an import) and warm (every boot after).
// Environment: BENCH_LAB_RATES (100mbit,1gbit), BENCH_LAB_CLIENTS (16), BENCH_LAB_TREE (/usr/bin:
// the image's files), BENCH_LAB_SCENARIOS (whole,lazy,casync,update), BENCH_DIR (work folder;
// the built image is kept there between runs), BENCH_LAB_SLICE (the cache's slice size instead of
// the file's 1m), BENCH_LAB_CACHE_ONLY=1 (no direct rows).
// Run it under the shared lock: flock /tmp/branchboot-bench.lock npm run bench:lab
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  CACHE_URL, CENTRAL_URL, canRunLab, createLabNet, startBranchCache, startCentral, type BranchCache, type LabNet,
} from '../../test/integration/branch-cache/lab.ts';
import { buildLabImage, type LabImage } from './image.ts';
import { SCRIPTS, type Scenario } from './clients.ts';
import { markdownTable, type Row } from './report.ts';

const exec = promisify(execFile);
const RATES = (process.env.BENCH_LAB_RATES ?? '100mbit,1gbit').split(',').filter(Boolean);
const CLIENTS = Number(process.env.BENCH_LAB_CLIENTS ?? 16);
const TREE = process.env.BENCH_LAB_TREE ?? '/usr/bin';
const SCENARIOS = (process.env.BENCH_LAB_SCENARIOS ?? 'whole,lazy,casync,update').split(',') as Scenario[];
/** Another slice size for the cache than contrib/branch-cache/nginx.conf's 1m (e.g. 256k), for an A/B. */
const SLICE = process.env.BENCH_LAB_SLICE;
/** Only the cache rows (an A/B of the cache's own settings; the ratio columns stay empty). */
const CACHE_ONLY = process.env.BENCH_LAB_CACHE_ONLY === '1';
const work = process.env.BENCH_DIR ?? path.join(os.tmpdir(), 'branchboot-bench-lab');

const why = canRunLab() ?? (await exec('sh', ['-c', 'command -v httpfs2 unsquashfs']).then(() => undefined, () => 'missing httpfs2 or unsquashfs'));
if (why) {
  console.error(`bench:lab ${why}`);
  process.exit(1);
}

/** MACs of the machines: group 0 direct/http, 1 cached/http, 2 direct/http-lazy, 3 cached/http-lazy. */
const mac = (group: number, i: number) => `52:54:00:1a:${group.toString(16).padStart(2, '0')}:${i.toString(16).padStart(2, '0')}`;
const groupOf = (s: Scenario, cached: boolean) => (s === 'lazy' ? 2 : 0) + (cached ? 1 : 0);

function inventory(): string {
  const lines = [
    'branches:',
    '  - name: direct', '    servers:', `      http: ${CENTRAL_URL}`, '    defaultImage: lab@1',
    '  - name: cached', '    servers:', `      http: ${CACHE_URL}`, '    defaultImage: lab@1',
    'images:', '  - name: lab', '    flavor: live-boot', '    transport: http',
    'machines:',
  ];
  for (let g = 0; g < 4; g++) {
    for (let i = 0; i < CLIENTS; i++) {
      lines.push(`  - mac: ${mac(g, i)}`, `    hostname: d${g}-${i}`, `    branch: ${g % 2 ? 'cached' : 'direct'}`);
      if (g >= 2) lines.push('    transport: http-lazy');
    }
  }
  return `${lines.join('\n')}\n`;
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2; };

/** Checks a client's output: whatever it fetched is the image's bytes. */
async function verify(s: Scenario, img: LabImage, out: string, stdout: string, expectWorkingSet: { bytes?: number }): Promise<void> {
  const sizes = stdout.trim().split('\n').map(Number);
  const sizeOf = async (f: string) => (await fs.stat(f)).size;
  if (s === 'whole') {
    const want = [await sizeOf(img.kernel), await sizeOf(img.initrd), await sizeOf(img.v1)];
    if (sizes.join() !== want.join()) throw new Error(`whole: fetched ${sizes.join()} bytes, want ${want.join()}`);
  } else if (s === 'lazy') {
    const want = [await sizeOf(img.kernel), await sizeOf(img.initrd)];
    if (sizes.slice(0, 2).join() !== want.join()) throw new Error(`lazy: kernel/initrd ${sizes.slice(0, 2).join()}, want ${want.join()}`);
    const ws = sizes[2]!;
    expectWorkingSet.bytes ??= ws;
    if (ws !== expectWorkingSet.bytes || ws <= 0) throw new Error(`lazy: extracted ${ws} bytes, others ${expectWorkingSet.bytes}`);
  } else {
    const [got, want] = s === 'casync' ? [path.join(out, 'img'), img.v1] : [path.join(out, 'img2'), img.v2];
    await exec('cmp', [got, want]);
  }
}

interface Wave { downBytes: number; upBytes: number; lastS: number; medianS: number; workingSetBytes?: number | undefined }

async function wave(net: LabNet, img: LabImage, s: Scenario, cached: boolean): Promise<Wave> {
  const dirs = Array.from({ length: CLIENTS }, (_, i) => path.join(work, 'clients', String(i)));
  await fs.rm(path.join(work, 'clients'), { recursive: true, force: true });
  await Promise.all(dirs.map((d) => fs.mkdir(d, { recursive: true })));
  const before = net.uplinkBytes();
  const t0 = performance.now();
  const results = await Promise.all(dirs.map(async (out, i) => {
    const r = await net.run(net.branch, ['sh', '-c', SCRIPTS[s]], {
      timeoutMs: 900_000,
      env: {
        CENTRAL: CENTRAL_URL, BASE: cached ? CACHE_URL : CENTRAL_URL, MAC: mac(groupOf(s, cached), i).replaceAll(':', '-'),
        OUT: out, LIST: img.workingSet, SEED: img.v1,
      },
    });
    return { ...r, s: (performance.now() - t0) / 1000, out };
  }));
  const after = net.uplinkBytes();
  const ws: { bytes?: number } = {};
  for (const r of results) {
    if (r.code !== 0) throw new Error(`${s} client in ${r.out} failed (${r.code}): ${r.stderr.slice(-2000)}`);
    await verify(s, img, r.out, r.stdout, ws);
  }
  await fs.rm(path.join(work, 'clients'), { recursive: true, force: true });
  const times = results.map((r) => r.s);
  return { downBytes: after.down - before.down, upBytes: after.up - before.up, lastS: Math.max(...times), medianS: median(times), workingSetBytes: ws.bytes };
}

/** One client's curl of the initrd straight from central, the second of two (the first warms serve): the uplink's real rate under tbf. */
async function calibrate(net: LabNet): Promise<number> {
  let mbit = 0;
  for (let i = 0; i < 2; i++) {
    const r = await net.run(net.branch, ['curl', '-sSf', '-o', '/dev/null', '-w', '%{speed_download}', `${CENTRAL_URL}/images/lab/1/initrd.img`], { timeoutMs: 600_000 });
    if (r.code !== 0) throw new Error(`calibration: ${r.stderr}`);
    mbit = Number(r.stdout) * 8 / 1e6;
  }
  return mbit;
}

await fs.mkdir(work, { recursive: true });
const img = await buildLabImage(path.join(work, 'image'), TREE);
const mb = async (f: string) => ((await fs.stat(f)).size / 1e6).toFixed(1);
const load0 = os.loadavg();
const started = new Date();
const net = createLabNet();
const rows: Row[] = [];
const notes: string[] = [];
let cache: BranchCache | undefined;
try {
  await fs.rm(path.join(work, 'central'), { recursive: true, force: true });
  const central = await startCentral(net, path.join(work, 'central'));
  const side = ['--flavor', 'live-boot', '--kernel', img.kernel, '--initrd', img.initrd];
  await central.importImage(img.v1, ['--name', 'lab', ...side]);
  await central.importImage(img.v2, ['--name', 'lab', ...side]);
  await central.apply(inventory());
  notes.push(`image v1 ${await mb(img.v1)} MB squashfs (zstd) of ${TREE} (${img.files} files), v2 ${await mb(img.v2)} MB (one file changed, 5 MB added); kernel ${await mb(img.kernel)} MB, initrd ${await mb(img.initrd)} MB`);
  if (SLICE) notes.push(`the cache's slice size: ${SLICE} (BENCH_LAB_SLICE) instead of contrib/branch-cache/nginx.conf's 1m`);
  notes.push(`block-level working set: ${img.workingSetFiles} of ${img.files} files (every 4th) read through httpfs2 with unsquashfs`);
  for (const rate of RATES) {
    net.shape(rate);
    const mbit = await calibrate(net);
    notes.push(`${rate}: one curl of the initrd straight from central: ${mbit.toFixed(1)} Mbit/s`);
    console.error(`${rate}: calibrated ${mbit.toFixed(1)} Mbit/s`);
    for (const s of SCENARIOS) {
      const direct = CACHE_ONLY ? { downBytes: 0, upBytes: 0, lastS: 0, medianS: 0 } : await wave(net, img, s, false);
      if (!CACHE_ONLY) rows.push({ rate, scenario: s, mode: 'direct', ...direct, direct });
      console.error(`${rate} ${s} direct: ${(direct.downBytes / 1e6).toFixed(1)} MB down, last ${direct.lastS.toFixed(1)} s`);
      // The update's cache already holds version 1 (the casync rows before it filled it): the morning after an import.
      if (!(s === 'update' && cache)) {
        await cache?.stop();
        cache = await startBranchCache(net, path.join(work, 'nginx'), { slice: SLICE });
      }
      const cold = await wave(net, img, s, true);
      rows.push({ rate, scenario: s, mode: s === 'update' ? 'cache (holds v1)' : 'cache, cold', ...cold, direct });
      console.error(`${rate} ${s} cache: ${(cold.downBytes / 1e6).toFixed(1)} MB down, last ${cold.lastS.toFixed(1)} s`);
      if (s !== 'update') {
        const warm = await wave(net, img, s, true);
        rows.push({ rate, scenario: s, mode: 'cache, warm', ...warm, direct });
      }
      if (s !== 'casync') { await cache.stop(); cache = undefined; }
    }
    await cache?.stop();
    cache = undefined;
  }
} finally {
  await cache?.stop();
  await net.destroy();
}
const load1 = os.loadavg();
const text = [
  `# bench:lab — ${started.toISOString()}, ${os.cpus().length} cores, ${CLIENTS} clients`,
  '',
  ...notes.map((n) => `- ${n}`),
  `- load average ${load0.map((x) => x.toFixed(2)).join(' ')} before, ${load1.map((x) => x.toFixed(2)).join(' ')} after`,
  '',
  markdownTable(rows),
  '',
].join('\n');
await fs.writeFile(path.join(work, 'results.md'), text);
process.stdout.write(text);
