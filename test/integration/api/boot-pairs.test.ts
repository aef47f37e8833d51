// An image × transport pair no version can boot (the planner's rule, as `apply` checks it) is a
// 400 on transport through the API, wherever it is made: on the image, on a branch's default
// or menu, on a machine directly or by inheritance. Nothing is written.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { makeFixture, macFor, type Fixture } from '../../unit/api/helpers.ts';

let f: Fixture;
before(async () => { f = await makeFixture(); });
after(async () => { await f.close(); });

const refused = (r: { statusCode: number; body: string; json(): { field?: string; detail?: string } }, re: RegExp) => {
  assert.equal(r.statusCode, 400, r.body);
  assert.equal(r.json().field, 'transport');
  assert.match(r.json().detail ?? '', re);
};

test('image, branch and machine writes refuse a pair the planner cannot boot', { timeout: 15_000 }, async () => {
  const admin = f.tokens.admin;
  refused(await f.req('POST', '/api/v1/images', { token: admin, body: { name: 'dr', flavor: 'dracut', transport: 'cifs' } }), /image "dr" \(dracut\) over cifs: dracut cannot boot a squashfs image from cifs/);
  assert.equal((await f.req('GET', '/api/v1/images/dr', { token: admin })).statusCode, 404, 'not created');
  assert.equal((await f.req('POST', '/api/v1/images', { token: admin, body: { name: 'dr', flavor: 'dracut' } })).statusCode, 201);
  refused(await f.req('PATCH', '/api/v1/images/dr', { token: admin, body: { transport: 'http-lazy' }, headers: { 'if-match': '*' } }), /dracut has no lazy http root/);

  refused(await f.req('PATCH', `/api/v1/branches/${f.branchA}`, { token: admin, body: { defaultImage: 'dr', transport: 'cifs' }, headers: { 'if-match': '*' } }), /image "dr" \(dracut\) over cifs/);
  assert.equal((await f.req('PATCH', `/api/v1/branches/${f.branchA}`, { token: admin, body: { defaultImage: 'dr' }, headers: { 'if-match': '*' } })).statusCode, 200);

  const url = `/api/v1/machines/${macFor(0, 0)}`;
  refused(await f.req('PATCH', url, { token: admin, body: { transport: 'cifs' }, headers: { 'if-match': '*' } }), /machine .*: image "dr" \(dracut\) over cifs/);
  assert.equal((await f.req('GET', url, { token: admin })).json().transport, null, 'nothing written');
  assert.equal((await f.req('PATCH', url, { token: admin, body: { transport: 'nfs' }, headers: { 'if-match': '*' } })).statusCode, 200, 'dracut over nfs boots');
  // The machine's own cifs with an image that can take it is fine.
  assert.equal((await f.req('PATCH', url, { token: admin, body: { image: 'debian', transport: 'cifs' }, headers: { 'if-match': '*' } })).statusCode, 200);
  refused(await f.req('POST', '/api/v1/machines/assign', { token: admin, body: { macs: [macFor(0, 0)], image: 'dr' } }), /over cifs/);
});
