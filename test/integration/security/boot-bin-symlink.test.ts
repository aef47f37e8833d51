// /boot/bin/* serves the TFTP roots over HTTP (UEFI HTTP Boot). A symlink inside a root that
// points out of it must be refused as TFTP refuses it (src/tftp/files.ts lookupInRoots): a
// lab desktop could otherwise read any file the appliance can through a link an admin left.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { makeFixture, type Fixture } from '../../unit/api/helpers.ts';

let f: Fixture;
let root: string;
before(async () => {
  f = await makeFixture({ machinesPerBranch: 1, users: false });
  root = path.join(f.dir, 'tftp');
  fs.mkdirSync(path.join(root, 'efi'), { recursive: true });
  fs.writeFileSync(path.join(root, 'ipxe.efi'), 'IPXE');
  fs.writeFileSync(path.join(f.dir, 'secret.txt'), 'SECRET');
  fs.symlinkSync(path.join(f.dir, 'secret.txt'), path.join(root, 'leak.efi'));
  fs.symlinkSync(f.dir, path.join(root, 'up'));
  fs.symlinkSync(path.join(root, 'ipxe.efi'), path.join(root, 'efi', 'inside.efi'));
  (f.ctx.config.tftp as { roots: string[] }).roots = [root];
});
after(async () => { await f.close(); });

test('/boot/bin serves files in the root and links that stay inside it', async () => {
  const r = await f.app.inject({ method: 'GET', url: '/boot/bin/ipxe.efi' });
  assert.equal(r.statusCode, 200);
  assert.equal(r.body, 'IPXE');
  const inside = await f.app.inject({ method: 'GET', url: '/boot/bin/efi/inside.efi' });
  assert.equal(inside.statusCode, 200);
  assert.equal(inside.body, 'IPXE');
});

test('/boot/bin refuses a symlink to a file or folder outside its root', async () => {
  for (const url of ['/boot/bin/leak.efi', '/boot/bin/up/secret.txt']) {
    const r = await f.app.inject({ method: 'GET', url });
    assert.equal(r.statusCode, 404, url);
    assert.doesNotMatch(r.body, /SECRET/, url);
  }
});

test('/boot/bin refuses traversal in every spelling', async () => {
  for (const url of ['/boot/bin/../secret.txt', '/boot/bin/%2e%2e/secret.txt', '/boot/bin/%2e%2e%2fsecret.txt', '/boot/bin/..%5csecret.txt',
    '/boot/bin//etc/passwd', '/boot/bin/%2fetc%2fpasswd', '/boot/bin/ipxe.efi%00', '/boot/bin/./ipxe.efi/..', `/boot/bin/${'a'.repeat(5000)}`]) {
    const r = await f.app.inject({ method: 'GET', url });
    assert.notEqual(r.statusCode, 200, url);
    assert.doesNotMatch(r.body, /SECRET|root:/, url);
  }
});
