// Nobody can lock every admin out: disabling, demoting or deleting the last enabled admin —
// through the API (an admin token is not a user) or the console — is a 409 and changes nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { login, makeFixture, postForm } from '../../unit/api/helpers.ts';

test('the last enabled admin cannot be disabled, demoted or deleted; with a second admin they can', { timeout: 30_000 }, async () => {
  const f = await makeFixture({ machinesPerBranch: 1 });
  try {
    const users = (await f.req('GET', '/api/v1/users', { token: f.tokens.admin })).json().items as { id: number; username: string }[];
    const admin = users.find((u) => u.username === 'admin')!;
    const url = `/api/v1/users/${admin.id}`;
    for (const [body, field] of [[{ disabled: true }, 'disabled'], [{ role: 'viewer' }, 'role'], [{ role: 'branch_admin', branchIds: [f.branchA] }, 'role']] as [object, string][]) {
      const r = await f.req('PATCH', url, { token: f.tokens.admin, body, headers: { 'if-match': '*' } });
      assert.equal(r.statusCode, 409, `${JSON.stringify(body)}: ${r.body}`);
      assert.match(r.json().detail, /last enabled admin/);
      assert.equal(r.json().field, field);
    }
    const del = await f.req('DELETE', url, { token: f.tokens.admin, headers: { 'if-match': '*' } });
    assert.equal(del.statusCode, 409, del.body);
    const still = (await f.req('GET', url, { token: f.tokens.admin })).json();
    assert.deepEqual([still.role, still.disabled], ['admin', false]);
    assert.equal((await login(f, 'admin')).res.statusCode, 303, 'and can still sign in');

    // A second admin makes it possible, from the console too.
    const second = await f.req('POST', '/api/v1/users', { token: f.tokens.admin, body: { username: 'backup', password: 'backup password', role: 'admin' } });
    assert.equal(second.statusCode, 201, second.body);
    const { jar } = await login(f, 'backup', 'backup password');
    const off = await postForm(f, jar, `/admin/users/${admin.id}/disabled`, [['disabled', '1']]);
    assert.equal(off.statusCode, 303, off.body);
    // Now "backup" is the last one: the API refuses to demote it.
    const last = await f.req('PATCH', `/api/v1/users/${second.json().id}`, { token: f.tokens.admin, body: { role: 'viewer' }, headers: { 'if-match': '*' } });
    assert.equal(last.statusCode, 409);
    // A viewer changing is none of this rule's business.
    const victor = users.find((u) => u.username === 'victor')!;
    assert.equal((await f.req('PATCH', `/api/v1/users/${victor.id}`, { token: f.tokens.admin, body: { disabled: true }, headers: { 'if-match': '*' } })).statusCode, 200);
  } finally {
    await f.close();
  }
});
