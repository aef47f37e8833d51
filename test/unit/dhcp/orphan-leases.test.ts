// Leases that outlive their subnet row (migration 0006): a branch pruned, the server restarted,
// the subnet added again. Its clients keep using their addresses until their leases end, so the
// re-added subnet adopts their leases at load and never offers those addresses to another MAC.
// The real handler on a real SQLite file, restarted by building it again; no sockets.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ipv4ToString } from '../../../src/util/net.ts';
import { buildDhcpHandler } from '../../../src/dhcp/index.ts';
import { readU8 } from '../../../src/dhcp/options.ts';
import type { LocalAddress } from '../../../src/dhcp/handler.ts';
import { ip, ipBuf, makeCtx, type SubnetSpec } from './helpers.ts';
import { handlerRig, type Rig } from './rig.ts';

const A: SubnetSpec = { cidr: '10.1.0.0/24', mode: 'authoritative', ranges: ['10.1.0.100-10.1.0.109'], leaseSeconds: 600, branch: 'a' };
const B: SubnetSpec = { cidr: '10.2.0.0/24', mode: 'authoritative', ranges: ['10.2.0.100-10.2.0.109'], leaseSeconds: 600, branch: 'b' };
const locals: LocalAddress[] = [{ ifname: 'eth0', address: ip('10.9.0.1'), mask: ip('255.255.255.0') }];
const SRV = ipBuf('10.9.0.1');
const HOLDER = '52:54:00:0a:00:01';

/** `serve` started on `file` with these subnets in the inventory (missing ones are inserted, as apply does). */
const start = (file: string, subnets: SubnetSpec[], writerThread: boolean): Promise<Rig> => handlerRig(subnets, { locals, writerThread, dbFile: file });

const ipText = ipv4ToString;

async function dora(s: Rig, mac: string, relay: string): Promise<string | undefined> {
  const offer = await s.send({ type: 1, mac, giaddr: relay });
  if (!offer) return undefined;
  const ack = await s.send({ type: 3, mac, giaddr: relay, options: [[54, SRV], [50, ipBuf(ipText(offer.yiaddr))]] });
  assert.equal(ack && readU8(ack.options, 53), 5, `ACK for ${mac}`);
  return ipText(ack!.yiaddr);
}

function dbFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-dhcp-orphan-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'bb.db');
}

describe('dhcp: a lease outlives its subnet row across a restart', () => {
  for (const writerThread of [false, true]) test(`prune, restart, re-add: the holder renews its address and no other MAC gets it (${writerThread ? 'own connection' : 'shared connection'})`, async () => {
    const file = dbFile();
    let s = await start(file, [A, B], writerThread);
    const held = (await dora(s, HOLDER, '10.1.0.1'))!;
    // apply --prune drops branch a (its subnet goes with it) in another process.
    await s.t.handle.db.deleteFrom('branches').where('name', '=', 'a').execute();
    await s.close();
    const orphan = await (async () => {
      s = await start(file, [B], writerThread);
      try {
        assert.equal(await s.send({ type: 1, mac: '52:54:00:0a:00:02', giaddr: '10.1.0.1' }), undefined, 'a pruned subnet is not served');
        return await s.t.handle.db.selectFrom('leases').select(['subnet_id', 'ip', 'state']).where('mac', '=', HOLDER).execute();
      } finally { await s.close(); }
    })();
    assert.deepEqual(orphan, [{ subnet_id: null, ip: held, state: 'bound' }], 'the lease row went with its subnet');
    // Re-added (a new branch row, a new subnet id), then a restart reads it.
    s = await start(file, [A, B], writerThread);
    try {
      const sid = s.t.subnetIds.get(A.cidr)!;
      // Nine other clients take the other nine addresses of the pool; a tenth finds it full.
      const others: string[] = [];
      for (let i = 2; i <= 10; i++) others.push((await dora(s, `52:54:00:0a:00:${String(i).padStart(2, '0')}`, '10.1.0.1'))!);
      assert.ok(!others.includes(held), `an address still held went to a second MAC: ${others.join(' ')}`);
      assert.equal(new Set(others).size, 9);
      assert.equal(await s.send({ type: 1, mac: '52:54:00:0a:00:11', giaddr: '10.1.0.1' }), undefined, 'the held address was offered');
      // RENEWING (RFC 2131 §4.3.2): ciaddr set, no server id or requested address.
      const renew = await s.send({ type: 3, mac: HOLDER, giaddr: '10.1.0.1', ciaddr: held });
      assert.equal(renew && readU8(renew.options, 53), 5, 'the holder got no ACK');
      assert.equal(ipText(renew!.yiaddr), held);
      await s.b.committer.flushed();
      const rows = await s.t.handle.db.selectFrom('leases').select(['subnet_id', 'state']).where('mac', '=', HOLDER).execute();
      assert.deepEqual(rows, [{ subnet_id: sid, state: 'bound' }], 'adopted under the new id, the orphan row pruned');
    } finally { await s.close(); }
  });

  test('orphan rows are pruned at load when expired or never held; a held one waits for its subnet', async () => {
    const file = dbFile();
    const t = await makeCtx([B], {}, file);
    const now = Date.now();
    const row = (ip: string, mac: string, state: 'bound' | 'released' | 'offered' | 'declined', expiresAt: number) =>
      ({ subnet_id: null, ip, mac, state, expires_at: expiresAt, updated_at: now - 1000 });
    await t.handle.db.insertInto('leases').values([
      row('10.1.0.100', '52:54:00:0c:00:01', 'bound', now - 1),
      row('10.1.0.101', '52:54:00:0c:00:02', 'released', now + 600_000),
      row('10.1.0.102', '52:54:00:0c:00:03', 'offered', now + 600_000),
      row('10.1.0.103', '52:54:00:0c:00:04', 'bound', now + 600_000),
      row('10.1.0.104', '52:54:00:0c:00:05', 'declined', now + 600_000),
    ]).execute();
    await t.close();
    const s = await start(file, [B], false);
    try {
      const left = await s.t.handle.db.selectFrom('leases').select(['ip', 'subnet_id']).where('subnet_id', 'is', null).orderBy('ip').execute();
      assert.deepEqual(left.map((r) => r.ip), ['10.1.0.103', '10.1.0.104']);
    } finally { await s.close(); }
  });

  test('a running server deletes orphan rows that expire, without a subnet being added', async () => {
    const file = dbFile();
    const t = await makeCtx([B], {}, file);
    const b = await buildDhcpHandler(t.ctx, { localAddresses: () => locals, scopeTtlMs: 50, orphanPruneMs: 100 });
    try {
      const now = Date.now();
      await t.handle.db.insertInto('leases').values({ subnet_id: null, ip: '10.1.0.100', mac: HOLDER, state: 'bound', expires_at: now + 300, updated_at: now }).execute();
      const left = async () => (await t.handle.db.selectFrom('leases').select('id').where('subnet_id', 'is', null).execute()).length;
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(await left(), 1, 'pruned before it expired');
      const end = Date.now() + 5000;
      while (await left() > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      assert.equal(await left(), 0, 'an expired orphan row stayed');
    } finally { await b.close(); await t.close(); }
  });

  test('a subnet re-added with a narrower network adopts only the leases inside it; the rest wait', async () => {
    const file = dbFile();
    let s = await start(file, [A], false);
    const held = (await dora(s, HOLDER, '10.1.0.1'))!;
    await s.t.handle.db.deleteFrom('subnets').where('cidr', '=', A.cidr).execute();
    await s.close();
    const inside: SubnetSpec = { ...A, cidr: '10.1.0.96/27', ranges: ['10.1.0.100-10.1.0.109'] };
    const outside: SubnetSpec = { ...A, cidr: '10.1.0.0/27', ranges: ['10.1.0.10-10.1.0.19'] };
    s = await start(file, [outside], false);
    try {
      const rows = await s.t.handle.db.selectFrom('leases').select(['subnet_id', 'ip']).where('mac', '=', HOLDER).execute();
      assert.deepEqual(rows, [{ subnet_id: null, ip: held }]);
    } finally { await s.close(); }
    s = await start(file, [outside, inside], false);
    try {
      const rows = await s.t.handle.db.selectFrom('leases').select(['subnet_id', 'ip']).where('mac', '=', HOLDER).execute();
      assert.deepEqual(rows, [{ subnet_id: s.t.subnetIds.get(inside.cidr)!, ip: held }]);
    } finally { await s.close(); }
  });
});

describe('dhcp: the same rule in a running server', () => {
  test('a subnet deleted and added again while serving adopts its leases; a restart after that keeps them', async () => {
    const file = dbFile();
    let s = await start(file, [A, B], true);
    const held = (await dora(s, HOLDER, '10.1.0.1'))!;
    await s.t.handle.db.deleteFrom('branches').where('name', '=', 'a').execute();
    s.t.ctx.events.emit('inventory', {});
    assert.equal(await s.send({ type: 1, mac: '52:54:00:0a:00:02', giaddr: '10.1.0.1' }), undefined);
    const now = Date.now();
    const bid = (await s.t.handle.db.insertInto('branches').values({ name: 'a', created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow()).id;
    const sid = (await s.t.handle.db.insertInto('subnets').values({
      branch_id: bid, cidr: A.cidr, dhcp_mode: 'authoritative', ranges: JSON.stringify(A.ranges), lease_seconds: 600, created_at: now, updated_at: now,
    }).returning('id').executeTakeFirstOrThrow()).id;
    s.t.ctx.events.emit('inventory', {});
    assert.notEqual(await dora(s, '52:54:00:0a:00:02', '10.1.0.1'), held);
    await s.close();
    s = await start(file, [A, B], true);
    try {
      assert.deepEqual(await s.t.handle.db.selectFrom('leases').select(['subnet_id', 'ip']).where('mac', '=', HOLDER).execute(), [{ subnet_id: sid, ip: held }]);
      const others = [];
      for (let i = 3; i <= 10; i++) others.push(await dora(s, `52:54:00:0a:00:${String(i).padStart(2, '0')}`, '10.1.0.1'));
      assert.ok(!others.includes(held));
    } finally { await s.close(); }
  });
});
