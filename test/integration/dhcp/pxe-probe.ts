// Speaks like a PXE ROM from inside a client namespace that already has an address: broadcasts
// a DISCOVER with the PXE options, collects every OFFER for a while, then asks the proxyDHCP
// server on 4011 for its boot file. Prints JSON. Used next to a real address server.
//   node --import tsx pxe-probe.ts MAC SERVER_FOR_4011
import dgram from 'node:dgram';
import { decodePacket, encodePacket } from '../../../src/dhcp/packet.ts';

const mac = Buffer.from(process.argv[2]!.replace(/:/g, ''), 'hex');
const server = process.argv[3]!;
const chaddr = Buffer.alloc(16); mac.copy(chaddr);
const pxeOpts: Array<[number, Buffer]> = [[93, Buffer.from([0, 0])], [94, Buffer.from([1, 2, 1])], [60, Buffer.from('PXEClient:Arch:00000:UNDI:002001')], [97, Buffer.alloc(17, 1).fill(0, 0, 1)]];
const pkt = (type: number, ciaddr = 0) => encodePacket({ op: 1, htype: 1, hlen: 6, xid: 0x77aa, flags: 0x8000, ciaddr, yiaddr: 0, siaddr: 0, giaddr: 0, chaddr, options: [[53, Buffer.from([type])], ...pxeOpts, [55, Buffer.from([1, 3, 43, 60, 66, 67])]] }, 1000)!;
const view = (b: Buffer) => { const c = Buffer.from(b); c[0] = 1; const d = decodePacket(c); if (!d.ok) return undefined; const o = d.packet.options; const ip = (n: number) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  return { type: o.get(53)?.[0], yiaddr: ip(d.packet.yiaddr), siaddr: ip(d.packet.siaddr), serverId: o.get(54) ? ip(o.get(54)!.readUInt32BE(0)) : undefined, file: o.get(67)?.toString(), vendorClass: o.get(60)?.toString() }; };

const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
await new Promise<void>((r) => sock.bind(68, r));
sock.setBroadcast(true);
// Collect until both kinds of offer are in (ours without an address, the address server's with
// one), resending every 2 s as a ROM does, for at most 10 s: one DISCOVER and a fixed 2 s window
// sometimes missed an offer on a loaded machine.
const offers: NonNullable<ReturnType<typeof view>>[] = [];
const haveBoth = () => offers.some((o) => o.serverId === server) && offers.some((o) => o.serverId !== server && o.yiaddr !== '0.0.0.0');
await new Promise<void>((resolve) => {
  const again = setInterval(() => sock.send(pkt(1), 67, '255.255.255.255'), 2000);
  const end = setTimeout(() => { clearInterval(again); resolve(); }, 10_000);
  sock.on('message', (m) => { const v = view(m); if (v) offers.push(v); if (haveBoth()) { clearInterval(again); clearTimeout(end); resolve(); } });
  sock.send(pkt(1), 67, '255.255.255.255');
});
sock.removeAllListeners('message');
// PXE spec: with an address in hand, ask the proxy's port 4011 for the boot file (resent every 2 s, up to 10 s).
const myIp = process.argv[4]!;
const ci = myIp.split('.').reduce((n, x) => (n << 8) + Number(x), 0) >>> 0;
const ack = await new Promise<unknown>((resolve) => {
  const again = setInterval(() => sock.send(pkt(3, ci), 4011, server), 2000);
  const t = setTimeout(() => { clearInterval(again); resolve(undefined); }, 10_000);
  sock.on('message', (m) => { clearInterval(again); clearTimeout(t); resolve(view(m)); });
  sock.send(pkt(3, ci), 4011, server);
});
process.stdout.write(`${JSON.stringify({ offers, ack })}\n`);
sock.close();
