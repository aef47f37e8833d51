// The inventory changing under clients that hold leases: a branch pruned (its subnets go with
// it and their lease rows lose their subnet, in another process, seconds before our snapshot notices) and
// re-added. The real handler on a real SQLite file, no sockets.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ipv4ToString } from '../../../src/util/net.ts';
import { buildDhcpHandler } from '../../../src/dhcp/index.ts';
import { readU8 } from '../../../src/dhcp/options.ts';
import type { LocalAddress } from '../../../src/dhcp/handler.ts';
import { addMachine, clientPacket, ip, ipBuf, makeCtx, type SubnetSpec, type TestCtx } from './helpers.ts';
import { handlerRig, type Rig } from './rig.ts';

const A: SubnetSpec = { cidr: '10.1.0.0/24', mode: 'authoritative', ranges: ['10.1.0.100-10.1.0.109'], leaseSeconds: 600, branch: 'a' };
const B: SubnetSpec = { cidr: '10.2.0.0/24', mode: 'authoritative', ranges: ['10.2.0.100-10.2.0.109'], leaseSeconds: 600, branch: 'b' };
const locals: LocalAddress[] = [{ ifname: 'eth0', address: ip('10.9.0.1'), mask: ip('255.255.255.0') }];
const SRV = ipBuf('10.9.0.1');

const rig = (writerThread = false): Promise<Rig> => handlerRig([A, B], { locals, writerThread });

const ipText = ipv4ToString;

/** DORA through a relay on `relay`; returns the ACKed address. */
async function dora(r: Rig, mac: string, relay: string): Promise<string> {
  const offer = await r.send({ type: 1, mac, giaddr: relay });
  assert.ok(offer, `offer for ${mac}`);
  const ack = await r.send({ type: 3, mac, giaddr: relay, options: [[54, SRV], [50, ipBuf(ipText(offer.yiaddr))]] });
  assert.equal(ack && readU8(ack.options, 53), 5, `ACK for ${mac}`);
  return ipText(ack!.yiaddr);
}

async function pruneBranch(t: TestCtx, name: string): Promise<void> {
  await t.handle.db.deleteFrom('branches').where('name', '=', name).execute();
}

describe('dhcp: a branch pruned and re-added while clients hold leases', () => {
  for (const writerThread of [false, true]) test(`a REQUEST for the pruned subnet in the same commit as one for a live subnet: the live client still gets its ACK (${writerThread ? 'own connection, prepared statements' : 'shared connection'})`, async () => {
    const r = await rig(writerThread);
    try {
      const heldA = await dora(r, '52:54:00:0a:00:01', '10.1.0.1');
      const heldB = await dora(r, '52:54:00:0b:00:01', '10.2.0.1');
      // apply --prune in another process: rows gone, our snapshot not yet refreshed.
      await pruneBranch(r.t, 'a');
      const [renewA, renewB] = await Promise.all([
        r.send({ type: 3, mac: '52:54:00:0a:00:01', giaddr: '10.1.0.1', options: [[50, ipBuf(heldA)]] }),
        r.send({ type: 3, mac: '52:54:00:0b:00:01', giaddr: '10.2.0.1', options: [[50, ipBuf(heldB)]] }),
      ]);
      // No row backs an ACK for the pruned subnet (a restart would not know that lease): silence.
      assert.equal(renewA, undefined, 'an ACK for a subnet whose row is gone');
      assert.equal(renewB && readU8(renewB.options, 53), 5, 'the client of the live branch got no ACK');
      const row = await r.t.handle.db.selectFrom('leases').select(['ip', 'state']).where('mac', '=', '52:54:00:0b:00:01').executeTakeFirst();
      assert.deepEqual(row, { ip: heldB, state: 'bound' });
    } finally { await r.close(); }
  });

  test('re-added under a new subnet id: an address still held is not offered to another MAC, and its holder renews it', async () => {
    const r = await rig();
    try {
      const held = await dora(r, '52:54:00:0a:00:02', '10.1.0.1');
      await pruneBranch(r.t, 'a');
      r.t.ctx.events.emit('inventory', {});
      assert.equal(await r.send({ type: 1, mac: '52:54:00:0a:00:03', giaddr: '10.1.0.1' }), undefined, 'a pruned subnet is not served');
      // Re-added: a new branch row and a new subnet id (the pruned one was not the highest).
      const now = Date.now();
      const bid = (await r.t.handle.db.insertInto('branches').values({ name: 'a', created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow()).id;
      const sid = (await r.t.handle.db.insertInto('subnets').values({
        branch_id: bid, cidr: A.cidr, dhcp_mode: 'authoritative', ranges: JSON.stringify(A.ranges), lease_seconds: 600, created_at: now, updated_at: now,
      }).returning('id').executeTakeFirstOrThrow()).id;
      assert.notEqual(sid, r.t.subnetIds.get(A.cidr));
      r.t.ctx.events.emit('inventory', {});
      const other = await dora(r, '52:54:00:0a:00:03', '10.1.0.1');
      assert.notEqual(other, held, 'an address still held went to a second MAC');
      const renew = await r.send({ type: 3, mac: '52:54:00:0a:00:02', giaddr: '10.1.0.1', options: [[50, ipBuf(held)]] });
      assert.equal(renew && readU8(renew.options, 53), 5);
      assert.equal(ipText(renew!.yiaddr), held);
      await r.b.committer.flushed();
      // The carried-over lease is durable under the new id (a restart must not forget it).
      const row = await r.t.handle.db.selectFrom('leases').select(['subnet_id', 'state']).where('mac', '=', '52:54:00:0a:00:02').executeTakeFirst();
      assert.deepEqual(row, { subnet_id: sid, state: 'bound' });
    } finally { await r.close(); }
  });
});

describe('dhcp: a branch pruned and re-added within one snapshot', () => {
  test('the subnet comes back under its old id (SQLite reuses the highest): its leases are written back, the address not offered to another MAC', async () => {
    const r = await rig();
    try {
      const held = await dora(r, '52:54:00:0b:00:02', '10.2.0.1');
      const oldId = r.t.subnetIds.get(B.cidr)!;
      await pruneBranch(r.t, 'b');
      const now = Date.now() + 1;
      const bid = (await r.t.handle.db.insertInto('branches').values({ name: 'b', created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow()).id;
      const sid = (await r.t.handle.db.insertInto('subnets').values({
        branch_id: bid, cidr: B.cidr, dhcp_mode: 'authoritative', ranges: JSON.stringify(B.ranges), lease_seconds: 600, created_at: now, updated_at: now,
      }).returning('id').executeTakeFirstOrThrow()).id;
      assert.equal(sid, oldId);
      r.t.ctx.events.emit('inventory', {});
      assert.notEqual(await dora(r, '52:54:00:0b:00:03', '10.2.0.1'), held);
      await r.b.committer.flushed();
      const row = await r.t.handle.db.selectFrom('leases').select(['ip', 'state']).where('mac', '=', '52:54:00:0b:00:02').executeTakeFirst();
      assert.deepEqual(row, { ip: held, state: 'bound' }, 'the lease row is gone: a restart would hand the address out again');
    } finally { await r.close(); }
  });
});

describe('dhcp: a reservation added for an address another MAC holds dynamically', () => {
  test('the reserved machine gets a pool address meanwhile (not silence); the holder is NAKed at renew; then the reservation wins', async () => {
    const r = await rig();
    try {
      const holder = '52:54:00:0a:01:01';
      const owner = '52:54:00:0a:01:02';
      const held = await dora(r, holder, '10.1.0.1');
      await addMachine(r.t, owner, held, 'a');
      r.t.ctx.events.emit('inventory', {});
      // Before: silence until the holder's lease ended (T1 = half a lease, up to days for a PXE box that must boot now).
      const meanwhile = await dora(r, owner, '10.1.0.1');
      assert.notEqual(meanwhile, held);
      const nak = await r.send({ type: 3, mac: holder, ciaddr: held, giaddr: '10.1.0.1' });
      assert.equal(nak && readU8(nak.options, 53), 6, 'the holder of a now-reserved address is NAKed');
      // The NAK ended the holder's lease: the owner's renew of its stand-in address is NAKed, and it gets its own.
      const nak2 = await r.send({ type: 3, mac: owner, ciaddr: meanwhile, giaddr: '10.1.0.1' });
      assert.equal(nak2 && readU8(nak2.options, 53), 6);
      assert.equal(await dora(r, owner, '10.1.0.1'), held);
      const moved = await dora(r, holder, '10.1.0.1');
      assert.notEqual(moved, held);
    } finally { await r.close(); }
  });
});

describe('dhcp: a pool moved while a client holds a lease in the old range', () => {
  test('the client that moves to the new range frees its old address (it stayed bound to it until its lease ran out)', async () => {
    const r = await rig();
    try {
      const mac = '52:54:00:0a:02:01';
      const old = await dora(r, mac, '10.1.0.1');
      await r.t.handle.db.updateTable('subnets').set({ ranges: '["10.1.0.200-10.1.0.209"]' }).where('cidr', '=', A.cidr).execute();
      r.t.ctx.events.emit('inventory', {});
      // A client restarted in INIT (udhcpc does): DISCOVER asking for its old address, no NAK first.
      const offer = await r.send({ type: 1, mac, giaddr: '10.1.0.1', options: [[50, ipBuf(old)]] });
      assert.equal(offer && ipText(offer.yiaddr), '10.1.0.200', 'never an address outside every range');
      const ack = await r.send({ type: 3, mac, giaddr: '10.1.0.1', options: [[54, SRV], [50, ipBuf('10.1.0.200')]] });
      assert.equal(ack && readU8(ack.options, 53), 5);
      await r.b.committer.flushed();
      const rows = await r.t.handle.db.selectFrom('leases').select(['ip', 'state']).where('mac', '=', mac).orderBy('ip').execute();
      assert.deepEqual(rows, [{ ip: old, state: 'released' }, { ip: '10.1.0.200', state: 'bound' }]);
      // RENEW, REBIND and INIT-REBOOT of the old address: NAK.
      for (const c of [{ ciaddr: old }, { ciaddr: old, flags: 0x8000 }, { options: [[50, ipBuf(old)]] as Array<[number, Buffer]> }]) {
        const n = await r.send({ type: 3, mac, giaddr: '10.1.0.1', ...c });
        assert.equal(n && readU8(n.options, 53), 6);
      }
    } finally { await r.close(); }
  });
});

describe('dhcp: a machine removed from the inventory (apply --prune) while it keeps booting', () => {
  test('it becomes a discovered machine again at its next packet after the subnets are re-read (nothing in the process announces an apply)', async () => {
    const t = await makeCtx([A]);
    const b = await buildDhcpHandler(t.ctx, { localAddresses: () => locals, scopeTtlMs: 50 });
    try {
      const mac = '52:54:00:0a:03:01';
      const discover = () => b.handler.handle(clientPacket({ type: 1, mac, giaddr: '10.1.0.1' }), { from: { address: '10.1.0.1', port: 67 } });
      assert.ok(await discover());
      await b.sightings.flush();
      assert.equal((await t.handle.db.selectFrom('machines').select('state').where('mac', '=', mac).executeTakeFirst())?.state, 'discovered');
      await t.handle.db.deleteFrom('machines').where('mac', '=', mac).execute();
      await new Promise((res) => setTimeout(res, 100));
      assert.ok(await discover());
      await new Promise((res) => setTimeout(res, 50));
      assert.ok(await discover());
      await b.sightings.flush();
      assert.ok(await t.handle.db.selectFrom('machines').select('state').where('mac', '=', mac).executeTakeFirst(), 'the MAC stayed "known" after its machine was deleted');
    } finally { await b.close(); await t.close(); }
  });
});

describe('dhcp: a subnet switched authoritative → proxy → off → authoritative under a lease', () => {
  test('proxy: the renew is left to the other server, a PXE DISCOVER gets boot information only; off: silence; back: the same address', async () => {
    const r = await rig();
    try {
      const mac = '52:54:00:0a:04:01';
      const held = await dora(r, mac, '10.1.0.1');
      const renew = () => r.send({ type: 3, mac, ciaddr: held, giaddr: '10.1.0.1' });
      const mode = async (m: 'proxy' | 'off' | 'authoritative') => {
        await r.t.handle.db.updateTable('subnets').set({ dhcp_mode: m }).where('cidr', '=', A.cidr).execute();
        r.t.ctx.events.emit('inventory', {});
      };
      await mode('proxy');
      assert.equal(await renew(), undefined);
      const pxe = await r.send({ type: 1, mac: '52:54:00:0a:04:02', giaddr: '10.1.0.1', options: [[60, 'PXEClient:Arch:00000:UNDI:002001'], [93, [0, 0]]] });
      assert.equal(pxe?.yiaddr, 0);
      await mode('off');
      assert.equal(await renew(), undefined);
      assert.equal(await r.send({ type: 1, mac: '52:54:00:0a:04:03', giaddr: '10.1.0.1' }), undefined);
      await mode('authoritative');
      const back = await renew();
      assert.equal(back && readU8(back.options, 53), 5);
      assert.equal(ipText(back!.yiaddr), held);
    } finally { await r.close(); }
  });
});

describe('dhcp: subnets re-read without traffic', () => {
  test('a subnet re-created by an apply gets its leases written back within a TTL even when no client speaks (a restart after that keeps them)', async () => {
    const t = await makeCtx([A]);
    const b = await buildDhcpHandler(t.ctx, { localAddresses: () => locals, scopeTtlMs: 50 });
    try {
      const mac = '52:54:00:0a:05:01';
      const o = await b.handler.handle(clientPacket({ type: 1, mac, giaddr: '10.1.0.1' }), { from: { address: '10.1.0.1', port: 67 } });
      const yi = o!.buf.readUInt32BE(16);
      assert.ok(await b.handler.handle(clientPacket({ type: 3, mac, giaddr: '10.1.0.1', options: [[54, SRV], [50, ipBuf(ipText(yi))]] }), { from: { address: '10.1.0.1', port: 67 } }));
      // apply moving the subnet to another branch: deleted and inserted again (its lease rows lose their subnet).
      const now = Date.now() + 1;
      const bid = (await t.handle.db.insertInto('branches').values({ name: 'c', created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow()).id;
      await t.handle.db.deleteFrom('subnets').where('cidr', '=', A.cidr).execute();
      await t.handle.db.insertInto('subnets').values({ branch_id: bid, cidr: A.cidr, dhcp_mode: 'authoritative', ranges: JSON.stringify(A.ranges), lease_seconds: 600, created_at: now, updated_at: now }).execute();
      await waitUntil(async () => (await t.handle.db.selectFrom('leases').select('ip').where('mac', '=', mac).executeTakeFirst())?.ip === ipText(yi), 2000);
    } finally { await b.close(); await t.close(); }
  });
});

async function waitUntil(fn: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await fn()) return; await new Promise((r) => setTimeout(r, 25)); }
  assert.fail('the lease was not written back without traffic');
}
