// `npm run bench:nbd`: nbdcopy of a whole export (to null:, so only the read path counts) from
// nbdkit serving the raw image file, side by side with branchboot serving the same image
//   - from a raw-file reader (the server alone),
//   - from the chunk store with the default LRU (smaller than the image: every read decompresses
//     and hashes its chunk: the real price of the store),
//   - from the chunk store with an LRU that holds the whole image (warm).
// Several interleaved runs; medians of MB/s, ratio to nbdkit, and server CPU seconds per GB.
// Environment: BENCH_RUNS (default 5), BENCH_IMAGE (an existing image instead of building one),
// BENCH_DIR (work folder; the built image is kept there between runs).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig, type Config } from '../../src/config.ts';
import { openDatabase } from '../../src/db/index.ts';
import { createLogger } from '../../src/log.ts';
import { importImage } from '../../src/store/importer.ts';
import { openStore } from '../../src/store/store.ts';
import { NbdServer, storeExports } from '../../src/nbd/index.ts';
import { fileExports } from '../../test/integration/nbd/file-exports.ts';

const exec = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const work = process.env.BENCH_DIR ?? path.join(os.tmpdir(), 'branchboot-bench-nbd');

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(() => true, () => false);
}

/** An ext4 image of /usr/bin, /usr/libexec and /usr/lib/python3 (~455 MB of files on 2026-11-22, ~550 MB now), with room to spare. */
async function buildImage(): Promise<string> {
  if (process.env.BENCH_IMAGE) return process.env.BENCH_IMAGE;
  const img = path.join(work, 'usr.ext4');
  if (await exists(img)) return img;
  const stage = path.join(work, 'stage');
  await fs.rm(stage, { recursive: true, force: true });
  await fs.mkdir(stage, { recursive: true });
  for (const d of ['/usr/bin', '/usr/libexec', '/usr/lib/python3']) {
    if (!(await exists(d))) continue;
    // Hard links when /tmp and /usr share a file system, else a copy.
    await exec('cp', ['-al', d, stage]).catch(() => exec('cp', ['-a', d, stage]));
  }
  // Sized from what was staged: a fixed 540M stopped fitting once this host's /usr grew past it.
  const staged = Number((await exec('du', ['-sb', stage])).stdout.split('\t')[0]);
  const mib = Math.ceil((staged * 1.12) / 1048576) + 48;
  console.error(`building the ext4 image (${mib} MiB)…`);
  await exec('mkfs.ext4', ['-q', '-F', '-E', 'root_owner=0:0', '-d', stage, img, `${mib}M`], { maxBuffer: 1 << 24 });
  await fs.rm(stage, { recursive: true, force: true });
  return img;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitReady(uri: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try { await exec('nbdinfo', ['--size', uri]); return; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  throw new Error(`${uri} never became ready`);
}

/** CPU seconds (user + system) of a process, from /proc. */
async function procCpu(pid: number): Promise<number> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

interface Target {
  label: string;
  uri: string;
  cpu(): Promise<number>;
  mbps: number[];
  cpuPerGB: number[];
}

function selfCpu(): Promise<number> {
  const u = process.cpuUsage();
  return Promise.resolve((u.user + u.system) / 1e6);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function main(): Promise<void> {
  await fs.mkdir(work, { recursive: true });
  const img = await buildImage();
  const size = (await fs.stat(img)).size;
  console.error(`image ${img}: ${(size / 1e6).toFixed(0)} MB`);

  // Import into a fresh store with the defaults an operator gets (content-defined 16/64/256 KiB chunks, zstd 3).
  const dataDir = await fs.mkdtemp(path.join(work, 'store-'));
  const base = loadConfig({ env: {}, overrides: { dataDir, 'log.level': 'warn' } });
  const database = openDatabase(base.database);
  const log = createLogger(base);
  const children: ChildProcess[] = [];
  const servers: NbdServer[] = [];
  try {
    console.error('importing into the chunk store…');
    const imp = await importImage({ config: base, db: database.db, log }, { file: img, name: 'bench' });
    console.error(`import: ${imp.chunksTotal} chunks (${imp.chunker}), stored ${(imp.bytesStored / 1e6).toFixed(0)} MB, ratio ${imp.compressionRatio.toFixed(2)}, ${imp.seconds.toFixed(1)} s`);

    const targets: Target[] = [];
    // nbdkit, the established server: its file plugin over the same raw image, read-only.
    const kitPort = await freePort();
    const kit = spawn('nbdkit', ['-f', '-r', '-i', '127.0.0.1', '-p', String(kitPort), 'file', img], { stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(kit);
    targets.push({ label: 'nbdkit file (raw image)', uri: `nbd://127.0.0.1:${kitPort}`, cpu: () => procCpu(kit.pid!), mbps: [], cpuPerGB: [] });

    const serve = async (label: string, exports: ConstructorParameters<typeof NbdServer>[0]['exports'], name: string) => {
      const s = new NbdServer({ exports });
      servers.push(s);
      const a = await s.listen(0, '127.0.0.1');
      targets.push({ label, uri: `nbd://127.0.0.1:${a.port}/${name}`, cpu: selfCpu, mbps: [], cpuPerGB: [] });
    };
    const raw = fileExports({ raw: img });
    await serve('branchboot, raw-file reader', raw, 'raw');
    const withCache = (mb: number): Config => ({ ...base, nbd: { ...base.nbd, cacheMB: mb } });
    await serve(`branchboot, chunk store (LRU ${base.nbd.cacheMB} MB < image)`, storeExports(openStore(withCache(base.nbd.cacheMB), database.db, log)), 'bench');
    const warmMB = Math.ceil((size * 1.2) / 1e6);
    await serve(`branchboot, chunk store (LRU ${warmMB} MB, warm)`, storeExports(openStore(withCache(warmMB), database.db, log)), 'bench');
    for (const t of targets) await waitReady(t.uri);

    // One untimed pass each: page cache for the raw file, the warm LRU filled.
    for (const t of targets) await exec('nbdcopy', [t.uri, 'null:']);
    for (let run = 0; run < RUNS; run++) {
      // Rotate the order so no server always runs first (or last) on a noisy host.
      const order = targets.map((_, i) => targets[(i + run) % targets.length]!);
      for (const t of order) {
        const c0 = await t.cpu();
        const t0 = process.hrtime.bigint();
        await exec('nbdcopy', [t.uri, 'null:']);
        const secs = Number(process.hrtime.bigint() - t0) / 1e9;
        const cpu = (await t.cpu()) - c0;
        t.mbps.push(size / 1e6 / secs);
        t.cpuPerGB.push(cpu / (size / 1e9));
      }
      console.error(`run ${run + 1}/${RUNS}: ${targets.map((t) => t.mbps.at(-1)!.toFixed(0)).join(' / ')} MB/s`);
    }

    // Random 4 KiB reads, one connection, one at a time: what a booting root file system does
    // between its sequential bursts. The "fresh" store gets a new, empty LRU for every run, so
    // each 4 KiB read of an uncached chunk pays for decompressing and hashing all 256 KiB of it.
    const random: { label: string; iops: number[]; uri: () => Promise<string> }[] = [
      { label: targets[0]!.label, iops: [], uri: async () => targets[0]!.uri },
      { label: targets[1]!.label, iops: [], uri: async () => targets[1]!.uri },
      {
        label: 'branchboot, chunk store (fresh LRU each run)', iops: [], uri: async () => {
          const s = new NbdServer({ exports: storeExports(openStore(base, database.db, log)) });
          servers.push(s);
          return `nbd://127.0.0.1:${(await s.listen(0, '127.0.0.1')).port}/bench`;
        },
      },
      { label: targets[3]!.label, iops: [], uri: async () => targets[3]!.uri },
    ];
    const py = `
import nbd, sys, random, time
h = nbd.NBD(); h.connect_uri(sys.argv[1]); n = int(sys.argv[2])
r = random.Random(int(sys.argv[3])); blocks = h.get_size() // 4096
offs = [r.randrange(blocks) * 4096 for _ in range(n)]
t0 = time.perf_counter()
for o in offs: h.pread(4096, o)
print(n / (time.perf_counter() - t0))
h.shutdown()
`;
    const haveLibnbdPython = await exec('/usr/bin/python3', ['-c', 'import nbd']).then(() => true, () => false);
    for (let run = 0; haveLibnbdPython && run < RUNS; run++) {
      for (const t of random) {
        const { stdout } = await exec('/usr/bin/python3', ['-c', py, await t.uri(), '2000', String(run + 1)]);
        t.iops.push(Number(stdout.trim()));
      }
      console.error(`random run ${run + 1}/${RUNS}: ${random.map((t) => t.iops.at(-1)!.toFixed(0)).join(' / ')} reads/s`);
    }

    const ref = median(targets[0]!.mbps);
    const rows = targets.map((t) => [t.label, median(t.mbps).toFixed(0), (median(t.mbps) / ref).toFixed(2), median(t.cpuPerGB).toFixed(2),
      `${Math.min(...t.mbps).toFixed(0)}–${Math.max(...t.mbps).toFixed(0)}`]);
    const head = ['server', 'MB/s (median)', '× nbdkit', 'server CPU s/GB', 'range MB/s'];
    console.log(`\nnbdcopy ${(size / 1e6).toFixed(0)} MB ext4 image → null:, ${RUNS} runs, loopback, ${os.cpus().length} cores`);
    console.log(`| ${head.join(' | ')} |\n|${head.map(() => ' --- ').join('|')}|`);
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
    if (random[0]!.iops.length) {
      const rref = median(random[0]!.iops);
      console.log(`\nrandom 4 KiB reads, 1 connection, 1 in flight (libnbd Python), 2,000 per run, ${RUNS} runs`);
      console.log('| server | reads/s (median) | × nbdkit |\n| --- | --- | --- |');
      for (const t of random) console.log(`| ${t.label} | ${median(t.iops).toFixed(0)} | ${(median(t.iops) / rref).toFixed(2)} |`);
    }
    await raw.close();
  } finally {
    for (const s of servers) await s.close(1000);
    for (const c of children) if (c.pid && c.exitCode === null) process.kill(c.pid, 'SIGTERM');
    await database.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
