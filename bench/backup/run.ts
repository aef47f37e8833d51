// `branchboot backup` beside a serve under DHCP load: does the snapshot pause DHCP?
// A serve in a namespace with a database of a working site (5,000 machines, 200,000 boot events,
// 20,000 audit rows, the leases of the load), the relay-style load generator of bench/dhcp
// (BENCH_BACKUP_CLIENTS DORAs, 64 in flight) and a probe doing one DORA every 20 ms (its latency
// timeline shows a pause where it happens). Each round runs the load twice, without and with
// backups back to back (the order alternating); medians over BENCH_BACKUP_ROUNDS rounds.
// Needs root, and `npm run build` (the backup runs from dist/, as an installed branchboot does).
//   flock /tmp/branchboot-bench.lock sh -c 'npm run build && node --import tsx bench/backup/run.ts'
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { canUseNetns } from '../../test/helpers/netns.ts';
import { cliArgv } from '../../test/helpers/cli.ts';
import { makePair, serveIn } from '../../test/integration/backup/harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ROUNDS = Number(process.env.BENCH_BACKUP_ROUNDS ?? 3);
const CLIENTS = Number(process.env.BENCH_BACKUP_CLIENTS ?? 30000);
const QUIET_SECONDS = Number(process.env.BENCH_BACKUP_SECONDS ?? 8);
const DIST_CLI = path.join(ROOT, 'dist', 'cli.js');
if (!canUseNetns()) { console.error('bench/backup needs root and ip netns'); process.exit(1); }
if (!fs.existsSync(DIST_CLI)) { console.error('bench/backup: run `npm run build` first'); process.exit(1); }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => { const s = [...xs].sort((x, y) => x - y); return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN; };
const pct = (xs: number[], p: number) => { const s = [...xs].sort((x, y) => x - y); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : NaN; };

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-bench-backup-'));
const pair = makePair('10.79.0.1/16', '02:bb:0b:ff:ff:fe');
for (const addr of ['10.79.0.2/16', '10.79.0.3/16']) execFileSync('ip', ['-n', pair.client.name, 'addr', 'add', addr, 'dev', 'eth0']);
const cfg = path.join(dir, 'bb.yaml');
fs.writeFileSync(cfg, `dataDir: ${dir}/var\nlog:\n  level: info\nhttp:\n  address: 10.79.0.1\ndhcp:\n  enabled: true\n  interfaces: [eth0]\n`);
const inv = path.join(dir, 'inv.yaml');
const mac = (i: number) => `52:54:02:${[16, 8, 0].map((s) => ((i >> s) & 255).toString(16).padStart(2, '0')).join(':')}`;
fs.writeFileSync(inv, `branches:\n  - name: site\n    subnets:\n      - cidr: 10.79.0.0/16\n        dhcp: authoritative\n        range: 10.79.1.0-10.79.250.255\n        leaseTime: 3600\nmachines:\n${Array.from({ length: 5000 }, (_, i) => `  - mac: ${mac(i)}\n    hostname: pc-${i}\n    branch: site\n`).join('')}`);

async function cli(...args: string[]): Promise<string> {
  const r = await pair.server.run(cliArgv(...args, '--config', cfg), { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

interface Run { mode: 'quiet' | 'backup'; perSecond: number; p50: number; p99: number; probe: number[]; lost: number; backups: { ms: number; readMs: number }[] }

try {
  await cli('apply', inv);
  const db = new Database(path.join(dir, 'var', 'branchboot.db'));
  db.transaction(() => {
    const ev = db.prepare("INSERT INTO boot_events (at, mac, ip, branch_id, stage, detail) VALUES (?, ?, ?, 1, ?, '{\"file\":\"undionly.kpxe\",\"arch\":0}')");
    for (let i = 0; i < 200_000; i++) ev.run(Date.now() - i * 1000, mac(i % 5000), `10.79.${1 + (i % 250)}.${i % 256}`, ['dhcp.discover', 'dhcp.ack', 'tftp.file', 'http.script'][i % 4]);
    const au = db.prepare("INSERT INTO audit_log (at, actor, action, entity, entity_id, after) VALUES (?, 'cli', 'update', 'machine', ?, '{\"image\":\"lab\",\"action\":\"image\"}')");
    for (let i = 0; i < 20_000; i++) au.run(Date.now() - i * 5000, mac(i % 5000));
  })();
  db.close();
  const serve = await serveIn(pair.server, cfg);
  const gen = (clients: number, seed: number, out: string) => pair.client.run([process.execPath, '--import', 'tsx', path.join(ROOT, 'bench/dhcp/loadgen.ts'), '--server', '10.79.0.1', '--local', '10.79.0.2',
    '--clients', String(clients), '--inflight', '64', '--seed', String(seed), '--out', out], { timeoutMs: 600_000 });
  // Leases for the database's size even when the measured runs have no load.
  await gen(Math.max(CLIENTS, 20000), 9, path.join(dir, 'warm.json'));
  const runs: Run[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of (r % 2 ? ['backup', 'quiet'] : ['quiet', 'backup']) as Run['mode'][]) {
      const probeOut = path.join(dir, `probe-${r}-${mode}.txt`);
      const probe = pair.client.spawn([process.execPath, '--import', 'tsx', path.join(ROOT, 'bench/backup/probe.ts'), '--server', '10.79.0.1', '--local', '10.79.0.3', '--out', probeOut]);
      const probeExit = new Promise((res) => probe.once('exit', res));
      await sleep(1500);
      const out = path.join(dir, `load-${r}-${mode}.json`);
      let done = false;
      // BENCH_BACKUP_CLIENTS=0: no load, the probe alone for BENCH_BACKUP_SECONDS: a stall of
      // serve's own (a lock, a checkpoint, the disk) shows without CPU contention hiding it.
      const load = (CLIENTS > 0 ? gen(CLIENTS, 1, out) : sleep(QUIET_SECONDS * 1000).then(() => {
        fs.writeFileSync(out, JSON.stringify({ perSecond: NaN, p50: NaN, p99: NaN }));
        return { code: 0, stdout: '', stderr: '' };
      })).then((x) => { done = true; return x; });
      const windows: [number, number][] = [];
      const backups: Run['backups'] = [];
      if (mode === 'backup') {
        await sleep(500);
        while (!done) {
          const t0 = Date.now();
          const b = await pair.server.run([process.execPath, DIST_CLI, 'backup', '-o', path.join(dir, 'bk.db'), '--json', '--config', cfg], { timeoutMs: 300_000 });
          if (b.code !== 0) throw new Error(`backup: ${b.stderr}`);
          windows.push([t0, Date.now()]);
          backups.push({ ms: Date.now() - t0, readMs: (JSON.parse(b.stdout) as { readMs: number }).readMs });
          await sleep(200);
        }
      }
      const l = await load;
      if (l.code !== 0) throw new Error(`loadgen: ${l.stderr}`);
      process.kill(-probe.pid!, 'SIGTERM');
      await probeExit;
      const s = JSON.parse(fs.readFileSync(out, 'utf8')) as { perSecond: number; p50: number; p99: number };
      const samples = fs.readFileSync(probeOut, 'utf8').trim().split('\n').map((x) => x.split(' ').map(Number) as [number, number]);
      const inWindow = mode === 'quiet' ? samples : samples.filter(([t]) => windows.some(([a, b]) => t >= a && t <= b));
      runs.push({ mode, perSecond: s.perSecond, p50: s.p50, p99: s.p99, probe: inWindow.filter(([, ms]) => ms >= 0).map(([, ms]) => ms), lost: inWindow.filter(([, ms]) => ms < 0).length, backups });
      console.error(JSON.stringify({ round: r, mode, perSecond: s.perSecond, p99: s.p99, probeN: inWindow.length, probeMax: Math.max(...inWindow.map(([, ms]) => ms)), backups: backups.length }));
    }
  }
  await serve.stop();
  const size = fs.statSync(path.join(dir, 'bk.db')).size;
  const row = (mode: Run['mode']) => {
    const rs = runs.filter((x) => x.mode === mode);
    const probe = rs.flatMap((x) => x.probe);
    return { mode, doraPerSec: median(rs.map((x) => x.perSecond)), loadP50: median(rs.map((x) => x.p50)), loadP99: median(rs.map((x) => x.p99)),
      probeN: probe.length, probeLost: rs.reduce((n, x) => n + x.lost, 0), probeP50: +pct(probe, 0.5).toFixed(2), probeP99: +pct(probe, 0.99).toFixed(2), probeMax: +Math.max(...probe).toFixed(2) };
  };
  const q = row('quiet');
  const b = row('backup');
  const all = runs.flatMap((x) => x.backups);
  console.log(JSON.stringify({ clients: CLIENTS, rounds: ROUNDS, backupFileMB: +(size / 1048576).toFixed(1), backups: all.length, backupMsMedian: median(all.map((x) => x.ms)), readMsMedian: median(all.map((x) => x.readMs)), readMsMax: Math.max(...all.map((x) => x.readMs)) }));
  console.log(JSON.stringify(q));
  console.log(JSON.stringify(b));
  console.log(JSON.stringify({ ratioDoraPerSec: +(b.doraPerSec / q.doraPerSec).toFixed(3), ratioProbeP99: +(b.probeP99 / q.probeP99).toFixed(2), load: os.loadavg().map((x) => +x.toFixed(2)) }));
} finally {
  await pair.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
}
