// One DHCP exchange at a time, every --every ms, as a relay (giaddr = --local), each with a new
// MAC: a line "SENT_EPOCH_MS LATENCY_MS" per exchange (-1 when no ACK within --timeout), so a
// pause of the server shows where it happened. Runs until SIGTERM.
//   node --import tsx bench/backup/probe.ts --server 10.79.0.1 --local 10.79.0.3 --out FILE
import dgram from 'node:dgram';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { ip, parseReply, relayedRequest, u32 } from '../dhcp/wire.ts';

const { values: a } = parseArgs({ options: { server: { type: 'string' }, local: { type: 'string' }, out: { type: 'string' }, every: { type: 'string', default: '20' }, timeout: { type: 'string', default: '2000' } } });
const local = ip(a.local!);
const packet = (type: number, xid: number, mac: Buffer, opts: Array<[number, Buffer]>) => relayedRequest(local, type, xid, mac, opts);

const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
const waiting = new Map<number, (r: ReturnType<typeof parseReply>) => void>();
sock.on('message', (m) => { const r = parseReply(m); if (r) waiting.get(r.xid)?.(r); });
sock.on('error', () => {});
await new Promise<void>((res) => sock.bind({ address: a.local!, port: 67 }, res));
const ask = (pkt: Buffer, xid: number) => new Promise<ReturnType<typeof parseReply>>((resolve) => {
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
  const ack = offer && await ask(packet(3, xid, mac, [[54, u32(offer.serverId)], [50, u32(offer.yiaddr)]]), xid);
  fs.writeSync(out, `${sent} ${ack && ack.type === 5 ? (performance.now() - t0).toFixed(2) : -1}\n`);
  const wait = Number(a.every) - (performance.now() - t0);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
fs.closeSync(out);
sock.close();
