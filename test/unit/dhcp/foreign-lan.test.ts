// A lab desktop on a network the appliance is attached to but not configured for (a staff LAN
// on eth1) must get nothing and change nothing, whatever it writes in ciaddr or its source
// address: a packet from there naming an address of a served subnet made the server offer and
// bind leases of that subnet (and unicast the answer into it), from a network it was never
// told to serve.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDhcpHandler } from '../../../src/dhcp/index.ts';
import type { LocalAddress } from '../../../src/dhcp/handler.ts';
import { clientPacket, ip, makeCtx, type ClientPacket, type SubnetSpec } from './helpers.ts';

const LAN: SubnetSpec = { cidr: '10.1.0.0/24', mode: 'authoritative', ranges: ['10.1.0.100-10.1.0.109'], gateway: '10.1.0.1', leaseSeconds: 600 };
const locals: LocalAddress[] = [
  { ifname: 'eth0', address: ip('10.1.0.1'), mask: ip('255.255.255.0') },
  { ifname: 'eth1', address: ip('192.168.50.1'), mask: ip('255.255.255.0') },
  { ifname: 'lo', address: ip('127.0.0.1'), mask: ip('255.0.0.0') },
];

async function rig() {
  const t = await makeCtx([LAN]);
  const b = await buildDhcpHandler(t.ctx, { localAddresses: () => locals, scopeTtlMs: 60_000 });
  /** `local`: the address of ours the datagram reached (IP_PKTINFO), i.e. its interface for a broadcast. */
  const send = (c: ClientPacket, from: string, local: string) =>
    b.handler.handle(clientPacket(c), { from: { address: from, port: 68 }, localAddress: ip(local) });
  return { t, b, send, async close() { await b.close(); await t.close(); } };
}

test('a packet arriving on an unconfigured LAN gets no answer, whatever ciaddr or source it claims', async () => {
  const r = await rig();
  try {
    const mac = '52:54:00:66:00:01';
    // Broadcast from 0.0.0.0 on eth1 claiming an address of the served subnet.
    assert.equal(await r.send({ type: 1, mac, ciaddr: '10.1.0.77' }, '0.0.0.0', '192.168.50.1'), undefined, 'DISCOVER');
    assert.equal(await r.send({ type: 3, mac, ciaddr: '10.1.0.77' }, '0.0.0.0', '192.168.50.1'), undefined, 'REQUEST from 0.0.0.0');
    // From its real staff-LAN address, claiming a served one in ciaddr (broadcast or unicast to us).
    for (const local of ['192.168.50.1', '10.1.0.1']) {
      assert.equal(await r.send({ type: 3, mac, ciaddr: '10.1.0.77' }, '192.168.50.20', local), undefined, `RENEW via ${local}`);
      assert.equal(await r.send({ type: 8, mac, ciaddr: '10.1.0.77' }, '192.168.50.20', local), undefined, `INFORM via ${local}`);
      assert.equal(await r.send({ type: 1, mac }, '192.168.50.20', local), undefined, `DISCOVER via ${local}`);
    }
    // A spoofed source of the served subnet, broadcast on eth1: the interface gives it away.
    assert.equal(await r.send({ type: 3, mac, ciaddr: '10.1.0.77' }, '10.1.0.77', '192.168.50.1'), undefined, 'spoofed source on eth1');
    assert.equal(await r.send({ type: 1, mac }, '10.1.0.77', '192.168.50.1'), undefined, 'spoofed DISCOVER on eth1');
    await r.b.committer.flushed();
    const leases = await r.t.handle.db.selectFrom('leases').select(['ip', 'state']).execute();
    assert.deepEqual(leases, [], 'no lease was offered or bound');
  } finally { await r.close(); }
});

test('the served LAN still works: broadcast DISCOVER, unicast RENEW to our address, RELEASE from 0.0.0.0', async () => {
  const r = await rig();
  try {
    const mac = '52:54:00:66:00:02';
    const offer = await r.send({ type: 1, mac }, '0.0.0.0', '10.1.0.1');
    assert.ok(offer, 'offer on eth0');
    const renew = await r.send({ type: 8, mac, ciaddr: '10.1.0.55' }, '10.1.0.55', '10.1.0.1');
    assert.ok(renew, 'INFORM from an address of the subnet, to our address there');
  } finally { await r.close(); }
});

test('relayed from an unserved LAN: giaddr of our own address, or of an attached served subnet arriving on another link, gets nothing', async () => {
  const r = await rig();
  try {
    const mac = '52:54:00:66:00:03';
    for (const giaddr of ['10.1.0.1', '10.1.0.9']) {
      assert.equal(await r.send({ type: 1, mac, giaddr }, '192.168.50.20', '192.168.50.1'), undefined, `giaddr ${giaddr} via eth1`);
    }
    assert.equal(await r.send({ type: 1, mac, giaddr: '10.1.0.1' }, '10.1.0.9', '10.1.0.1'), undefined, 'giaddr of our own address, on its link');
    // Unicast to our eth0 address from the staff LAN: the address reached says nothing of the link.
    assert.equal(await r.send({ type: 1, mac, giaddr: '10.1.0.9' }, '192.168.50.20', '10.1.0.1'), undefined, 'unicast from eth1\'s LAN to eth0\'s address');
    // A relay on the attached link itself is still served, as is one for an unknown giaddr not (nothing to offer).
    assert.ok(await r.send({ type: 1, mac, giaddr: '10.1.0.9' }, '10.1.0.9', '10.1.0.1'), 'relay on eth0');
    assert.equal(await r.send({ type: 1, mac, giaddr: '10.9.0.1' }, '10.9.0.1', '10.1.0.1'), undefined, 'giaddr of no subnet');
  } finally { await r.close(); }
});
