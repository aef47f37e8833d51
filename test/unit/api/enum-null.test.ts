// A nullable choice (a machine's action or transport may be null: inherit) names null among the
// values it takes; join() wrote null as nothing: "must be one of image, local, menu, once, ".
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { makeFixture, type Fixture } from './helpers.ts';

let f: Fixture;
before(async () => { f = await makeFixture({ machinesPerBranch: 1, users: false }); });
after(async () => { await f.close(); });

test('a bad value of a nullable choice lists null as a value', async () => {
  const mac = '02:00:00:00:00:01';
  for (const [body, detail] of [
    [{ action: 'reboot' }, 'action must be one of image, local, menu, once, null'],
    [{ transport: 'ftp' }, 'transport must be one of http, http-lazy, nfs, cifs, nbd, null'],
  ] as const) {
    const r = await f.req('PATCH', `/api/v1/machines/${mac}`, { token: f.tokens.admin, body });
    assert.equal(r.statusCode, 400, r.body);
    assert.equal(r.json().detail, detail);
  }
});
