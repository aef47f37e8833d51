// TFTP benchmark: branchboot vs tftpd-hpa (in.tftpd) vs dnsmasq, side by side in one run, same
// files, same clients, in a throwaway network namespace pair joined by a bridge (veth, MTU 1500).
//
//   npm run bench:tftp [-- --runs 5 --size-mb 20 --big-mb 50 --concurrent 50 --concurrent-mb 10]
//                      [--only branchboot,tftpd-hpa,dnsmasq,branchboot-inline] [--rows 1468,concurrent]
//   BENCH_TFTP_BASE=/path/to/other/checkout npm run bench:tftp -- --only branchboot,branchboot-base,tftpd-hpa
//   node --import tsx bench/tftp/pool.ts LOG...   (per-run ratios pooled over several runs' logs)
//
// Rows: single transfers (curl and atftp at blksize 1468, atftp with windowsize 8 and 16, curl
// at 512 and 65464) in MB/s, curl at 65464 on a file above branchboot's in-memory cache limit
// (32 MiB: big initrds are read from the file block by block), and N simultaneous downloads
// (aggregate MB/s, failures). Servers
// are measured interleaved within each run so host noise hits them alike; the table shows
// medians and each server's ratio to tftpd-hpa.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createTestNet, canUseNetns, type NetHost } from '../../test/helpers/netns.ts';
import { paired, pairedLine } from './paired.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const RUNS = arg('runs', 5);
const SIZE_MB = arg('size-mb', 20);
const BIG_MB = arg('big-mb', 50);
const CONC = arg('concurrent', 50);
const CONC_MB = arg('concurrent-mb', 10);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1]!.split(',') : undefined;

interface Server { name: string; addr: string; threads?: number; env?: Record<string, string> }
// Only with --only, for A/B: branchboot-inline runs every transfer in its main thread;
// branchboot-dgram uses Node's dgram instead of the native sockets (src/udp); branchboot-base runs
// the checkout named by BENCH_TFTP_BASE (its own node_modules and built addon), an A/B of two
// commits in one run.
const SERVERS: Server[] = [
  { name: 'branchboot', addr: '10.79.0.1' },
  { name: 'tftpd-hpa', addr: '10.79.0.3' },
  { name: 'dnsmasq', addr: '10.79.0.4' },
  { name: 'branchboot-inline', addr: '10.79.0.5', threads: 0 },
  { name: 'branchboot-dgram', addr: '10.79.0.6', env: { BRANCHBOOT_UDP: 'dgram' } },
  { name: 'branchboot-base', addr: '10.79.0.7' },
].filter((s) => (only ? only.includes(s.name) : !['branchboot-inline', 'branchboot-dgram', 'branchboot-base'].includes(s.name)));
const BASE = process.env.BENCH_TFTP_BASE;
if (SERVERS.some((s) => s.name === 'branchboot-base') && !BASE) throw new Error('branchboot-base needs BENCH_TFTP_BASE=<checkout>');
const rowFilter = args.includes('--rows') ? args[args.indexOf('--rows') + 1]!.split(',') : undefined;

interface Row { name: string; argv: (addr: string, file: string, out: string) => string[]; big?: boolean }
const curl = (bs: number) => (addr: string, file: string) => ['curl', '-sS', '--fail', '-o', '/dev/null', '-w', '%{size_download}', '--tftp-blksize', String(bs), `tftp://${addr}/${file}`];
const atftp = (opts: string[]) => (addr: string, file: string, out: string) => ['atftp', ...opts.flatMap((o) => ['--option', o]), '-g', '-r', file, '-l', out, addr];
const ROWS: Row[] = [
  { name: 'curl blksize 512', argv: curl(512) },
  { name: 'curl blksize 1468', argv: curl(1468) },
  { name: 'atftp blksize 1468', argv: atftp(['blksize 1468']) },
  { name: 'atftp 1468 windowsize 8', argv: atftp(['blksize 1468', 'windowsize 8']) },
  { name: 'atftp 1468 windowsize 16', argv: atftp(['blksize 1468', 'windowsize 16']) },
  { name: 'curl blksize 65464', argv: curl(65464) },
  { name: `curl 65464 ${BIG_MB} MB uncached`, argv: curl(65464), big: true },
].filter((r) => !rowFilter || rowFilter.some((f) => r.name.includes(f)));
const CONCURRENT_ROW = !rowFilter || rowFilter.includes('concurrent');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function timed(host: NetHost, argv: string[], bytes: number, out?: string): Promise<number | undefined> {
  const t0 = performance.now();
  const r = await host.run(argv, { timeoutMs: 120_000 });
  const s = (performance.now() - t0) / 1000;
  const got = out ? (fs.existsSync(out) ? fs.statSync(out).size : -1) : Number(r.stdout.trim());
  if (out) fs.rmSync(out, { force: true });
  if (r.code !== 0 || got !== bytes) {
    console.error(`  ! ${argv.join(' ')}: exit ${r.code}, ${got} of ${bytes} bytes ${r.stderr.trim().slice(0, 200)}`);
    return undefined;
  }
  return bytes / 1e6 / s;
}

async function concurrent(host: NetHost, addr: string, file: string, bytes: number, n: number): Promise<{ mbps: number; failures: number; seconds: number }> {
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: n }, () => host.run(curl(1468)(addr, file), { timeoutMs: 180_000 })));
  const s = (performance.now() - t0) / 1000;
  const failures = results.filter((r) => r.code !== 0 || Number(r.stdout.trim()) !== bytes).length;
  return { mbps: ((n - failures) * bytes) / 1e6 / s, failures, seconds: s };
}

async function main(): Promise<void> {
  if (!canUseNetns()) { console.error('bench:tftp needs root (network namespaces)'); process.exit(1); }
  for (const bin of ['in.tftpd', 'dnsmasq', 'curl', 'atftp']) {
    try { execFileSync('which', [bin], { stdio: 'ignore' }); } catch { console.error(`missing ${bin}: apt-get install tftpd-hpa dnsmasq curl atftp`); process.exit(1); }
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-bench-tftp-'));
  const root = path.join(work, 'root');
  fs.mkdirSync(root);
  fs.chmodSync(work, 0o755);
  fs.chmodSync(root, 0o755);
  const single = SIZE_MB * 1_000_000;
  const conc = CONC_MB * 1024 * 1024;
  const big = BIG_MB * 1_000_000;
  const makeBig = ROWS.some((r) => r.big) ? ` && head -c ${big} /dev/urandom > ${root}/big.bin` : '';
  execFileSync('sh', ['-c', `head -c ${single} /dev/urandom > ${root}/single.bin && head -c ${conc} /dev/urandom > ${root}/conc.bin${makeBig} && chmod 644 ${root}/*`]);
  const net = await createTestNet({ hosts: { server: { addr: '10.79.0.1/24' }, client: { addr: '10.79.0.2/24' } } });
  const srv = net.hosts.server!;
  const cli = net.hosts.client!;
  try {
    for (const a of ['10.79.0.3/24', '10.79.0.4/24', '10.79.0.5/24', '10.79.0.6/24', '10.79.0.7/24']) execFileSync('ip', ['-n', srv.ns, 'addr', 'add', a, 'dev', 'eth0']);
    const started: Promise<void>[] = [];
    for (const s of SERVERS) {
      if (s.name.startsWith('branchboot')) {
        const cfg = {
          address: s.addr, port: 69, roots: [root], db: path.join(work, `${s.name}.db`), maxTransfers: 500, maxTransfersPerClient: 100,
          ...(s.threads !== undefined && { transferThreads: s.threads }),
        };
        // BENCH_TFTP_NODE_ARGS: extra Node options for branchboot (e.g. --cpu-prof --cpu-prof-dir=DIR).
        const nodeArgs = process.env.BENCH_TFTP_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
        const tree = s.name === 'branchboot-base' ? BASE! : '.';
        const p = srv.spawn(['node', ...nodeArgs, '--import', 'tsx', path.resolve(tree, 'test/integration/tftp/runner.ts'), JSON.stringify(cfg)],
          { stdio: ['ignore', 'pipe', 'inherit'], cwd: path.resolve(tree), ...(s.env && { env: { ...process.env, ...s.env } }) });
        started.push(new Promise((res, rej) => {
          let out = '';
          p.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('ready')) res(); });
          p.on('exit', (c) => rej(new Error(`branchboot runner exited ${c}`)));
        }));
      } else if (s.name === 'tftpd-hpa') {
        srv.spawn(['in.tftpd', '-L', '-s', root, '-a', `${s.addr}:69`, '-u', 'root'], { stdio: 'ignore' });
      } else {
        // dnsmasq: TFTP only (port=0 turns DNS off), its transfer limit raised above the load.
        srv.spawn(['dnsmasq', '--no-daemon', '--port=0', '--enable-tftp', `--tftp-root=${root}`, `--listen-address=${s.addr}`, '--bind-interfaces',
          '--tftp-max=200', '--quiet-tftp', '--user=root', '--pid-file=' + path.join(work, 'dnsmasq.pid'), '--conf-file=/dev/null', '--log-facility=-'], { stdio: 'ignore' });
      }
    }
    await Promise.all(started);
    await new Promise((r) => setTimeout(r, 500));
    console.log(`tftp bench: ${SIZE_MB} MB single file, ${CONC} x ${CONC_MB} MiB concurrent (curl blksize 1468), ${RUNS} runs, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}`);
    const single_: Record<string, Record<string, number[]>> = {};
    const conc_: Record<string, { mbps: number[]; failures: number[] }> = {};
    let seq = 0;
    for (let run = 1; run <= RUNS; run++) {
      for (const row of ROWS) {
        // Rotate the order each run: whoever goes first does not always get the cold cache.
        const order = SERVERS.map((_, i) => SERVERS[(i + run) % SERVERS.length]!);
        for (const s of order) {
          const out = path.join(work, `out-${seq++}`);
          const mbps = await timed(cli, row.argv(s.addr, row.big ? 'big.bin' : 'single.bin', out), row.big ? big : single, row.name.startsWith('atftp') ? out : undefined);
          ((single_[row.name] ??= {})[s.name] ??= []).push(mbps ?? 0);
        }
      }
      for (const s of CONCURRENT_ROW ? SERVERS.map((_, i) => SERVERS[(i + run) % SERVERS.length]!) : []) {
        const c = await concurrent(cli, s.addr, 'conc.bin', conc, CONC);
        const e = (conc_[s.name] ??= { mbps: [], failures: [] });
        e.mbps.push(c.mbps);
        e.failures.push(c.failures);
      }
      process.stderr.write(`  run ${run}/${RUNS} done\n`);
    }
    const names = SERVERS.map((s) => s.name);
    const hpa = 'tftpd-hpa';
    const header = ['row', ...names.map((n) => `${n} MB/s`), ...names.filter((n) => n !== hpa).map((n) => `${n}/hpa`)];
    const lines: string[][] = [];
    for (const row of ROWS) {
      const m = Object.fromEntries(names.map((n) => [n, median(single_[row.name]![n]!)]));
      lines.push([row.name, ...names.map((n) => m[n]!.toFixed(1)), ...names.filter((n) => n !== hpa).map((n) => (m[hpa] ? (m[n]! / m[hpa]!).toFixed(2) + 'x' : '-'))]);
    }
    const cm = Object.fromEntries(names.map((n) => [n, median(conc_[n]?.mbps ?? [])]));
    if (CONCURRENT_ROW) lines.push([`${CONC} x ${CONC_MB} MiB concurrent`, ...names.map((n) => `${cm[n]!.toFixed(1)} (fail ${conc_[n]!.failures.reduce((a, b) => a + b, 0)})`), ...names.filter((n) => n !== hpa).map((n) => (cm[hpa] ? (cm[n]! / cm[hpa]!).toFixed(2) + 'x' : '-'))]);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
    const fmt = (l: string[]) => '| ' + l.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
    console.log(fmt(header));
    console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
    for (const l of lines) console.log(fmt(l));
    if (names.includes('branchboot') && single_['atftp blksize 1468'] && single_['atftp 1468 windowsize 16']) {
      const lock = median(single_['atftp blksize 1468']!.branchboot!);
      const w16 = median(single_['atftp 1468 windowsize 16']!.branchboot!);
      console.log(`branchboot windowsize 16 vs its own lock-step (atftp 1468): ${(w16 / lock).toFixed(2)}x`);
    }
    // The table's ratios are of medians; per-run ratios (same run, same noise) are steadier.
    for (const row of ROWS) {
      for (const n of names.filter((x) => x !== hpa)) {
        const p = paired(single_, row.name, n, hpa);
        if (p) console.log(`paired ${row.name}: ${n}/hpa ${pairedLine(p)}`);
      }
    }
    console.log('raw runs:', JSON.stringify({ single: single_, concurrent: conc_ }));
  } finally {
    await net.destroy();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
