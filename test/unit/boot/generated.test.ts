import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPlanner } from '../../../src/boot/planner.ts';
import { parseGeneratedName } from '../../../src/boot/generated.ts';
import { addBranch, addImage, addMachine, silentLog, tempDb, testConfig, type TestDb } from './fixtures.ts';

test('generated file names', () => {
  assert.deepEqual(parseGeneratedName('pxelinux.cfg/01-aa-bb-cc-dd-ee-ff'), { format: 'pxelinux', mac: 'aa:bb:cc:dd:ee:ff' });
  assert.deepEqual(parseGeneratedName('/pxelinux.cfg/01-AA-BB-CC-DD-EE-FF'), { format: 'pxelinux', mac: 'aa:bb:cc:dd:ee:ff' });
  assert.deepEqual(parseGeneratedName('pxelinux.cfg/default'), { format: 'pxelinux' });
  assert.equal(parseGeneratedName('pxelinux.cfg/C0A80001'), undefined, 'hex-IP and UUID names fall through to 01-<mac>');
  assert.deepEqual(parseGeneratedName('grub.cfg-01-aa-bb-cc-dd-ee-ff'), { format: 'grub', mac: 'aa:bb:cc:dd:ee:ff' });
  assert.deepEqual(parseGeneratedName('grub/grub.cfg-01-aa-bb-cc-dd-ee-ff'), { format: 'grub', mac: 'aa:bb:cc:dd:ee:ff' });
  assert.deepEqual(parseGeneratedName('grub\\grub.cfg'), { format: 'grub' });
  assert.deepEqual(parseGeneratedName('boot.ipxe'), { format: 'ipxe' });
  assert.deepEqual(parseGeneratedName('aa:bb:cc:dd:ee:ff.ipxe'), { format: 'ipxe', mac: 'aa:bb:cc:dd:ee:ff' });
  assert.deepEqual(parseGeneratedName('aabbccddeeff.ipxe'), { format: 'ipxe', mac: 'aa:bb:cc:dd:ee:ff' });
  for (const n of ['undionly.kpxe', 'snponly.efi', 'x.ipxe', 'grub.cfg-0A000001', '', '/', 'pxelinux.cfg/01-zz-bb-cc-dd-ee-ff']) assert.equal(parseGeneratedName(n), undefined, n);
});

describe('generatedFile', { timeout: 20_000 }, () => {
  let t: TestDb;
  before(async () => {
    t = tempDb();
    const b = await addBranch(t.db, { name: 'lab', default_image: 'debian', cidr: '10.1.0.0/24' });
    const m = await addBranch(t.db, { name: 'menus', default_action: 'menu', default_image: 'debian', menu_images: ['debian', 'fedora'], menu_timeout_s: 5 });
    await addImage(t.db, { name: 'debian', flavor: 'live-boot' }, [{ version: 2 }]);
    await addImage(t.db, { name: 'fedora', flavor: 'dracut' }, [{ version: 1 }]);
    await addMachine(t.db, { mac: 'aa:bb:cc:00:00:01', branch_id: b });
    await addMachine(t.db, { mac: 'aa:bb:cc:00:00:02', branch_id: b, action: 'local' });
    await addMachine(t.db, { mac: 'aa:bb:cc:00:00:03', branch_id: m });
    await addMachine(t.db, { mac: 'aa:bb:cc:00:00:04', branch_id: b, fixed_ip: '10.1.0.44' });
  });
  after(() => t.close());
  const planner = () => createPlanner({ config: testConfig({ 'http.publicUrl': 'http://10.1.0.1:8080' }), db: t.db, log: silentLog });

  test('pxelinux.cfg/01-<mac>: kernel, initrd, line without BOOTIF (IPAPPEND 2 adds it)', async () => {
    const f = (await planner().generatedFile('pxelinux.cfg/01-aa-bb-cc-00-00-01', { ip: '10.1.0.9' }))!.toString();
    assert.match(f, /^DEFAULT branchboot$/m);
    assert.match(f, /^ {2}KERNEL http:\/\/10\.1\.0\.1:8080\/images\/debian\/2\/vmlinuz$/m);
    assert.match(f, /^ {2}INITRD http:\/\/10\.1\.0\.1:8080\/images\/debian\/2\/initrd\.img$/m, f);
    assert.match(f, /^ {2}APPEND boot=live fetch=http:\/\/10\.1\.0\.1:8080\/images\/debian\/2\/filesystem\.squashfs$/m);
    assert.match(f, /^ {2}IPAPPEND 2$/m);
    assert.ok(!/^ *APPEND .*BOOTIF/m.test(f));
    const local = (await planner().generatedFile('pxelinux.cfg/01-aa-bb-cc-00-00-02', { ip: '10.1.0.9' }))!.toString();
    assert.match(local, /LOCALBOOT 0/);
    const menu = (await planner().generatedFile('pxelinux.cfg/01-aa-bb-cc-00-00-03', { ip: '10.1.0.9' }))!.toString();
    assert.match(menu, /^TIMEOUT 50$/m);
    assert.match(menu, /^DEFAULT img0$/m);
    assert.match(menu, /^LABEL img1$/m);
  });

  test('grub.cfg-01-<mac> (and under grub/): GRUB http paths, literal BOOTIF', async () => {
    for (const name of ['grub.cfg-01-aa-bb-cc-00-00-01', 'grub/grub.cfg-01-aa-bb-cc-00-00-01']) {
      const f = (await planner().generatedFile(name, { ip: '10.1.0.9' }))!.toString();
      assert.match(f, /^ {2}linux \(http,10\.1\.0\.1,8080\)\/images\/debian\/2\/vmlinuz boot=live fetch=\S+ BOOTIF=01-aa-bb-cc-00-00-01$/m);
      assert.match(f, /^ {2}initrd \(http,10\.1\.0\.1,8080\)\/images\/debian\/2\/initrd\.img$/m);
    }
    const local = (await planner().generatedFile('grub.cfg-01-aa-bb-cc-00-00-02', { ip: '10.1.0.9' }))!.toString();
    assert.match(local, /grub_platform" = "efi" \]; then exit; else set root=\(hd0\); chainloader \+1; boot; fi/);
  });

  test('an image without an initrd (custom flavor): no empty INITRD / initrd line (GRUB: "filename expected", then a key press)', async () => {
    await addImage(t.db, { name: 'bare', flavor: 'custom', kernel_args: 'root=/dev/sda1' }, [{ version: 1, initrd: false }]);
    const b = await addBranch(t.db, { name: 'barelab', default_image: 'bare' });
    await addMachine(t.db, { mac: 'aa:bb:cc:00:00:05', branch_id: b });
    const px = (await planner().generatedFile('pxelinux.cfg/01-aa-bb-cc-00-00-05', { ip: '10.1.0.9' }))!.toString();
    assert.match(px, /^ {2}APPEND root=\/dev\/sda1$/m);
    assert.ok(!/INITRD/.test(px), px);
    const grub = (await planner().generatedFile('grub.cfg-01-aa-bb-cc-00-00-05', { ip: '10.1.0.9' }))!.toString();
    assert.match(grub, /^ {2}linux \(http,10\.1\.0\.1,8080\)\/images\/bare\/1\/vmlinuz root=\/dev\/sda1$/m);
    assert.ok(!/^\s*initrd/m.test(grub), grub);
  });

  test('boot.ipxe and <mac>.ipxe: the script; without a known MAC, a chain to ${mac}', async () => {
    const direct = (await planner().generatedFile('aa:bb:cc:00:00:01.ipxe', { ip: '10.1.0.9' }))!.toString();
    assert.match(direct, /^#!ipxe\n/);
    assert.match(direct, /images\/debian\/2\/vmlinuz/);
    const byMac = (await planner().generatedFile('boot.ipxe', { ip: '10.1.0.9', mac: 'aa:bb:cc:00:00:01' }))!.toString();
    assert.equal(byMac, direct);
    const byFixedIp = (await planner().generatedFile('boot.ipxe', { ip: '10.1.0.44' }))!.toString();
    assert.match(byFixedIp, /^#!ipxe\n/);
    const unknown = (await planner().generatedFile('boot.ipxe', { ip: '10.1.0.200' }))!.toString();
    assert.equal(unknown, '#!ipxe\nchain --replace --autofree http://10.1.0.1:8080/boot/${mac}.ipxe\n');
    assert.equal(await planner().generatedFile('pxelinux.cfg/default', { ip: '10.1.0.200' }), undefined, 'no MAC, no config');
    assert.equal(await planner().generatedFile('undionly.kpxe', { ip: '10.1.0.9' }), undefined);
  });

  test('the tsize probe and the transfer get the same bytes even if the plan changes between them', async () => {
    const p = planner();
    const a = await p.generatedFile('grub.cfg-01-aa-bb-cc-00-00-01', { ip: '10.1.0.9' });
    await t.db.updateTable('machines').set({ action: 'local' }).where('mac', '=', 'aa:bb:cc:00:00:01').execute();
    try {
      const b = await p.generatedFile('grub.cfg-01-aa-bb-cc-00-00-01', { ip: '10.1.0.9' });
      assert.equal(b!.length, a!.length);
      assert.ok(b!.equals(a!));
      const fresh = await planner().generatedFile('grub.cfg-01-aa-bb-cc-00-00-01', { ip: '10.1.0.9' });
      assert.ok(!fresh!.equals(a!), 'a new planner (or 10 s later) sees the new plan');
    } finally {
      await t.db.updateTable('machines').set({ action: null }).where('mac', '=', 'aa:bb:cc:00:00:01').execute();
    }
  });
});
