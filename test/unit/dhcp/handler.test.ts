// The server's decisions, in-process: the real handler, a real SQLite file, no sockets.
import fs from 'node:fs';
import path from 'node:path';
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildDhcpHandler, type BuiltHandler } from '../../../src/dhcp/index.ts';
import { decodePacket, type DhcpPacket } from '../../../src/dhcp/packet.ts';
import { readIp, readU8, readSubOptions } from '../../../src/dhcp/options.ts';
import type { Outgoing, LocalAddress } from '../../../src/dhcp/handler.ts';
import { poolStats } from '../../../src/dhcp/pool-stats.ts';
import { addMachine, clientPacket, ip, ipBuf, makeCtx, type ClientPacket, type SubnetSpec, type TestCtx } from './helpers.ts';

const LAN: SubnetSpec = { cidr: '10.1.0.0/24', mode: 'authoritative', ranges: ['10.1.0.100-10.1.0.109'], exclusions: ['10.1.0.105'], gateway: '10.1.0.1', dns: ['10.1.0.2'], leaseSeconds: 600 };
const locals: LocalAddress[] = [{ ifname: 'eth0', address: ip('10.1.0.1'), mask: ip('255.255.255.0') }, { ifname: 'lo', address: ip('127.0.0.1'), mask: ip('255.0.0.0') }];

interface Rig { t: TestCtx; b: BuiltHandler; send(c: ClientPacket, from?: string, proxyPort?: boolean): Promise<{ out: Outgoing; p: DhcpPacket } | undefined>; close(): Promise<void> }

async function rig(subnets: SubnetSpec[] = [LAN], dbFile?: string): Promise<Rig> {
  const t = await makeCtx(subnets, {}, dbFile);
  const b = await buildDhcpHandler(t.ctx, { localAddresses: () => locals, scopeTtlMs: 60_000 });
  return {
    t, b,
    async send(c, from = '0.0.0.0', proxyPort = false) {
      const out = await b.handler.handle(clientPacket(c), { from: { address: from, port: 68 }, proxyPort });
      if (!out) return undefined;
      const buf = Buffer.from(out.buf); buf[0] = 1; // decodePacket reads requests; flip op to reuse it
      const r = decodePacket(buf);
      assert.ok(r.ok, 'reply decodes');
      return { out, p: r.packet };
    },
    async close() { await b.close(); await t.close(); },
  };
}

const S = (n: number) => ip(`10.1.0.${n}`);
const srv = ipBuf('10.1.0.1');

async function dora(r: Rig, mac: string, extra: Array<[number, Buffer | number[] | string]> = []) {
  const offer = await r.send({ type: 1, mac, options: extra });
  assert.ok(offer, 'offer');
  assert.equal(readU8(offer.p.options, 53), 2);
  const ack = await r.send({ type: 3, mac, options: [[54, srv], [50, ipBuf(ipText(offer.p.yiaddr))], ...extra] });
  assert.ok(ack, 'ack');
  assert.equal(readU8(ack.p.options, 53), 5);
  return { offer, ack };
}

function ipText(n: number) { return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`; }

describe('dhcp handler (authoritative)', () => {
  test('DORA gives a pool address with subnet options, broadcast reply, lease committed before ACK', async () => {
    const r = await rig();
    try {
      const { offer, ack } = await dora(r, '52:54:00:00:00:01');
      assert.equal(offer.p.yiaddr, S(100));
      assert.equal(readIp(offer.p.options, 54), ip('10.1.0.1'));
      assert.equal(readIp(offer.p.options, 1), ip('255.255.255.0'));
      assert.equal(readIp(offer.p.options, 3), ip('10.1.0.1'));
      assert.equal(readIp(offer.p.options, 51), 600);
      assert.equal(offer.out.dest.broadcast, true);
      assert.equal(offer.out.via, ip('10.1.0.1'));
      assert.equal(ack.p.yiaddr, S(100));
      const row = await r.t.handle.db.selectFrom('leases').selectAll().where('mac', '=', '52:54:00:00:00:01').executeTakeFirstOrThrow();
      assert.equal(row.ip, '10.1.0.100');
      assert.equal(row.state, 'bound');
      // A plain client gets no boot information.
      assert.equal(offer.p.options.has(67), false);
      // Boot events: live to listeners, and written by DHCP's writer with the lease batches.
      await r.b.committer.flushed(); await r.b.events.flush();
      const stages = await r.t.handle.db.selectFrom('boot_events').select(['stage', 'detail']).where('mac', '=', '52:54:00:00:00:01').orderBy('id').execute();
      // One row for the exchange: the ACK's, with its OFFER (detail.offeredAt) and the DISCOVER
      // that OFFER answered (detail.discover).
      assert.deepEqual(stages.map((e) => e.stage), ['dhcp.ack']);
      const detail = JSON.parse(stages[0]!.detail) as { discover?: boolean; firmware?: string; offeredAt?: number };
      assert.equal(detail.discover, true);
      assert.equal(typeof detail.firmware, 'string');
      assert.equal(typeof detail.offeredAt, 'number');
    } finally { await r.close(); }
  });

  test('same MAC gets the same address again; exclusions and gateway are skipped; exhaustion is silence', async () => {
    const r = await rig();
    try {
      const got: number[] = [];
      for (let i = 0; i < 9; i++) got.push((await dora(r, `52:54:00:00:01:${i.toString(16).padStart(2, '0')}`)).ack.p.yiaddr);
      assert.equal(new Set(got).size, 9);
      assert.ok(!got.includes(S(105)));
      assert.equal(await r.send({ type: 1, mac: '52:54:00:00:02:00' }), undefined, 'pool exhausted: no answer');
      const scope = r.b.scopes.current().scopes[0]!;
      assert.deepEqual([...r.b.handler.exhaustedBySubnet], [[scope.id, 1]], 'counted against its subnet, for /metrics');
      assert.equal(poolStats(scope, r.b.book.entries(scope.id), Date.now(), r.b.handler.exhaustedBySubnet.get(scope.id)).free, 0);
      await r.b.committer.flushed(); await r.b.events.flush();
      const unanswered = await r.t.handle.db.selectFrom('boot_events').select('stage').where('mac', '=', '52:54:00:00:02:00').execute();
      assert.deepEqual(unanswered.map((e) => e.stage), ['dhcp.discover'], 'a DISCOVER nobody answers has a row of its own');
      const again = await r.send({ type: 1, mac: '52:54:00:00:01:03' });
      assert.equal(again?.p.yiaddr, got[3]);
    } finally { await r.close(); }
  });

  test('REQUEST for another server releases our offer silently; wrong address gets NAK', async () => {
    const r = await rig();
    try {
      const mac = '52:54:00:00:03:01';
      const offer = await r.send({ type: 1, mac });
      assert.ok(offer);
      assert.equal(await r.send({ type: 3, mac, options: [[54, ipBuf('10.1.0.99')], [50, ipBuf('10.1.0.100')]] }), undefined);
      const nak = await r.send({ type: 3, mac, options: [[50, ipBuf('192.168.5.5')]] }); // INIT-REBOOT, wrong net
      assert.equal(readU8(nak!.p.options, 53), 6);
      assert.equal(nak!.p.yiaddr, 0);
      assert.equal(nak!.out.dest.broadcast, true);
      // someone else's address
      const theirs = (await dora(r, '52:54:00:00:03:02')).ack.p.yiaddr;
      const taken = await r.send({ type: 3, mac, options: [[50, ipBuf(ipText(theirs))]] });
      assert.equal(readU8(taken!.p.options, 53), 6);
    } finally { await r.close(); }
  });

  test('INIT-REBOOT, RENEW (unicast to ciaddr), REBIND, RELEASE and DECLINE quarantine', async () => {
    const r = await rig();
    try {
      const mac = '52:54:00:00:04:01';
      const { ack } = await dora(r, mac);
      const a = ack.p.yiaddr;
      const reboot = await r.send({ type: 3, mac, options: [[50, ipBuf(ipText(a))]] });
      assert.equal(readU8(reboot!.p.options, 53), 5);
      const renew = await r.send({ type: 3, mac, ciaddr: ipText(a) }, ipText(a));
      assert.equal(readU8(renew!.p.options, 53), 5);
      assert.deepEqual(renew!.out.dest, { address: a, port: 68, broadcast: false });
      assert.equal(renew!.p.ciaddr, a);
      await r.send({ type: 7, mac, ciaddr: ipText(a), options: [[54, srv]] });
      await r.b.committer.flushed();
      const rel = await r.t.handle.db.selectFrom('leases').select('state').where('ip', '=', ipText(a)).executeTakeFirstOrThrow();
      assert.equal(rel.state, 'released');
      // DECLINE: the address is in use by someone unknown; the client gets another one.
      const { ack: ack2 } = await dora(r, mac);
      assert.equal(ack2.p.yiaddr, a, 'a released address goes back to its last holder');
      await r.send({ type: 4, mac, options: [[50, ipBuf(ipText(a))], [54, srv]] });
      const next = await r.send({ type: 1, mac });
      assert.notEqual(next!.p.yiaddr, a);
      const other = await dora(r, '52:54:00:00:04:02');
      assert.notEqual(other.ack.p.yiaddr, a, 'quarantined address is not given to anyone');
    } finally { await r.close(); }
  });

  test('reservations: the machine gets its fixed address, nobody else does; INFORM gets options only', async () => {
    const r = await rig();
    try {
      await addMachine(r.t, '52:54:00:00:05:01', '10.1.0.50');
      await addMachine(r.t, '52:54:00:00:05:02', '10.1.0.100');
      r.t.ctx.events.emit('inventory', { what: 'machines' });
      const { ack } = await dora(r, '52:54:00:00:05:01');
      assert.equal(ack.p.yiaddr, S(50));
      const { ack: other } = await dora(r, '52:54:00:00:05:03');
      assert.notEqual(other.p.yiaddr, S(100), 'reserved pool address skipped');
      const inform = await r.send({ type: 8, mac: '52:54:00:00:05:09', ciaddr: '10.1.0.77' }, '10.1.0.77');
      assert.equal(readU8(inform!.p.options, 53), 5);
      assert.equal(inform!.p.yiaddr, 0);
      assert.equal(inform!.p.options.has(51), false);
      assert.equal(inform!.out.dest.address, S(77));
    } finally { await r.close(); }
  });

  test('relayed: subnet by giaddr, reply to the relay on 67, option 82 echoed last and recorded', async () => {
    const r = await rig([LAN, { cidr: '10.2.0.0/24', mode: 'authoritative', ranges: ['10.2.0.10-10.2.0.20'], branch: 'north' }]);
    try {
      const mac = '52:54:00:00:06:01';
      const o82: [number, number[]] = [82, [1, 3, 0x65, 0x74, 0x31, 2, 2, 0xbe, 0xef]];
      const offer = await r.send({ type: 1, mac, giaddr: '10.2.0.1', options: [o82] }, '10.2.0.1');
      assert.equal(offer!.p.yiaddr, ip('10.2.0.10'));
      assert.deepEqual(offer!.out.dest, { address: ip('10.2.0.1'), port: 67, broadcast: false });
      assert.deepEqual([...offer!.p.options.keys()].at(-1), 82);
      assert.deepEqual([...offer!.p.options.get(82)!], o82[1]);
      const ack = await r.send({ type: 3, mac, giaddr: '10.2.0.1', options: [[54, srv], [50, ipBuf('10.2.0.10')], o82] }, '10.2.0.1');
      assert.equal(readU8(ack!.p.options, 53), 5);
      await r.b.sightings.flush();
      const m = await r.t.handle.db.selectFrom('machines').selectAll().where('mac', '=', mac).executeTakeFirstOrThrow();
      assert.equal(m.state, 'discovered');
      assert.equal(m.branch_id, r.t.branchIds.get('north'));
      assert.equal(m.relay_circuit, '657431');
      const lease = await r.t.handle.db.selectFrom('leases').selectAll().where('mac', '=', mac).executeTakeFirstOrThrow();
      assert.equal(lease.relay_remote, 'beef');
    } finally { await r.close(); }
  });

  test('inventory changes take effect without a restart', async () => {
    const r = await rig();
    try {
      await r.t.handle.db.updateTable('subnets').set({ dhcp_mode: 'off' }).execute();
      r.t.ctx.events.emit('inventory', { what: 'subnets' });
      assert.equal(await r.send({ type: 1, mac: '52:54:00:00:07:01' }), undefined);
      await r.t.handle.db.updateTable('subnets').set({ dhcp_mode: 'authoritative', ranges: '["10.1.0.200-10.1.0.200"]' }).execute();
      r.t.ctx.events.emit('inventory', { what: 'subnets' });
      const o = await r.send({ type: 1, mac: '52:54:00:00:07:01' });
      assert.equal(o!.p.yiaddr, S(200));
    } finally { await r.close(); }
  });

  test('leases survive a restart: a new handler on the same database renews the same address', async () => {
    const r = await rig();
    const file = r.t.handle.file;
    const { ack } = await dora(r, '52:54:00:00:08:01');
    r.b.dispose();
    await r.t.handle.close();
    const r2 = await rig([LAN], file);
    try {
      const renew = await r2.send({ type: 3, mac: '52:54:00:00:08:01', ciaddr: ipText(ack.p.yiaddr) }, ipText(ack.p.yiaddr));
      assert.equal(readU8(renew!.p.options, 53), 5);
      const other = await dora(r2, '52:54:00:00:08:02');
      assert.notEqual(other.ack.p.yiaddr, ack.p.yiaddr);
    } finally {
      await r2.close();
      // r2 was given the file, so its close leaves the folder: the first rig's, removed here.
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });

  test('per-MAC rate limit', async () => {
    const r = await rig();
    try {
      let answered = 0;
      for (let i = 0; i < 100; i++) if (await r.send({ type: 1, mac: '52:54:00:00:09:01', xid: i })) answered++;
      assert.ok(answered <= 21 && answered >= 10, `answered ${answered}`);
    } finally { await r.close(); }
  });
});

describe('dhcp handler (firmware with no boot binary)', () => {
  // ARM32 UEFI (option 93 = 10): the planner has nothing to run and answers an empty bootfile.
  const arm32: Array<[number, string | number[]]> = [[60, 'PXEClient:Arch:00010:UNDI:003000'], [93, [0, 10]]];
  test('authoritative: address given, but no option 66/67, empty file field, no next-server', async () => {
    const r = await rig();
    try {
      const { offer, ack } = await dora(r, '52:54:00:00:0b:01', arm32);
      for (const m of [offer, ack]) {
        assert.equal(m.p.yiaddr, S(100));
        assert.equal(m.p.options.has(67), false, 'no option 67');
        assert.equal(m.p.options.has(66), false, 'no option 66');
        assert.ok(m.p.file.every((b) => b === 0), 'file field empty');
        assert.equal(m.p.siaddr, 0);
      }
    } finally { await r.close(); }
  });
  test('proxy: nothing to offer, so silence on 67 and 4011', async () => {
    const r = await rig([{ cidr: '10.1.0.0/24', mode: 'proxy' }]);
    try {
      assert.equal(await r.send({ type: 1, mac: '52:54:00:00:0b:02', options: arm32 }), undefined);
      assert.equal(await r.send({ type: 3, mac: '52:54:00:00:0b:02', ciaddr: '10.1.0.50', options: arm32 }, '10.1.0.50', true), undefined);
    } finally { await r.close(); }
  });
});

describe('dhcp handler (proxy)', () => {
  const PROXY: SubnetSpec = { cidr: '10.1.0.0/24', mode: 'proxy' };
  test('answers PXE clients only, without an address; 4011 answers to the source', async () => {
    const r = await rig([PROXY]);
    try {
      assert.equal(await r.send({ type: 1, mac: '52:54:00:00:0a:01' }), undefined, 'plain client: silence');
      const pxe: Array<[number, string | number[]]> = [[60, 'PXEClient:Arch:00000:UNDI:002001'], [93, [0, 0]]];
      const o = await r.send({ type: 1, mac: '52:54:00:00:0a:02', options: pxe });
      assert.equal(o!.p.yiaddr, 0);
      assert.equal(o!.p.options.get(60)!.toString(), 'PXEClient');
      assert.equal(o!.p.options.get(67)!.toString(), 'undionly.kpxe');
      assert.equal(o!.p.siaddr, ip('10.1.0.1'));
      assert.deepEqual(readSubOptions(o!.p.options.get(43))!.get(6), Buffer.from([8]));
      assert.equal(await r.send({ type: 3, mac: '52:54:00:00:0a:02', options: [...pxe, [54, ipBuf('10.1.0.254')], [50, ipBuf('10.1.0.50')]] }), undefined, 'REQUEST to the real server');
      const a = await r.send({ type: 3, mac: '52:54:00:00:0a:02', ciaddr: '10.1.0.50', options: pxe }, '10.1.0.50', true);
      assert.equal(readU8(a!.p.options, 53), 5);
      assert.equal(a!.p.yiaddr, 0);
      assert.deepEqual(a!.out.dest, { address: S(50), port: 68, broadcast: false });
      assert.equal(a!.p.options.get(67)!.toString(), 'undionly.kpxe');
      const leases = await r.t.handle.db.selectFrom('leases').selectAll().execute();
      assert.equal(leases.length, 0);
    } finally { await r.close(); }
  });
});
