import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openDatabase } from '../../../src/db/index.ts';
import { createToken, hashToken, revokeToken, verifyToken } from '../../../src/model/tokens.ts';
import { authenticateUser, createUser } from '../../../src/model/users.ts';
import { tempDir } from '../../helpers/cli.ts';

test('API tokens: shown once, only the hash stored, verified, revocable, last use stamped', async () => {
  const h = openDatabase(path.join(tempDir(), 'bb.db'));
  try {
    const { id, token } = await createToken(h.db, { name: 'ci', scopes: ['read', 'write'] });
    const row = await h.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    assert.equal(row.token_hash, hashToken(token));
    assert.ok(!JSON.stringify(row).includes(token), 'the token itself is not stored');
    const p = await verifyToken(h.db, token);
    assert.deepEqual(p && { name: p.name, scopes: p.scopes, branchId: p.branchId }, { name: 'ci', scopes: ['read', 'write'], branchId: null });
    const stamped = await h.db.selectFrom('api_tokens').select('last_used_at').where('id', '=', id).executeTakeFirstOrThrow();
    assert.ok(stamped.last_used_at !== null);
    assert.equal(await verifyToken(h.db, `${token}x`), undefined);
    assert.equal(await verifyToken(h.db, 'not-a-token'), undefined);
    assert.ok(await revokeToken(h.db, id));
    assert.equal(await verifyToken(h.db, token), undefined);
  } finally {
    await h.close();
  }
});

test('users: scrypt hashes, wrong passwords and unknown users refused', async () => {
  const h = openDatabase(path.join(tempDir(), 'bb.db'));
  try {
    await createUser(h.db, 'ada', 'correct horse battery', 'admin');
    const row = await h.db.selectFrom('users').selectAll().where('username', '=', 'ada').executeTakeFirstOrThrow();
    assert.match(row.password_hash, /^scrypt\$32768\$8\$1\$/);
    assert.ok(!row.password_hash.includes('correct horse'));
    assert.equal((await authenticateUser(h.db, 'ada', 'correct horse battery'))?.username, 'ada');
    assert.equal(await authenticateUser(h.db, 'ada', 'wrong'), undefined);
    assert.equal(await authenticateUser(h.db, 'nobody', 'correct horse battery'), undefined);
  } finally {
    await h.close();
  }
});
