// Re-running a PATCH of a branch, an image or a user with the values it already has changes
// nothing: the ETag another admin holds stays valid and no audit row is added. A real change
// still is one.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { makeFixture, type Fixture } from '../../unit/api/helpers.ts';

let f: Fixture;
before(async () => { f = await makeFixture({ machinesPerBranch: 1 }); });
after(async () => { await f.close(); });

const auditCount = async () => (await f.ctx.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;

async function rerun(url: string, body: object, change: object): Promise<void> {
  const first = await f.req('PATCH', url, { token: f.tokens.admin, body, headers: { 'if-match': '*' } });
  assert.equal(first.statusCode, 200, first.body);
  const tag = String((await f.req('GET', url, { token: f.tokens.admin })).headers.etag);
  const rows = await auditCount();
  const again = await f.req('PATCH', url, { token: f.tokens.admin, body, headers: { 'if-match': tag } });
  assert.equal(again.statusCode, 200, again.body);
  assert.equal(String((await f.req('GET', url, { token: f.tokens.admin })).headers.etag), tag, `${url}: same ETag after a no-op`);
  assert.equal(await auditCount(), rows, `${url}: no audit row for a no-op`);
  const real = await f.req('PATCH', url, { token: f.tokens.admin, body: change, headers: { 'if-match': tag } });
  assert.equal(real.statusCode, 200, real.body);
  assert.notEqual(String((await f.req('GET', url, { token: f.tokens.admin })).headers.etag), tag);
  assert.equal(await auditCount(), rows + 1);
  // The holder of the old ETag now learns about it.
  assert.equal((await f.req('PATCH', url, { token: f.tokens.admin, body: change, headers: { 'if-match': tag } })).statusCode, 412);
}

test('branch: the same description twice', { timeout: 15_000 }, async () => {
  await rerun(`/api/v1/branches/${f.branchA}`, { description: 'Lab A', kernelArgs: 'quiet' }, { description: 'Lab A, floor 2' });
});

test('image: the same kernel arguments twice', { timeout: 15_000 }, async () => {
  await rerun('/api/v1/images/ubuntu', { kernelArgs: 'splash', currentVersion: 2 }, { kernelArgs: 'nosplash' });
});

test('user: the same role and branches twice', { timeout: 15_000 }, async () => {
  const users = (await f.req('GET', '/api/v1/users', { token: f.tokens.admin })).json().items as { id: number; username: string }[];
  const alice = users.find((u) => u.username === 'alice')!;
  await rerun(`/api/v1/users/${alice.id}`, { role: 'branch_admin', branchIds: [f.branchA] }, { branchIds: [f.branchA, f.branchB] });
});
