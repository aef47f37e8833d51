// CPU per DORA of the handler alone (no sockets, no load generator): the real handler, lease
// book and SQLite writer of `serve`, driven in-process with 64 exchanges in flight. Shows what
// the packet thread spends per client, apart from the kernel and the noise of a shared host.
//   node --import tsx bench/dhcp/cpu.ts [clients] [full|normal]     (add --cpu-prof to see where)
//   BENCH_SQL='DROP INDEX …' runs SQL on the fresh database first (A/B of a schema change).
//   BENCH_DHCP_CLIENTS=pxe: PXE ROM clients (wire.ts); BENCH_DHCP_WARMUP=N exchanges before measuring (2000).
//   BENCH_DHCP_REGISTERED=1: every client is a registered machine of the branch (a lab's storm),
//   not a new one (the planner then reads each machine's row).
import fs from 'node:fs';
import { buildDhcpHandler } from '../../src/dhcp/index.ts';
import { clientPacket, ip, ipBuf, makeCtx } from '../../test/unit/dhcp/helpers.ts';
import { clientOptions } from './wire.ts';
import { statCpuUs } from './proc-cpu.ts';
import { attachReader } from '../../src/model/read-conn.ts';

const N = Number(process.argv[2] ?? 20000);
const sync = process.argv[3] === 'full' ? 'FULL' : 'NORMAL';
const locals = [{ ifname: 'eth0', address: ip('10.77.0.1'), mask: ip('255.255.0.0') }];
const t = await makeCtx([{ cidr: '10.77.0.0/16', mode: 'authoritative', ranges: ['10.77.1.0-10.77.255.250'] }]);
if (process.env.BENCH_SQL) t.handle.sqlite.exec(process.env.BENCH_SQL);
const warmup = Number(process.env.BENCH_DHCP_WARMUP ?? 2000);
// BENCH_DHCP_MACS=random scatters the MACs (as loadgen.ts does): indexes keyed by MAC then insert at random places, not at their end.
const scatter = process.env.BENCH_DHCP_MACS === 'random';
const mac = (i: number) => { const n = scatter ? Math.imul(i, 0x9e3779b1) >>> 0 : i; return `02:01:${[(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((x) => x.toString(16).padStart(2, '0')).join(':')}`; };
if (process.env.BENCH_DHCP_REGISTERED === '1') {
  const insert = t.handle.sqlite.prepare("INSERT INTO machines (mac, branch_id, state, created_at, updated_at) VALUES (?, ?, 'registered', ?, ?)");
  const branchId = t.branchIds.get('main')!;
  const now = Date.now();
  t.handle.sqlite.transaction(() => {
    for (const i of [...Array.from({ length: warmup }, (_, k) => 1_000_000 + k), ...Array.from({ length: N }, (_, k) => k)]) insert.run(mac(i), branchId, now, now);
  })();
}
const b = await buildDhcpHandler(t.ctx, {
  writerThread: true, leaseSynchronous: sync, bootEvents: process.env.NO_EVENTS !== '1',
  localAddresses: () => locals,
  // One relay sends everything here: the default per-relay limit would stop a long run.
  limits: { perMacPerSecond: 10, perMacBurst: 20, perRelayPerSecond: 1e9, perRelayBurst: 1e9 },
});
// As the DHCP service does at start: the planner's lookups for PXE clients use its statements.
const releaseReader = attachReader(t.ctx.db, t.ctx.config.database);
const from = { address: '10.77.0.2', port: 67 };
async function dora(i: number): Promise<void> {
  const extra = clientOptions(i);
  const o = await b.handler.handle(clientPacket({ type: 1, mac: mac(i), xid: i, giaddr: '10.77.0.2', options: extra }), { from });
  if (!o) throw new Error('no offer');
  const yi = o.buf.readUInt32BE(16);
  const a = await b.handler.handle(clientPacket({ type: 3, mac: mac(i), xid: i, giaddr: '10.77.0.2', options: [[54, ipBuf('10.77.0.1')], [50, Buffer.from([yi >>> 24, (yi >>> 16) & 255, (yi >>> 8) & 255, yi & 255])], ...extra] }), { from });
  if (!a) throw new Error('no ack');
}
async function run(from: number, n: number): Promise<void> {
  let next = from;
  await Promise.all(Array.from({ length: 64 }, async () => { while (next < from + n) await dora(next++); }));
}
/** The packet thread's CPU time (µs) alone, without the checkpointer and V8's helpers. */
const mainThreadUs = () => statCpuUs(`/proc/self/task/${process.pid}/stat`);
await run(1_000_000, warmup);
const main0 = mainThreadUs();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await run(0, N);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const mainUs = mainThreadUs() - main0;
// The checkpointer keeps the WAL from growing without bound while the packet thread writes.
const walMB = Math.round(fs.statSync(`${t.handle.file}-wal`).size / 1e5) / 10;
console.log(JSON.stringify({ walMB, sync, clients: N, perSecond: Math.round(N / ms * 1000), cpuUsPerDora: Math.round((cpu.user + cpu.system) / N), mainUsPerDora: Math.round(mainUs / N), leaseRowsPerCommit: Math.round(b.committer.rows / b.committer.batches * 10) / 10, userUs: Math.round(cpu.user / N), sysUs: Math.round(cpu.system / N), eventRows: b.events.taken, acksJoined: b.events.joined }));
await b.close();
releaseReader();
await t.close();
