// Orphan leases (their subnet row deleted, the address still held by the client until its lease
// ends) in /api/v1/leases, a machine's leases and its console page: listed with subnet null,
// orphan true and the machine's branch; a branch-limited caller sees one only when the machine
// with its MAC is in its branch. Rows nobody holds any more (expired, released, adopted by a
// subnet added later) are not listed, and are exactly what pruneOrphanLeases deletes.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { makeFixture, macFor, login, getPage, type Fixture } from '../../unit/api/helpers.ts';
import { pruneOrphanLeases } from '../../../src/model/leases.ts';

let f: Fixture;
before(async () => { f = await makeFixture({ machinesPerBranch: 3 }); });
after(async () => { await f.close(); });

const A0 = macFor(0, 0), A1 = macFor(0, 1), A2 = macFor(0, 2), B0 = macFor(1, 0);
const STRANGER = '52:54:00:99:00:01';

interface Item { ip: string; mac: string; orphan: boolean; subnet: string | null; branchId: number | null; machineBranchId?: number | null; state: string }
const ips = (items: Item[]) => items.map((i) => i.ip).sort();

test('orphan leases: listed with subnet null and the machine\'s branch, scoped by that machine, unheld rows left out', { timeout: 15_000 }, async () => {
  const now = Date.now();
  const db = f.ctx.db;
  const subnetOf = async (b: number) => (await db.selectFrom('subnets').select('id').where('branch_id', '=', b).executeTakeFirstOrThrow()).id;
  const alphaNet = await subnetOf(f.branchA), bravoNet = await subnetOf(f.branchB);
  const row = (subnet_id: number | null, ip: string, mac: string, state: 'bound' | 'released' | 'declined', expires_at: number) =>
    ({ subnet_id, ip, mac, state, expires_at, hostname: null, updated_at: now });
  await db.insertInto('leases').values([
    row(null, '10.5.0.10', A0, 'bound', now + 600_000),         // held, machine in alpha
    row(null, '10.6.0.10', B0, 'bound', now + 600_000),         // held, machine in bravo
    row(null, '10.7.0.10', STRANGER, 'declined', now + 600_000), // quarantined, no machine
    row(null, '10.5.0.11', A1, 'bound', now - 1000),             // expired
    row(null, '10.5.0.12', A2, 'released', now + 600_000),       // released
    row(null, '10.1.0.50', A1, 'bound', now + 600_000),          // adopted: alpha's row below lasts longer
    row(alphaNet, '10.1.0.50', A1, 'bound', now + 700_000),
    row(bravoNet, '10.2.0.9', B0, 'bound', now + 600_000),
  ]).execute();

  const get = async (url: string, token: string) => {
    const r = await f.req('GET', url, { token });
    assert.equal(r.statusCode, 200, r.body);
    return (r.json() as { items: Item[] }).items;
  };
  const all = await get('/api/v1/leases', f.tokens.read);
  assert.deepEqual(ips(all), ['10.1.0.50', '10.2.0.9', '10.5.0.10', '10.6.0.10', '10.7.0.10']);
  const a0 = all.find((i) => i.ip === '10.5.0.10')!;
  assert.deepEqual({ orphan: a0.orphan, subnet: a0.subnet, branchId: a0.branchId, machineBranchId: a0.machineBranchId, state: a0.state },
    { orphan: true, subnet: null, branchId: null, machineBranchId: f.branchA, state: 'bound' });
  assert.equal(all.find((i) => i.ip === '10.7.0.10')!.machineBranchId, null, 'no machine: no branch');
  const s = all.find((i) => i.ip === '10.2.0.9')!;
  assert.deepEqual({ orphan: s.orphan, subnet: s.subnet, branchId: s.branchId, has: 'machineBranchId' in s }, { orphan: false, subnet: '10.2.0.0/16', branchId: f.branchB, has: false });

  assert.deepEqual(ips(await get('/api/v1/leases?orphan=true', f.tokens.read)), ['10.5.0.10', '10.6.0.10', '10.7.0.10']);
  assert.deepEqual(ips(await get('/api/v1/leases?orphan=false', f.tokens.read)), ['10.1.0.50', '10.2.0.9']);
  assert.deepEqual(ips(await get(`/api/v1/leases?branch=${f.branchA}`, f.tokens.read)), ['10.1.0.50', '10.5.0.10'], 'a branch: its subnets\' leases and its machines\' orphans');
  assert.deepEqual(ips(await get('/api/v1/leases?state=declined', f.tokens.read)), ['10.7.0.10']);
  assert.deepEqual(ips(await get(`/api/v1/leases?mac=${B0}`, f.tokens.read)), ['10.2.0.9', '10.6.0.10']);

  // Branch-limited: only the orphans of its own machines; never one without a machine.
  assert.deepEqual(ips(await get('/api/v1/leases', f.tokens.readA)), ['10.1.0.50', '10.5.0.10']);
  assert.deepEqual(ips(await get('/api/v1/leases?orphan=true', f.tokens.readA)), ['10.5.0.10']);
  assert.deepEqual(ips(await get(`/api/v1/leases?mac=${B0}`, f.tokens.readA)), []);
  assert.deepEqual(ips(await get(`/api/v1/machines/${A0}/leases`, f.tokens.readA)), ['10.5.0.10']);
  assert.equal((await f.req('GET', `/api/v1/machines/${B0}/leases`, { token: f.tokens.readA })).statusCode, 403);
  // A machine moved to another branch takes its orphan's visibility with it.
  await db.updateTable('machines').set({ branch_id: f.branchB }).where('mac', '=', A0).execute();
  assert.deepEqual(ips(await get('/api/v1/leases?orphan=true', f.tokens.readA)), []);
  await db.updateTable('machines').set({ branch_id: f.branchA }).where('mac', '=', A0).execute();

  // Pages by cursor over orphans and subnet leases alike, without repeats.
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const r = await f.req('GET', `/api/v1/leases?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: f.tokens.read });
    const body = r.json() as { items: Item[]; nextCursor: string | null };
    seen.push(...body.items.map((i) => i.ip));
    cursor = body.nextCursor;
  } while (cursor);
  assert.deepEqual(seen.sort(), ips(all));

  assert.equal((await f.req('GET', '/api/v1/leases?orphan=maybe', { token: f.tokens.read })).json().field, 'orphan');

  // The console: the machine's page marks it; another branch's machine stays forbidden.
  const { jar } = await login(f, 'alice');
  const page = await getPage(f, jar, `/machines/${A0}`);
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /<tr class="orphan"><td>10\.5\.0\.10<\/td><td><strong>subnet deleted<\/strong><\/td><td>bound<\/td>/);
  assert.match(page.body, /id="orphan-help"/);
  assert.equal((await getPage(f, jar, `/machines/${B0}`)).statusCode, 403);
  const plain = await getPage(f, jar, `/machines/${A2}`);
  assert.doesNotMatch(plain.body, /subnet deleted|orphan-help/, 'a released orphan row is not shown');

  // What is not listed is what the prune deletes, and nothing else.
  assert.equal(await pruneOrphanLeases(db, Date.now()), 3);
  const left = await db.selectFrom('leases').select('ip').where('subnet_id', 'is', null).execute();
  assert.deepEqual(left.map((r) => r.ip).sort(), ['10.5.0.10', '10.6.0.10', '10.7.0.10']);
});
