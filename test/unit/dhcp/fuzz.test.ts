// 120,000 random and mutated packets through the real handler, in-process, with a fixed seed:
// nothing may throw, nothing may be logged as an internal error, and a normal client must
// still get its lease afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { buildDhcpHandler } from '../../../src/dhcp/index.ts';
import { decodePacket } from '../../../src/dhcp/packet.ts';
import { clientFacts } from '../../../src/dhcp/client.ts';
import { readParamList, readUserClasses, readRelayInfo, readClientUuid, readSubOptions, readMaxMessageSize } from '../../../src/dhcp/options.ts';
import { clientPacket, ip, ipBuf, makeCtx } from './helpers.ts';
import { fuzzCount, fuzzScale, fuzzSeed, rng } from '../../helpers/rng.ts';


test('fuzz: 120,000 packets, no crash, no internal error, service still answers', { timeout: 120_000 * fuzzScale() }, async () => {
  const t = await makeCtx([
    { cidr: '10.1.0.0/24', mode: 'authoritative', ranges: ['10.1.0.10-10.1.0.60'] },
    { cidr: '10.2.0.0/24', mode: 'proxy' },
  ]);
  let errors = 0;
  const sink = new Writable({ write(chunk: Buffer, _e, cb) { if (/"level":(50|60)/.test(chunk.toString())) errors++; cb(); } });
  t.ctx.log = pino({ level: 'error' }, sink);
  // Durability is tested elsewhere; here an fsync per accepted REQUEST would only slow the storm down.
  t.handle.sqlite.pragma('synchronous = OFF');
  let events = 0;
  t.ctx.events.onBoot(() => { events++; });
  const b = await buildDhcpHandler(t.ctx, {
    localAddresses: () => [{ ifname: 'eth0', address: ip('10.1.0.1'), mask: ip('255.255.255.0') }],
    limits: { perMacPerSecond: 1e9, perMacBurst: 1e9, perRelayPerSecond: 1e9, perRelayBurst: 1e9 },
  });
  const rand = rng(fuzzSeed(0xb00b));
  const byte = () => Math.floor(rand() * 256);
  const seeds = [
    clientPacket({ type: 1, mac: '52:54:00:aa:00:01', options: [[57, [5, 192]], [93, [0, 7]], [60, 'PXEClient:Arch:00007:UNDI:003000'], [77, 'iPXE'], [55, [1, 3, 6, 67]], [97, [0, ...Array(16).fill(7)]]] }),
    clientPacket({ type: 3, mac: '52:54:00:aa:00:02', options: [[54, ipBuf('10.1.0.1')], [50, ipBuf('10.1.0.20')], [82, [1, 2, 9, 9, 2, 1, 5]]] }),
    clientPacket({ type: 3, mac: '52:54:00:aa:00:03', ciaddr: '10.1.0.30' }),
    clientPacket({ type: 1, mac: '52:54:00:aa:00:04', giaddr: '10.2.0.1', options: [[60, 'PXEClient'], [175, [177, 1, 1]]] }),
    clientPacket({ type: 4, mac: '52:54:00:aa:00:05', options: [[50, ipBuf('10.1.0.11')]] }),
    clientPacket({ type: 7, mac: '52:54:00:aa:00:06', ciaddr: '10.1.0.12' }),
    clientPacket({ type: 8, mac: '52:54:00:aa:00:07', ciaddr: '10.1.0.13' }),
  ];
  const N = fuzzCount(120_000);
  let answered = 0;
  for (let i = 0; i < N; i++) {
    let pkt: Buffer;
    const kind = i % 4;
    if (kind === 0) {
      pkt = Buffer.alloc(Math.floor(rand() * 700));
      for (let j = 0; j < pkt.length; j++) pkt[j] = byte();
      if (rand() < 0.5 && pkt.length > 240) { pkt[0] = 1; pkt.writeUInt32BE(0x63825363, 236); }
    } else {
      const base = seeds[Math.floor(rand() * seeds.length)]!;
      pkt = Buffer.from(base);
      const flips = 1 + Math.floor(rand() * 8);
      for (let f = 0; f < flips; f++) {
        const at = rand() < 0.7 ? 240 + Math.floor(rand() * Math.max(1, pkt.length - 240)) : Math.floor(rand() * pkt.length);
        pkt[at] = byte();
      }
      // random MAC so the storm spreads over many clients
      pkt.writeUInt32BE(Math.floor(rand() * 0xffffffff) >>> 0, 30);
      if (kind === 2) pkt = pkt.subarray(0, Math.floor(rand() * pkt.length));
      if (kind === 3) pkt = Buffer.concat([pkt, Buffer.from(Array.from({ length: Math.floor(rand() * 300) }, byte))]);
    }
    const d = decodePacket(pkt);
    if (d.ok) {
      clientFacts(d.packet); readParamList(d.packet.options); readUserClasses(d.packet.options); readRelayInfo(d.packet.options);
      readClientUuid(d.packet.options); readSubOptions(d.packet.options.get(175)); readMaxMessageSize(d.packet.options);
    }
    const from = { address: rand() < 0.5 ? '0.0.0.0' : '10.1.0.77', port: 68 };
    if (await b.handler.handle(pkt, { from, proxyPort: rand() < 0.05 })) answered++;
  }
  await b.committer.flushed();
  assert.equal(errors, 0);
  assert.ok(answered > 0);
  assert.ok(events > 0);
  // A well-behaved client still gets served.
  const ok = await b.handler.handle(clientPacket({ type: 1, mac: '52:54:00:bb:00:01' }), { from: { address: '0.0.0.0', port: 68 } });
  assert.ok(ok !== undefined || b.handler.counters.exhausted > 0);
  b.dispose(); await b.sightings.flush(); await t.close();
});
