import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firmwareOf, bootBinary } from '../../../src/boot/firmware.ts';
import { classifyImagePath } from '../../../src/boot/fetch-events.ts';
import { bootText, grubPath, loadBootTemplates } from '../../../src/boot/templates.ts';
import { endpointsFor } from '../../../src/boot/endpoints.ts';
import { parseImageRef } from '../../../src/model/inventory/normal.ts';
import { testConfig } from './fixtures.ts';

test('option 93 → firmware', () => {
  const cases: [number | undefined, boolean, string][] = [
    [0, false, 'bios'], [undefined, false, 'bios'], [6, false, 'uefi-ia32'], [7, false, 'uefi-x64'], [9, false, 'uefi-x64'],
    [10, false, 'uefi-arm32'], [11, false, 'uefi-arm64'], [16, true, 'uefi-x64-http'], [19, true, 'uefi-arm64-http'],
    [16, false, 'uefi-x64-http'], [7, true, 'uefi-x64-http'], [11, true, 'uefi-arm64-http'], [undefined, true, 'uefi-x64-http'],
    [14, false, 'unknown'], [65535, false, 'unknown'], [-1, false, 'unknown'], [5, false, 'bios'],
  ];
  for (const [arch, http, fw] of cases) assert.equal(firmwareOf(arch, http), fw, `${arch} ${http}`);
  assert.equal(bootBinary('uefi-arm32', 'snponly.efi'), undefined);
  assert.equal(bootBinary('uefi-ia32', 'ipxe.efi'), 'i386-efi/ipxe.efi');
  assert.equal(bootBinary('uefi-arm64', 'snponly.efi', (f) => f === 'arm64-efi/ipxe.efi'), 'arm64-efi/ipxe.efi', 'the other build when only it is there');
  assert.equal(bootBinary('uefi-arm64', 'snponly.efi', () => false), 'arm64-efi/snponly.efi');
});

test('image paths → boot steps', () => {
  assert.deepEqual(classifyImagePath('/images/deb%20ian/3/vmlinuz'), { kind: 'kernel', image: 'deb ian', version: '3' });
  assert.deepEqual(classifyImagePath('/images/d/current/initrd.img'), { kind: 'initrd', image: 'd', version: 'current' });
  assert.deepEqual(classifyImagePath('/images/d/2/filesystem.squashfs?x=1'), { kind: 'root', image: 'd', version: '2' });
  for (const p of ['/images/d/2.caibx', '/images/d/default.castr/abcd/abcd1234.cacnk', '/images/%zz/2/vmlinuz', '/boot/x.ipxe', '/images/d/x/vmlinuz']) {
    assert.equal(classifyImagePath(p), undefined, p);
  }
});

test('boot text cannot inject iPXE or GRUB syntax', () => {
  assert.equal(bootText("a ${x} || reboot && 'q'\nnext"), 'a x reboot q next');
  assert.equal(grubPath('http://10.0.0.1:8080/images/a/1/vmlinuz'), '(http,10.0.0.1,8080)/images/a/1/vmlinuz');
  assert.equal(grubPath('http://mirror/images/a/1/vmlinuz'), '(http,mirror)/images/a/1/vmlinuz');
});

test('templates: never HTML-escaped; overrides compiled once; errors surface', () => {
  const t = loadBootTemplates();
  const s = t.render('ipxe-error', { mac: 'm', reason: 'a<b & "c"', scriptUrl: 'http://x/?a=1&b=2', waitMs: 1, waitSeconds: 1 });
  assert.ok(s.includes('a<b & "c"') && s.includes('?a=1&b=2'));
  assert.equal(t.renderOverride('#!ipxe\necho {{x}} & {{y}}\n', { x: '<', y: '>' }), '#!ipxe\necho < & >\n');
  assert.throws(() => t.renderOverride('{{#each}}', {}));
  assert.throws(() => t.renderOverride('#!ipxe\necho {{missing}}\n', {}), /missing/, 'strict: a typo is an error, not an empty string');
});

test('endpoints: branch servers first, then this server', () => {
  const cfg = testConfig({ 'boot.exportDir': '/srv/bb' });
  const none = endpointsFor(cfg, undefined, '::ffff:10.0.0.1');
  assert.equal(none.selfBase, 'http://10.0.0.1:8080');
  assert.equal(none.httpBase, 'http://10.0.0.1:8080');
  assert.deepEqual(none.nbd, { host: '10.0.0.1', port: 10809 });
  assert.deepEqual(none.nfs, { host: '10.0.0.1', path: '/srv/bb' });
  assert.deepEqual(none.cifs, { host: '10.0.0.1', share: 'branchboot' });
  const branch = {
    server_http: 'http://mirror:81/', server_tftp: '10.5.0.2', server_nbd: '10.5.0.3:10900', server_nfs: '10.5.0.4:/exports/bb', server_cifs: '\\\\10.5.0.5\\bb\\lab',
  } as Parameters<typeof endpointsFor>[1];
  const e = endpointsFor(cfg, branch, '10.0.0.1');
  assert.equal(e.httpBase, 'http://mirror:81');
  assert.equal(e.selfBase, 'http://10.0.0.1:8080', 'scripts always from this server');
  assert.equal(e.tftpServer, '10.5.0.2');
  assert.deepEqual(e.nbd, { host: '10.5.0.3', port: 10900 });
  assert.deepEqual(e.nfs, { host: '10.5.0.4', path: '/exports/bb', branch: true });
  assert.deepEqual(e.cifs, { host: '10.5.0.5', share: 'bb/lab' });
  const pub = endpointsFor(testConfig({ 'http.publicUrl': 'http://boot.example:8080/' }), undefined, undefined);
  assert.equal(pub.selfBase, 'http://boot.example:8080');
  assert.equal(pub.nbd.host, 'boot.example');
});

test('image references', () => {
  assert.deepEqual(parseImageRef('debian'), { name: 'debian', version: null });
  assert.deepEqual(parseImageRef('debian@12'), { name: 'debian', version: 12 });
  // What apply, the API and the console accept is all the planner takes (it had a looser grammar of its own).
  assert.equal(parseImageRef('a@b'), undefined);
  assert.equal(parseImageRef('  '), undefined);
});
