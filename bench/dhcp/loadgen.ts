// A DHCP load generator that acts as a relay agent (like perfdhcp -l): every client is a
// distinct MAC, its packets carry giaddr = our address, and the server answers us by unicast
// on port 67. So the clients need no interfaces of their own and any server can be measured.
//   node --import tsx bench/dhcp/loadgen.ts --server 10.77.0.1 --local 10.77.0.2 --clients 1000 --inflight 64
//   --mode renew --in acks.json   (REQUEST with ciaddr for each [mac, ip]: does the server still know it?)
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { openUdp, udpKind } from '../../src/udp/socket.ts';
import { clientOptions, ip, ipStr, parseReply, relayedRequest, u32 } from './wire.ts';
import { threadCpu } from './proc-cpu.ts';

const { values: a } = parseArgs({
  options: {
    server: { type: 'string' }, local: { type: 'string' }, port: { type: 'string', default: '67' },
    clients: { type: 'string', default: '1000' }, inflight: { type: 'string', default: '64' },
    timeout: { type: 'string', default: '1000' }, retries: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' }, mode: { type: 'string', default: 'dora' },
    in: { type: 'string' }, out: { type: 'string' }, deadline: { type: 'string', default: '300000' },
    warmup: { type: 'string', default: '0' },
    // The server's pid (same PID namespace): its CPU is read at the measured window's start and
    // end, so the figures leave the warm-up out (the runner's own reading spans both).
    'watch-pid': { type: 'string' },
  },
});

const server = a.server!;
const local = ip(a.local!);
const packet = (type: number, xid: number, mac: Buffer, opts: Array<[number, Buffer]>, ciaddr = 0) => relayedRequest(local, type, xid, mac, opts, ciaddr);
const timeoutMs = Number(a.timeout);
const retries = Number(a.retries);

// Client i's MAC: by default in counting order, so every index keyed by MAC only ever appends.
// BENCH_DHCP_MACS=random scatters them (i times an odd constant: still one MAC per client), as a
// real boot storm of machines from several vendors and batches does.
const scatter = process.env.BENCH_DHCP_MACS === 'random';
const macOf = (i: number, seed: number) => {
  const n = scatter ? Math.imul(i, 0x9e3779b1) >>> 0 : i;
  return Buffer.from([0x02, seed & 255, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
};
const macText = (m: Buffer) => [...m].map((x) => x.toString(16).padStart(2, '0')).join(':');

type Reply = NonNullable<ReturnType<typeof parseReply>>;
// Keep the generator cheap: it shares the two CPUs with the server it measures, and a server
// that uses more than one thread (V8's compiler and GC threads) loses to it what a one-thread
// server does not. So the product's own native socket (batched receives, one sendmmsg per loop
// turn), one sweep of deadlines instead of a timer per exchange, and no connect: an unconnected
// socket never hears the ICMP "port unreachable" of a server that is down (the kill -9 test
// restarts it under load), which the retries cover. BENCH_DHCP_GEN_UDP=dgram measures with
// Node's dgram instead.
const serverIp = ip(server);
const serverPort = Number(a.port);
const sock = await openUdp({ address: a.local!, port: 67, reuseAddr: true, recvBuffer: 8 << 20, batch: 64, maxPacket: 1500 },
  process.env.BENCH_DHCP_GEN_UDP === 'dgram' ? 'dgram' : udpKind().kind);
const waiting = new Map<number, { deadline: number; done: (r: Reply | undefined) => void }>();
sock.onMessage((m, from) => {
  if (from !== serverIp) return;
  const r = parseReply(m);
  if (r) { const w = waiting.get(r.xid); if (w) { waiting.delete(r.xid); w.done(r); } }
});
const sweep = setInterval(() => {
  const now = performance.now();
  for (const [xid, w] of waiting) if (w.deadline <= now) { waiting.delete(xid); w.done(undefined); }
}, Math.max(10, Math.min(100, timeoutMs / 10)));
let xidCounter = (Number(a.seed) * 7919) << 12;

function exchange(pkt: Buffer, xid: number, want: number[]): Promise<Reply | undefined> {
  return new Promise((resolve) => {
    waiting.set(xid, { deadline: performance.now() + timeoutMs, done: (r) => resolve(r && want.includes(r.type) ? r : undefined) });
    sock.sendLater(serverIp, serverPort, pkt);
  });
}

/** CPU time (µs) of process `pid`'s main thread and of its other threads together. */
function serverCpu(pid: string | undefined): { main: number; others: number } | undefined {
  const threads = threadCpu(pid === undefined ? undefined : Number(pid));
  if (threads.size === 0) return undefined;
  let main = 0; let others = 0;
  for (const [tid, t] of threads) if (tid === Number(pid)) main = t.us; else others += t.us;
  return { main, others };
}

interface Result { mac: string; ip?: string; ms?: number; nak?: boolean }

async function dora(mac: Buffer): Promise<Result> {
  const extra = clientOptions(mac.readUInt32BE(2));
  for (let attempt = 0; attempt <= retries; attempt++) {
    const t0 = performance.now();
    const xid = (xidCounter++) >>> 0;
    const offer = await exchange(packet(1, xid, mac, extra), xid, [2]);
    if (!offer) continue;
    const ack = await exchange(packet(3, xid, mac, [[54, u32(offer.serverId)], [50, u32(offer.yiaddr)], ...extra]), xid, [5, 6]);
    if (!ack) continue;
    if (ack.type === 6) return { mac: macText(mac), nak: true };
    return { mac: macText(mac), ip: ipStr(ack.yiaddr), ms: performance.now() - t0 };
  }
  return { mac: macText(mac) };
}

async function renew(mac: Buffer, addr: number): Promise<Result> {
  for (let attempt = 0; attempt <= retries; attempt++) {
    const t0 = performance.now();
    const xid = (xidCounter++) >>> 0;
    const ack = await exchange(packet(3, xid, mac, [], addr), xid, [5, 6]);
    if (!ack) continue;
    if (ack.type === 6) return { mac: macText(mac), nak: true };
    return { mac: macText(mac), ip: ipStr(ack.yiaddr), ms: performance.now() - t0 };
  }
  return { mac: macText(mac) };
}

const jobs: Array<() => Promise<Result>> = [];
if (a.mode === 'renew') {
  const list = JSON.parse(fs.readFileSync(a.in!, 'utf8')) as Array<[string, string]>;
  for (const [m, i] of list) jobs.push(() => renew(Buffer.from(m.replace(/:/g, ''), 'hex'), ip(i)));
} else {
  for (let i = 0; i < Number(a.clients); i++) jobs.push(() => dora(macOf(i, Number(a.seed))));
}
// Warm-up exchanges (other MACs, not measured): every server gets the same, so a JIT-compiled
// one is measured in its steady state like a native one.
if (Number(a.warmup) > 0) {
  const warm = Array.from({ length: Number(a.warmup) }, (_, i) => () => dora(macOf(i, (Number(a.seed) + 128) & 255)));
  let w = 0;
  await Promise.all(Array.from({ length: Number(a.inflight) }, async () => { while (w < warm.length) await warm[w++]!(); }));
}
const results: Result[] = [];
const watched0 = serverCpu(a['watch-pid']);
const cpuAtStart = process.cpuUsage();
// ACKs are appended to OUT.acks as they arrive (a test that kills the server mid-run reads the
// promises made so far), every 50 ms: an open/write/close per ACK is work on the CPU the
// generator shares with the server under test.
let ackLog = '';
const flushAcks = () => { if (a.out && ackLog) { fs.appendFileSync(`${a.out}.acks`, ackLog); ackLog = ''; } };
const ackTimer = setInterval(flushAcks, 50);
const started = performance.now();
const deadline = Date.now() + Number(a.deadline);
let next = 0;
async function worker() {
  while (next < jobs.length && Date.now() < deadline) {
    const j = jobs[next++]!;
    const r = await j();
    results.push(r);
    if (a.out && r.ip) ackLog += `${r.mac} ${r.ip}\n`;
  }
}
await Promise.all(Array.from({ length: Number(a.inflight) }, worker));
const elapsed = performance.now() - started;
const watched1 = serverCpu(a['watch-pid']);
clearInterval(ackTimer);
flushAcks();
const lat = results.filter((r) => r.ms !== undefined).map((r) => r.ms!).sort((x, y) => x - y);
const pct = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]! : NaN);
const completed = results.filter((r) => r.ip).length;
const genCpu = process.cpuUsage(cpuAtStart);
const summary = {
  clients: jobs.length, completed, naks: results.filter((r) => r.nak).length, lost: jobs.length - completed - results.filter((r) => r.nak).length,
  // The generator's own CPU per completed exchange: it shares the host with the server measured.
  genCpuUs: completed ? Math.round((genCpu.user + genCpu.system) / completed) : 0,
  // The server's CPU per completed exchange inside the window: its main thread and all others.
  ...(watched0 && watched1 && completed > 0 && {
    windowCpuUs: {
      main: Math.round((watched1.main - watched0.main) / completed),
      others: Math.round((watched1.others - watched0.others) / completed),
    },
  }),
  elapsedMs: Math.round(elapsed), perSecond: Math.round((completed / elapsed) * 1000), p50: +pct(0.5).toFixed(2), p99: +pct(0.99).toFixed(2),
  acks: results.filter((r) => r.ip).map((r) => [r.mac, r.ip]),
};
if (a.out) fs.writeFileSync(a.out, JSON.stringify(summary));
else process.stdout.write(`${JSON.stringify({ ...summary, acks: undefined })}\n`);
clearInterval(sweep);
sock.close();
