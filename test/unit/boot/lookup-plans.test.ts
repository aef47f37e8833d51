// The planner answers every PXE packet of a boot storm with these lookups, and TFTP, generated
// configs and boot-step events look leases up by address. Before migration 0008 the UUID lookup
// read the whole machines table, which the storm itself grows by one discovered row per client
// (~950 µs of the packet thread per DORA at 10,000 clients), and a lease by address read the
// whole leases table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openDatabase } from '../../../src/db/index.ts';
import { attachReader } from '../../../src/model/read-conn.ts';
import { getMachineByUuid, LOOKUP_SQL } from '../../../src/model/boot-queries.ts';
import { branchOfLeasedIp, leaseBranchSql, leaseMacSql, macForLeasedIp } from '../../../src/model/lease-lookup.ts';
import { tempDir } from '../../helpers/cli.ts';

test('each lookup of a PXE packet is an index search, never a scan of its table', async () => {
  const h = openDatabase(path.join(tempDir(), 'bb.db'));
  try {
    const leases = { leaseMac0: leaseMacSql(0), leaseMac1: leaseMacSql(1), leaseMac2: leaseMacSql(2), leaseBranch1: leaseBranchSql(1), leaseBranch2: leaseBranchSql(2) };
    for (const [name, text] of Object.entries({ ...LOOKUP_SQL, ...leases })) {
      const params = Array.from({ length: text.split('?').length - 1 }, () => 1);
      const plan = (h.sqlite.prepare(`EXPLAIN QUERY PLAN ${text}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail);
      assert.ok(plan.some((d) => /^SEARCH /.test(d)) && !plan.some((d) => /^SCAN /.test(d)), `${name}: ${plan.join('; ')}`);
    }
  } finally {
    await h.close();
  }
});

test('a UUID names a registered machine only when exactly one has it, on the read connection as through Kysely', async () => {
  const file = path.join(tempDir(), 'bb.db');
  const h = openDatabase(file);
  const now = Date.now();
  const row = (mac: string, uuid: string | null, state: 'registered' | 'discovered') => ({ mac, uuid, state, created_at: now, updated_at: now });
  const u = '4c4c4544-0042-3510-8052-b4c04f4b4d31';
  const twice = '4c4c4544-0042-3510-8052-b4c04f4b4d32';
  await h.db.insertInto('machines').values([
    row('52:54:00:00:00:01', u, 'registered'), row('52:54:00:00:00:02', u, 'discovered'),
    row('52:54:00:00:00:03', twice, 'registered'), row('52:54:00:00:00:04', twice, 'registered'),
    row('52:54:00:00:00:05', null, 'registered'),
  ]).execute();
  const release = attachReader(h.db, file);
  try {
    for (const pass of ['reader', 'kysely']) {
      if (pass === 'kysely') release();
      assert.equal((await getMachineByUuid(h.db, u))?.mac, '52:54:00:00:00:01', pass);
      assert.equal(await getMachineByUuid(h.db, twice), undefined, `${pass}: shared by two`);
      assert.equal(await getMachineByUuid(h.db, '4c4c4544-0042-3510-8052-b4c04f4b4d33'), undefined, pass);
    }
  } finally {
    release();
    await h.close();
  }
});

test('a lease is found by address in its subnet, in a nested one, and after its subnet was deleted', async () => {
  const file = path.join(tempDir(), 'bb.db');
  const h = openDatabase(file);
  const now = Date.now();
  const release = attachReader(h.db, file);
  try {
    const b = (await h.db.insertInto('branches').values({ name: 'north', created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow()).id;
    const subnet = async (cidr: string) => (await h.db.insertInto('subnets').values({ branch_id: b, cidr, dhcp_mode: 'authoritative', ranges: '[]', exclusions: '[]', dns: '[]', domain: '', lease_seconds: 3600, created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow()).id;
    const outer = await subnet('10.70.0.0/16');
    const inner = await subnet('10.70.5.0/24');
    const other = await subnet('10.71.0.0/24');
    const lease = (subnetId: number | null, ip: string, mac: string, state: 'bound' | 'expired', at: number) => ({ subnet_id: subnetId, ip, mac, state, expires_at: now + 3_600_000, updated_at: at });
    await h.db.insertInto('leases').values([
      lease(outer, '10.70.1.1', '52:54:00:00:01:01', 'bound', now),
      lease(inner, '10.70.5.5', '52:54:00:00:05:05', 'bound', now),
      lease(other, '10.71.0.7', '52:54:00:00:07:07', 'bound', now - 10),
      lease(null, '10.71.0.7', '52:54:00:00:07:08', 'bound', now),
      lease(outer, '10.70.1.2', '52:54:00:00:01:02', 'expired', now),
    ]).execute();
    assert.equal(await macForLeasedIp(h.db, '10.70.1.1', now), '52:54:00:00:01:01');
    assert.equal(await macForLeasedIp(h.db, '10.70.5.5', now), '52:54:00:00:05:05', 'nested subnet');
    assert.equal(await macForLeasedIp(h.db, '10.71.0.7', now), '52:54:00:00:07:08', 'the orphan lease (subnet deleted) is newer');
    assert.equal(await macForLeasedIp(h.db, '10.70.1.2', now), undefined, 'expired');
    assert.equal(await macForLeasedIp(h.db, '10.99.0.1', now), undefined, 'in no subnet');
    assert.equal(await macForLeasedIp(h.db, 'not an address', now), undefined);
    assert.equal(await branchOfLeasedIp(h.db, '10.70.5.5'), b);
    assert.equal(await branchOfLeasedIp(h.db, '10.99.0.1'), undefined);
  } finally {
    release();
    await h.close();
  }
});
