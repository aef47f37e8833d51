// Two machines of one branch never share a hostname (compared without case): refused with 409
// naming the other machine's MAC by POST and PATCH /machines (a name, or a move into a branch
// where the name is taken), the console's machine form, registration of discovered machines and
// the bulk import. A database that already holds such a pair keeps loading and serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { getPage, login, macFor, makeFixture, postForm, type Fixture } from '../../unit/api/helpers.ts';

let f: Fixture;
before(async () => { f = await makeFixture({ machinesPerBranch: 3 }); });
after(async () => { await f.close(); });

const hostnameOf = async (mac: string) => (await f.ctx.db.selectFrom('machines').select('hostname').where('mac', '=', mac).executeTakeFirst())?.hostname;

async function patch(mac: string, body: object): Promise<{ statusCode: number; json: () => { detail: string; field?: string }; body: string }> {
  const etag = String((await f.req('GET', `/api/v1/machines/${mac}`, { token: f.tokens.admin })).headers.etag);
  return f.req('PATCH', `/api/v1/machines/${mac}`, { token: f.tokens.admin, body, headers: { 'if-match': etag } });
}

test('POST /machines: a name another machine of the branch has, in any case, is 409 naming its MAC; another branch may use it', async () => {
  for (const name of ['a-0001', 'A-0001']) {
    const r = await f.req('POST', '/api/v1/machines', { token: f.tokens.admin, body: { mac: '02:00:00:10:00:01', hostname: name, branchId: f.branchA } });
    assert.equal(r.statusCode, 409, r.body);
    assert.equal(r.json().field, 'hostname');
    assert.equal(r.json().detail, `hostname ${name} is taken in branch alpha by machine ${macFor(0, 1)}`);
  }
  assert.equal(await hostnameOf('02:00:00:10:00:01'), undefined, 'nothing created');
  const other = await f.req('POST', '/api/v1/machines', { token: f.tokens.admin, body: { mac: '02:00:00:10:00:01', hostname: 'a-0001', branchId: f.branchB } });
  assert.equal(other.statusCode, 201, other.body);
});

test('PATCH: a taken name is 409; a move into a branch where the name is taken is 409 on branchId; renaming to its own name in another case passes', async () => {
  const named = await patch(macFor(0, 0), { hostname: 'a-0002' });
  assert.equal(named.statusCode, 409, named.body);
  assert.deepEqual({ field: named.json().field, detail: named.json().detail }, { field: 'hostname', detail: `hostname a-0002 is taken in branch alpha by machine ${macFor(0, 2)}` });
  assert.equal(await hostnameOf(macFor(0, 0)), 'a-0000');
  // 02:00:00:10:00:01 is "a-0001" in bravo (the test above): moving it to alpha would make two.
  const moved = await patch('02:00:00:10:00:01', { branchId: f.branchA });
  assert.equal(moved.statusCode, 409, moved.body);
  assert.equal(moved.json().field, 'branchId');
  assert.match(moved.json().detail, new RegExp(`by machine ${macFor(0, 1)}$`));
  const movedRenamed = await patch('02:00:00:10:00:01', { branchId: f.branchA, hostname: 'a-0099' });
  assert.equal(movedRenamed.statusCode, 200, movedRenamed.body);
  const own = await patch(macFor(0, 0), { hostname: 'A-0000' });
  assert.equal(own.statusCode, 200, own.body);
});

test('a database already holding two machines of one branch with one name keeps loading; they can still be edited otherwise', async () => {
  const now = Date.now();
  await f.ctx.db.insertInto('machines').values({ mac: '02:00:00:10:00:02', hostname: 'b-0001', branch_id: f.branchB, state: 'registered', created_at: now, updated_at: now }).execute();
  const list = await f.req('GET', `/api/v1/machines?branch=${f.branchB}`, { token: f.tokens.admin });
  assert.equal(list.statusCode, 200, list.body);
  assert.equal((list.json().items as Array<{ hostname: string }>).filter((m) => m.hostname === 'b-0001').length, 2);
  const r = await patch('02:00:00:10:00:02', { hostname: 'b-0001', action: 'local' });
  assert.equal(r.statusCode, 200, 'its own unchanged name is not a new clash');
});

test('console: the machine form with a taken name is 409 and saves nothing', async () => {
  const { jar } = await login(f, 'admin');
  const mac = macFor(1, 2);
  const page = await getPage(f, jar, `/machines/${mac}`);
  const etag = /name="etag" value="([^"]+)"/.exec(page.body)![1]!.replace(/&quot;/g, '"');
  const r = await postForm(f, jar, `/machines/${mac}`, [['etag', etag], ['hostname', 'B-0000'], ['image', '-'], ['version', ''], ['action', 'local']]);
  assert.equal(r.statusCode, 409, r.body);
  assert.match(r.body, new RegExp(`hostname B-0000 is taken in branch bravo by machine ${macFor(1, 0)}`));
  assert.equal(await hostnameOf(mac), 'b-0002');
});

test('registering discovered machines: a kept name taken in the target branch is 409; a pattern skips taken names in any case', async () => {
  const now = Date.now();
  await f.ctx.db.insertInto('machines').values([
    { mac: '02:00:00:10:00:03', hostname: 'a-0002', branch_id: null, state: 'discovered', created_at: now, updated_at: now },
    { mac: '02:00:00:10:00:04', hostname: null, branch_id: f.branchA, state: 'discovered', created_at: now, updated_at: now },
    { mac: '02:00:00:10:00:05', hostname: 'New-01', branch_id: f.branchA, state: 'registered', created_at: now, updated_at: now },
  ]).execute();
  const kept = await f.req('POST', '/api/v1/discovered/register', { token: f.tokens.admin, body: { macs: ['02:00:00:10:00:03'], branchId: f.branchA } });
  assert.equal(kept.statusCode, 409, kept.body);
  assert.match(kept.json().detail, new RegExp(`hostname a-0002 is taken in branch alpha by machine ${macFor(0, 2)}`));
  const named = await f.req('POST', '/api/v1/discovered/register', { token: f.tokens.admin, body: { macs: ['02:00:00:10:00:04'], branchId: f.branchA, hostnamePattern: 'new-{n:02}' } });
  assert.equal(named.statusCode, 200, named.body);
  assert.equal(named.json().items[0].hostname, 'new-02');
});

test('bulk import: two rows of one branch with one name, or a row named as a machine it leaves alone, is 409 naming the row and the MAC', async () => {
  const two = await f.req('POST', '/api/v1/machines/import', { token: f.tokens.admin, body: { machines: [
    { mac: '02:00:00:10:00:06', hostname: 'pair', branch: 'alpha' },
    { mac: '02:00:00:10:00:07', hostname: 'PAIR', branch: 'alpha' },
  ] } });
  assert.equal(two.statusCode, 409, two.body);
  assert.equal(two.json().field, 'machines[1].hostname');
  assert.match(two.json().detail, /hostname PAIR is taken in branch alpha by machine 02:00:00:10:00:06 \(machines\[0\]\)/);
  const db = await f.req('POST', '/api/v1/machines/import?dryRun=true', { token: f.tokens.admin, body: { machines: [{ mac: '02:00:00:10:00:08', hostname: 'a-0001', branch: 'alpha' }] } });
  assert.equal(db.statusCode, 409, db.body);
  assert.equal(db.json().field, 'machines[0].hostname');
  assert.match(db.json().detail, new RegExp(`by machine ${macFor(0, 1)}$`));
  assert.equal(await hostnameOf('02:00:00:10:00:06'), undefined, 'nothing imported');
});
