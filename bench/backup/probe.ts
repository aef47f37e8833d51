// One DHCP exchange at a time, every --every ms, as a relay (giaddr = --local), each with a new
// MAC: a line "SENT_EPOCH_MS LATENCY_MS" per exchange (-1 when no ACK within --timeout), so a
// pause of the server shows where it happened. Runs until SIGTERM.
//   node --import tsx bench/backup/probe.ts --server 10.79.0.1 --local 10.79.0.3 --out FILE
import dgram from 'node:dgram';
import fs from 'node:fs';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({ options: { server: { type: 'string' }, local: { type: 'string' }, out: { type: 'string' }, every: { type: 'string', default: '20' }, timeout: { type: 'string', default: '2000' } } });
const ip = (s: string) => s.split('.').reduce((n, x) => (n << 8) + Number(x), 0) >>> 0;
const local = ip(a.local!);

function packet(type: number, xid: number, mac: Buffer, opts: Array<[number, Buffer]>): Buffer {
  const b = Buffer.alloc(300);
  b[0] = 1; b[1] = 1; b[2] = 6; b[3] = 1;
  b.writeUInt32BE(xid, 4);
  b.writeUInt32BE(local, 24);
  mac.copy(b, 28);
  b.writeUInt32BE(0x63825363, 236);
  let at = 240;
  for (const [c, v] of [[53, Buffer.from([type])] as [number, Buffer], ...opts]) { b[at] = c; b[at + 1] = v.length; v.copy(b, at + 2); at += 2 + v.length; }
  b[at] = 255;
  return b;
}
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; };
function reply(b: Buffer): { xid: number; type: number; yiaddr: number; sid: number } | undefined {
  if (b.length < 240 || b[0] !== 2) return undefined;
  let type = 0; let sid = 0;
  for (let i = 240; i + 1 < b.length;) {
    const c = b[i]!;
    if (c === 0) { i++; continue; }
    if (c === 255) break;
    if (c === 53) type = b[i + 2]!;
    if (c === 54) sid = b.readUInt32BE(i + 2);
    i += 2 + b[i + 1]!;
  }
  return { xid: b.readUInt32BE(4), type, yiaddr: b.readUInt32BE(16), sid };
}

const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
const waiting = new Map<number, (r: ReturnType<typeof reply>) => void>();
sock.on('message', (m) => { const r = reply(m); if (r) waiting.get(r.xid)?.(r); });
sock.on('error', () => {});
await new Promise<void>((res) => sock.bind({ address: a.local!, port: 67 }, res));
const ask = (pkt: Buffer, xid: number) => new Promise<ReturnType<typeof reply>>((resolve) => {
  const t = setTimeout(() => { waiting.delete(xid); resolve(undefined); }, Number(a.timeout));
  waiting.set(xid, (r) => { clearTimeout(t); waiting.delete(xid); resolve(r); });
  sock.send(pkt, 67, a.server!);
});

const out = fs.openSync(a.out!, 'w');
let stop = false;
process.on('SIGTERM', () => { stop = true; });
for (let i = 0; !stop; i++) {
  const mac = Buffer.from([0x02, 0xbb, 0x0b, (i >> 16) & 255, (i >> 8) & 255, i & 255]);
  const xid = (0x0b000000 + i) >>> 0;
  const sent = Date.now();
  const t0 = performance.now();
  const offer = await ask(packet(1, xid, mac, []), xid);
  const ack = offer && await ask(packet(3, xid, mac, [[54, u32(offer.sid)], [50, u32(offer.yiaddr)]]), xid);
  fs.writeSync(out, `${sent} ${ack && ack.type === 5 ? (performance.now() - t0).toFixed(2) : -1}\n`);
  const wait = Number(a.every) - (performance.now() - t0);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
fs.closeSync(out);
sock.close();
