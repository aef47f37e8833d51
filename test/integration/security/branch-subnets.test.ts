// A school's admin (a branch-limited token) may tune its subnets but not choose which networks
// the appliance serves: adding a subnet (another school's VLAN not yet in the inventory, a staff
// LAN) made the server answer DHCP there with boot servers that admin picked.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { makeFixture, type Fixture } from '../../unit/api/helpers.ts';

let f: Fixture;
before(async () => { f = await makeFixture({ machinesPerBranch: 1, users: false }); });
after(async () => { await f.close(); });

async function patch(token: string, body: unknown) {
  const url = `/api/v1/branches/${f.branchA}`;
  const cur = await f.req('GET', url, { token });
  return f.req('PATCH', url, { token, body, headers: { 'if-match': String(cur.headers.etag), 'content-type': 'application/json' } });
}

test('a branch-limited writer cannot add, remove or resize its subnets', async () => {
  for (const subnets of [
    [{ cidr: '10.1.0.0/16' }, { cidr: '192.168.50.0/24', dhcp: 'authoritative', ranges: ['192.168.50.100-192.168.50.200'] }],
    [{ cidr: '10.0.0.0/15' }], [{ cidr: '10.1.0.0/24' }], [],
  ]) {
    for (const token of [f.tokens.writeA, f.tokens.adminA]) {
      const r = await patch(token, { subnets });
      assert.equal(r.statusCode, 403, `${JSON.stringify(subnets)}: ${r.body}`);
    }
  }
  const rows = await f.ctx.db.selectFrom('subnets').select('cidr').where('branch_id', '=', f.branchA).execute();
  assert.deepEqual(rows.map((r) => r.cidr), ['10.1.0.0/16']);
});

test('it can still change its subnets\' settings and its other fields; an unrestricted admin can add subnets', async () => {
  const r = await patch(f.tokens.writeA, { subnets: [{ cidr: '10.1.0.0/16', dhcp: 'authoritative', ranges: ['10.1.5.1-10.1.5.200'], gateway: '10.1.0.1' }], description: 'lab' });
  assert.equal(r.statusCode, 200, r.body);
  const admin = await patch(f.tokens.admin, { subnets: [{ cidr: '10.1.0.0/16', dhcp: 'authoritative', ranges: ['10.1.5.1-10.1.5.200'], gateway: '10.1.0.1' }, { cidr: '10.3.0.0/16' }] });
  assert.equal(admin.statusCode, 200, admin.body);
});
