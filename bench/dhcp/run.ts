// npm run bench:dhcp — branchboot, Kea (kea-dhcp4, memfile with persist) and dnsmasq (lease
// file, no ping) side by side in one run, in throwaway namespaces, each measured by the same
// relay-style load generator (loadgen.ts): 1,000 and 10,000 distinct clients, 64 in flight.
// Prints DORA/s, lost, p50/p99 and branchboot's ratio to Kea. Needs root (namespaces).
// BENCH_DHCP_MACS=random: clients' MACs scattered, not counted up (every MAC-keyed index then
// inserts at random places, as in a real boot storm); BENCH_DHCP_THREADS=1: CPU per DORA of
// each server thread; BENCH_DHCP_CLIENTS=pxe: every client is a BIOS PXE ROM (options 60, 93,
// 94, 97), so each server decides a boot file per packet (Kea by a client class);
// BENCH_DHCP_REGISTERED=1: branchboot's clients are registered machines (a lab's storm);
// BENCH_DHCP_GEN_UDP=dgram: the generator on Node's dgram instead of the native socket.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTestNet, canUseNetns, type NetHost } from '../../test/helpers/netns.ts';
import { startServer, type RunningServer } from '../../test/integration/dhcp/harness.ts';
import { SCOPE_TTL_MS } from '../../src/dhcp/index.ts';
import { statCpuUs, threadCpu } from './proc-cpu.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SIZES = (process.env.BENCH_DHCP_SIZES ?? '1000,10000').split(',').map(Number);
const INFLIGHT = Number(process.env.BENCH_DHCP_INFLIGHT ?? 64);
const ROUNDS = Number(process.env.BENCH_DHCP_ROUNDS ?? 3);
const WARMUP = Number(process.env.BENCH_DHCP_WARMUP ?? 2000);

interface Summary { clients: number; completed: number; lost: number; naks: number; perSecond: number; p50: number; p99: number; elapsedMs: number; genCpuUs: number; serverCpuUs?: number; serverMainCpuUs?: number; leaseRowsPerCommit?: number | undefined; threadCpuUs?: Record<string, number>; windowCpuUs?: { main: number; others: number } }

if (!canUseNetns()) { console.error('bench:dhcp needs root and ip netns'); process.exit(1); }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const net = await createTestNet({ hosts: { server: { addr: '10.77.0.1/16' }, gen: { addr: '10.77.0.2/16' } } });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-bench-dhcp-'));

/** Runs the generator against the server `pid`; also reports the server's CPU per exchange with the warm-up (all threads, the main one) and, through the generator, inside the measured window alone. */
async function load(gen: NetHost, clients: number, seed: number, pid?: number): Promise<Summary> {
  const all0 = statCpuUs(`/proc/${pid}/stat`);
  const main0 = statCpuUs(`/proc/${pid}/task/${pid}/stat`);
  const threads0 = threadCpu(pid);
  const s = await loadOnly(gen, clients, seed, pid);
  if (process.env.BENCH_DHCP_THREADS === '1') {
    const by = new Map<string, number>();
    for (const [tid, t] of threadCpu(pid)) {
      const key = tid === pid ? 'main' : `${t.name}/${tid - (pid ?? 0)}`;
      by.set(key, (by.get(key) ?? 0) + t.us - (threads0.get(tid)?.us ?? 0));
    }
    s.threadCpuUs = Object.fromEntries([...by].map(([k, us]) => [k, Math.round(us / (s.completed + WARMUP))]));
  }
  s.serverCpuUs = Math.round((statCpuUs(`/proc/${pid}/stat`) - all0) / (s.completed + WARMUP));
  s.serverMainCpuUs = Math.round((statCpuUs(`/proc/${pid}/task/${pid}/stat`) - main0) / (s.completed + WARMUP));
  return s;
}

async function loadOnly(gen: NetHost, clients: number, seed: number, pid?: number): Promise<Summary> {
  const out = path.join(tmp, `out-${seed}-${clients}.json`);
  const r = await gen.run([process.execPath, ...(process.env.BENCH_DHCP_GEN_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', path.join(ROOT, 'bench/dhcp/loadgen.ts'), '--server', '10.77.0.1', '--local', '10.77.0.2',
    '--clients', String(clients), '--inflight', String(INFLIGHT), '--seed', String(seed), '--warmup', String(WARMUP), '--out', out, ...(pid !== undefined ? ['--watch-pid', String(pid)] : [])], { timeoutMs: 600_000, cwd: ROOT });
  if (r.code !== 0) throw new Error(`loadgen failed: ${r.stderr}`);
  return JSON.parse(fs.readFileSync(out, 'utf8')) as Summary;
}

type Runner = (clients: number, seed: number) => Promise<Summary>;

/**
 * BENCH_DHCP_REGISTERED=1: the round's clients (and its warm-up's) are registered machines of the
 * branch before the server starts, as a lab's are; the planner then reads each one's row. The
 * MACs are loadgen.ts's (macOf), made by SQL so no list crosses the environment.
 */
function registeredSql(clients: number, seed: number): string {
  const macs = (n: number, s: number) => `WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < ${n - 1}),
    m(s, n) AS (SELECT ${s & 255}, ${process.env.BENCH_DHCP_MACS === 'random' ? '(i * 2654435761) & 4294967295' : 'i'} FROM k)
    INSERT INTO machines (mac, branch_id, state, created_at, updated_at)
    SELECT printf('02:%02x:%02x:%02x:%02x:%02x', s, (n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255), (SELECT min(id) FROM branches), 'registered', 0, 0 FROM m;`;
  return `${macs(clients, seed)}\n${WARMUP > 0 ? macs(WARMUP, seed + 128) : ''}`;
}

const branchbootWith = (env: Record<string, string>): Runner => async (clients, seed) => {
  const registered: Record<string, string> = process.env.BENCH_DHCP_REGISTERED === '1' ? { DHCP_BENCH_SQL: registeredSql(clients, seed) } : {};
  // The runner re-reads the subnets every second for the tests; measured is serve, which does every SCOPE_TTL_MS.
  const s = await startServer(net.hosts.server!, [{ cidr: '10.77.0.0/16', mode: 'authoritative', ranges: ['10.77.1.0-10.77.255.250'], leaseSeconds: 3600 }], { DHCP_SCOPE_TTL_MS: String(SCOPE_TTL_MS), ...registered, ...env });
  try {
    const r = await load(net.hosts.gen!, clients, seed, s.proc.pid);
    r.leaseRowsPerCommit = await rowsPerCommit(s);
    return r;
  } finally { await s.stop(); }
};

/** Lease rows per commit (the runner prints its counters on SIGUSR2): how well the group commit batches. */
async function rowsPerCommit(s: RunningServer): Promise<number | undefined> {
  s.proc.kill('SIGUSR2');
  await sleep(300);
  const line = s.stderr().split('\n').reverse().find((l) => l.includes('"health"'));
  const d = line ? (JSON.parse(line) as { health: { detail?: { commits?: number; leaseRows?: number } } }).health.detail : undefined;
  return d?.commits ? Math.round((d.leaseRows ?? 0) / d.commits * 10) / 10 : undefined;
}
const branchboot = branchbootWith({});
// The same server with boot-event writes switched off: how much of its time the event log takes.
const branchbootNoEvents = branchbootWith({ DHCP_NO_EVENTS: '1' });
// The default (dhcp.leaseSync normal) writes each lease to the OS before its ACK: safe against
// kill -9, like Kea's memfile. leaseSync full also fsyncs before the ACK (safe against power loss).
const branchbootSyncFull = branchbootWith({ DHCP_LEASE_SYNC: 'FULL' });
// leaseSync normal with the writes on a writer thread (a thread hop per lease batch) instead of the packet thread.
const branchbootWorkerNormal = branchbootWith({ DHCP_WRITER: 'worker' });
// Node's dgram sockets instead of the native ones (src/udp): what the socket layer costs.
const branchbootDgram = branchbootWith({ BRANCHBOOT_UDP: 'dgram' });

const kea: Runner = async (clients, seed) => {
  const dir = fs.mkdtempSync(path.join(tmp, 'kea-'));
  const conf = path.join(dir, 'kea.json');
  fs.writeFileSync(conf, JSON.stringify({
    Dhcp4: {
      'interfaces-config': { interfaces: ['eth0'], 'dhcp-socket-type': 'udp' },
      'lease-database': { type: 'memfile', persist: true, name: path.join(dir, 'leases4.csv'), 'lfc-interval': 0 },
      'valid-lifetime': 3600,
      subnet4: [{ id: 1, subnet: '10.77.0.0/16', pools: [{ pool: '10.77.1.0 - 10.77.255.250' }] }],
      // With BENCH_DHCP_CLIENTS=pxe the clients are BIOS PXE ROMs: Kea names their boot file by
      // a client class on option 93, as a Kea set up for network boot does.
      ...(process.env.BENCH_DHCP_CLIENTS === 'pxe' && {
        'client-classes': [{ name: 'pxe-bios', test: 'option[93].hex == 0x0000', 'next-server': '10.77.0.1', 'boot-file-name': 'undionly.kpxe' }],
      }),
      loggers: [{ name: 'kea-dhcp4', severity: 'WARN', output_options: [{ output: 'stderr' }] }],
    },
  }));
  const p = net.hosts.server!.spawn(['kea-dhcp4', '-c', conf], { env: { ...process.env, KEA_PIDFILE_DIR: dir, KEA_LOCKFILE_DIR: dir, KEA_LOGGER_DESTINATION: path.join(dir, 'log') }, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let err = ''; p.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  await sleep(1500);
  if (p.exitCode !== null) throw new Error(`kea exited: ${err}`);
  try { return await load(net.hosts.gen!, clients, seed, p.pid); } finally { p.kill('SIGTERM'); await sleep(300); p.kill('SIGKILL'); }
};

const dnsmasq: Runner = async (clients, seed) => {
  const dir = fs.mkdtempSync(path.join(tmp, 'dnsmasq-'));
  const p = net.hosts.server!.spawn(['dnsmasq', '-k', '--conf-file=/dev/null', '--port=0', '--no-ping', '--log-facility=-', '--interface=eth0',
    '--dhcp-range=10.77.1.0,10.77.255.250,255.255.0.0,1h', '--dhcp-lease-max=50000', `--dhcp-leasefile=${path.join(dir, 'leases')}`, `--pid-file=${path.join(dir, 'pid')}`,
    '--user=root'], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let err = ''; p.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  await sleep(1000);
  if (p.exitCode !== null) throw new Error(`dnsmasq exited: ${err}`);
  try { return await load(net.hosts.gen!, clients, seed, p.pid); } finally { p.kill('SIGTERM'); await sleep(300); p.kill('SIGKILL'); }
};

// Migration 0005 dropped leases(mac): the same server with it put back.
const branchbootLeasesMac = branchbootWith({ DHCP_BENCH_SQL: 'CREATE INDEX leases_mac ON leases(mac)' });

const servers: Array<[string, Runner]> = [['branchboot', branchboot], ['branchboot-leases-mac', branchbootLeasesMac], ['branchboot-no-events', branchbootNoEvents], ['branchboot-sync-full', branchbootSyncFull], ['branchboot-worker', branchbootWorkerNormal], ['branchboot-dgram', branchbootDgram], ['kea', kea], ['dnsmasq', dnsmasq]];
const only = process.env.BENCH_DHCP_SERVERS?.split(',');
const results: Array<{ server: string; clients: number; s: Summary }> = [];
const median = (xs: Summary[]) => [...xs].sort((x, y) => x.perSecond - y.perSecond)[Math.floor(xs.length / 2)]!;
try {
  let seed = 1;
  const collected = new Map<string, Summary[]>();
  // Rounds alternate between the servers so that noise from other work on the host hits all of them alike.
  for (const n of SIZES) {
    for (let i = 0; i < ROUNDS; i++) {
      for (const [name, run] of servers) {
        if (only && !only.includes(name)) continue;
        // dnsmasq rewrites its whole lease file per change: one round is minutes at 10,000 clients.
        if (name === 'dnsmasq' && i > 0) continue;
        const s = await run(n, seed++);
        console.error(`${name} ${n} round ${i + 1}: ${s.perSecond} DORA/s lost ${s.lost} p50 ${s.p50} ms p99 ${s.p99} ms (CPU per DORA: ${s.windowCpuUs ? `in the window server main thread ${s.windowCpuUs.main} µs, its other threads ${s.windowCpuUs.others} µs; ` : ''}with the warm-up server ${s.serverCpuUs} µs, its main thread ${s.serverMainCpuUs} µs; generator ${s.genCpuUs} µs${s.leaseRowsPerCommit !== undefined ? `; lease rows per commit ${s.leaseRowsPerCommit}` : ''})${s.threadCpuUs ? ` threads ${JSON.stringify(s.threadCpuUs)}` : ''}`);
        collected.set(`${name}/${n}`, [...(collected.get(`${name}/${n}`) ?? []), s]);
      }
    }
    for (const [name] of servers) {
      const rs = collected.get(`${name}/${n}`);
      if (rs) results.push({ server: name, clients: n, s: median(rs) });
    }
  }
} finally {
  await net.destroy();
  fs.rmSync(tmp, { recursive: true, force: true });
}
const rows = ['| server | clients | in flight | DORA/s (median) | lost | p50 ms | p99 ms | vs Kea |', '|---|---|---|---|---|---|---|---|'];
for (const r of results) {
  const k = results.find((x) => x.server === 'kea' && x.clients === r.clients);
  rows.push(`| ${r.server} | ${r.clients} | ${INFLIGHT} | ${r.s.perSecond} | ${r.s.lost} | ${r.s.p50} | ${r.s.p99} | ${k ? (r.s.perSecond / k.s.perSecond).toFixed(2) + '×' : '-'} |`);
}
console.log(rows.join('\n'));
