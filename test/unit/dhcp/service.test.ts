// The service with real sockets on loopback (no root): a relayed DISCOVER/REQUEST gets its
// OFFER/ACK at the relay's address, and the service starts, reports health and stops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { createDhcpService } from '../../../src/dhcp/index.ts';
import { decodePacket } from '../../../src/dhcp/packet.ts';
import { clientPacket, ipBuf, makeCtx } from './helpers.ts';

test('relayed DORA over loopback sockets, lease committed by the writer thread', { timeout: 30_000 }, async () => {
  const t = await makeCtx([{ cidr: '127.0.0.0/8', mode: 'authoritative', ranges: ['127.0.10.1-127.0.10.9'] }], { 'dhcp.address': '127.0.0.1' });
  // Ephemeral ports so tests run side by side (the config schema wants 1-65535; 0 is test-only).
  t.ctx.config.dhcp.port = 0;
  t.ctx.config.dhcp.proxyPort = 0;
  const relay = dgram.createSocket('udp4');
  await new Promise<void>((r) => relay.bind(0, '127.0.0.1', r));
  const svc = createDhcpService(t.ctx, { relayPort: relay.address().port });
  try {
    assert.equal(createDhcpService({ ...t.ctx, config: { ...t.ctx.config, dhcp: { ...t.ctx.config.dhcp, enabled: false } } }).health().state, 'disabled');
    await svc.start();
    assert.equal(svc.health().state, 'running');
    const port = svc.ports().port;
    const ask = (pkt: Buffer) => new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no reply')), 15_000);
      relay.once('message', (m) => { clearTimeout(timer); resolve(m); });
      relay.send(pkt, port, '127.0.0.1');
    });
    const mac = '52:54:00:99:00:01';
    const offer = await ask(clientPacket({ type: 1, mac, giaddr: '127.0.0.1', xid: 7 }));
    assert.equal(offer[0], 2);
    const yi = offer.readUInt32BE(16);
    const yis = `${yi >>> 24}.${(yi >>> 16) & 255}.${(yi >>> 8) & 255}.${yi & 255}`;
    assert.equal(yis, '127.0.10.1');
    const ack = await ask(clientPacket({ type: 3, mac, giaddr: '127.0.0.1', xid: 8, options: [[54, ipBuf('127.0.0.1')], [50, ipBuf(yis)]] }));
    const c = Buffer.from(ack); c[0] = 1;
    const d = decodePacket(c);
    assert.ok(d.ok);
    assert.equal(d.packet.options.get(53)?.[0], 5);
    // ACK only after commit: the row is there the moment the ACK is.
    const row = await t.handle.db.selectFrom('leases').selectAll().where('mac', '=', mac).executeTakeFirst();
    assert.equal(row?.ip, '127.0.10.1');
    assert.equal(row?.state, 'bound');
    await svc.stop(1000);
    const m = await t.handle.db.selectFrom('machines').selectAll().where('mac', '=', mac).executeTakeFirst();
    assert.equal(m?.state, 'discovered', 'unknown MAC recorded by the writer thread');
  } finally {
    await svc.stop(1000);
    relay.close();
    await t.close();
  }
});
