import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPlanner } from '../../../src/boot/planner.ts';
import { markRootFetched } from '../../../src/model/boot-queries.ts';
import type { BootPlan } from '../../../src/boot/types.ts';
import type { BootEventInput } from '../../../src/events.ts';
import type { EventBus } from '../../../src/events.ts';
import { addBranch, addImage, addMachine, silentLog, tempDb, testConfig, type TestDb } from './fixtures.ts';

const MAC = 'aa:bb:cc:00:00:01';

function recorder() {
  const events: BootEventInput[] = [];
  return { events, bus: { record: (e: BootEventInput) => { events.push(e); } } as unknown as EventBus };
}

function img(p: BootPlan) {
  assert.equal(p.kind, 'image', p.kind === 'error' ? p.reason : p.kind);
  return p as Extract<BootPlan, { kind: 'image' }>;
}

describe('first file per firmware', { timeout: 20_000 }, () => {
  let t: TestDb;
  before(async () => {
    t = tempDb();
    const b = await addBranch(t.db, { name: 'lab', cidr: '10.1.0.0/24' });
    const b2 = await addBranch(t.db, { name: 'remote', server_tftp: '10.9.0.2' });
    await addMachine(t.db, { mac: MAC, branch_id: b });
    await addMachine(t.db, { mac: 'aa:bb:cc:00:00:02', branch_id: b2 });
  });
  after(() => t.close());
  const planner = () => createPlanner({ config: testConfig(), db: t.db, log: silentLog });

  test('BIOS gets undionly.kpxe from the address it reached', async () => {
    assert.deepEqual(await planner().firstFile({ mac: MAC, arch: 0, serverAddress: '10.1.0.1' }), { bootfile: 'undionly.kpxe', tftpServer: '10.1.0.1' });
    assert.equal((await planner().firstFile({ mac: MAC })).bootfile, 'undionly.kpxe');
  });
  test('the branch TFTP server wins as next-server', async () => {
    assert.equal((await planner().firstFile({ mac: 'aa:bb:cc:00:00:02', arch: 0, serverAddress: '10.1.0.1' })).tftpServer, '10.9.0.2');
  });
  test('UEFI x64 (7 and 9) gets boot.efiBinary', async () => {
    assert.equal((await planner().firstFile({ mac: MAC, arch: 7 })).bootfile, 'snponly.efi');
    assert.equal((await planner().firstFile({ mac: MAC, arch: 9 })).bootfile, 'snponly.efi');
    const p2 = createPlanner({ config: testConfig({ 'boot.efiBinary': 'ipxe.efi' }), db: t.db, log: silentLog });
    assert.equal((await p2.firstFile({ mac: MAC, arch: 7 })).bootfile, 'ipxe.efi');
  });
  test('ARM64 gets the arm64 build', async () => {
    assert.equal((await planner().firstFile({ mac: MAC, arch: 11 })).bootfile, 'arm64-efi/snponly.efi');
  });
  test('UEFI HTTP Boot gets a full URL and HTTPClient', async () => {
    assert.deepEqual(await planner().firstFile({ mac: MAC, arch: 16, httpBoot: true, serverAddress: '10.1.0.1' }),
      { bootfile: 'http://10.1.0.1:8080/boot/bin/snponly.efi', httpClient: true });
    assert.deepEqual(await planner().firstFile({ mac: MAC, arch: 19, httpBoot: true, serverAddress: '10.1.0.1' }),
      { bootfile: 'http://10.1.0.1:8080/boot/bin/arm64-efi/snponly.efi', httpClient: true });
    const pub = createPlanner({ config: testConfig({ 'http.publicUrl': 'http://boot.lab:80/' }), db: t.db, log: silentLog });
    assert.equal((await pub.firstFile({ mac: MAC, arch: 16 })).bootfile, 'http://boot.lab:80/boot/bin/snponly.efi');
  });
  test('iPXE gets its script URL', async () => {
    assert.deepEqual(await planner().firstFile({ mac: MAC, arch: 7, ipxe: true, serverAddress: '10.1.0.1' }), { bootfile: `http://10.1.0.1:8080/boot/${MAC}.ipxe` });
  });
  test('unknown architectures: closest or nothing, never a throw', async () => {
    const ff = await planner().firstFile({ mac: MAC, arch: 14 });
    assert.equal(ff.bootfile, '');
    assert.match(ff.unsupported ?? '', /architecture 14/);
    assert.equal((await planner().firstFile({ mac: MAC, arch: 5 })).bootfile, 'undionly.kpxe');
    for (const arch of [65535, 12, 25, 6]) await planner().firstFile({ mac: MAC, arch });
  });
});

describe('boot actions and inheritance', { timeout: 30_000 }, () => {
  let t: TestDb;
  let lab: number;
  let deb: number;
  const cfg = () => testConfig({ 'http.publicUrl': 'http://10.1.0.1:8080', 'boot.consoleArgs': 'console=ttyS0,115200n8', 'boot.exportDir': '/srv/branchboot' });
  before(async () => {
    t = tempDb();
    deb = await addImage(t.db, { name: 'debian', flavor: 'live-boot', kernel_args: 'quiet', current_version: 2 },
      [{ version: 1 }, { version: 2 }, { version: 3, state: 'importing' }, { version: 4, kernel: false }]);
    // As imported from Fedora's live ISO: LiveOS/squashfs.img.
    const fromIso = { root_kind: 'iso-squashfs', root_file: 'squashfs.img' };
    await addImage(t.db, { name: 'fedora', flavor: 'dracut' }, [{ version: 1, ...fromIso }, { version: 2, ...fromIso }, { version: 3, state: 'failed' }]);
    await addImage(t.db, { name: 'ubuntu', flavor: 'casper', transport: 'nfs' }, [{ version: 1, kernel_args: 'splash' }]);
    await addImage(t.db, { name: 'custom', flavor: 'custom', kernel_args: 'root=/dev/sda1 init=/bin/sh' }, [{ version: 1, initrd: false }]);
    await addImage(t.db, { name: 'tmpl', flavor: 'live-boot' }, [{ version: 1, template: '#!ipxe\necho {{image}} {{version}}\nkernel {{kernelUrl}} {{cmdline}}\nboot\n' }, { version: 2, template: '{{#if}}' }]);
    lab = await addBranch(t.db, { name: 'lab', cidr: '10.1.0.0/24', default_image: 'debian', kernel_args: 'lang=de', server_nbd: '10.1.0.5:10809' });
    await addMachine(t.db, { mac: 'aa:bb:cc:00:01:01', branch_id: lab });
    await addMachine(t.db, { mac: 'aa:bb:cc:00:01:02', branch_id: lab, image_version: 1, image_id: deb, kernel_args: 'lang=fr' });
    await addMachine(t.db, { mac: 'aa:bb:cc:00:01:03', branch_id: lab, action: 'local' });
    await addMachine(t.db, { mac: 'aa:bb:cc:00:01:04', branch_id: lab, action: 'once', once_pending: 1 });
    await addMachine(t.db, { mac: 'aa:bb:cc:00:01:05', branch_id: lab, transport: 'nbd' });
    await addMachine(t.db, { mac: 'aa:bb:cc:00:01:06', branch_id: lab, image_id: deb, image_version: 3 });
    await addMachine(t.db, { mac: 'aa:bb:cc:00:01:07', branch_id: lab, image_id: deb, image_version: 4 });
    await addMachine(t.db, { mac: 'aa:bb:cc:00:01:08', branch_id: null });
  });
  after(() => t.close());
  const planner = (events?: EventBus) => createPlanner({ config: cfg(), db: t.db, log: silentLog, events });

  test('image: the branch default at its current version, with every argument in order', async () => {
    const p = img(await planner().plan({ mac: 'aa:bb:cc:00:01:01', arch: 0 }));
    assert.deepEqual(p.image, { name: 'debian', version: 2, flavor: 'live-boot' });
    assert.equal(p.action, 'image');
    assert.equal(p.kernelUrl, 'http://10.1.0.1:8080/images/debian/2/vmlinuz');
    assert.equal(p.initrdUrl, 'http://10.1.0.1:8080/images/debian/2/initrd.img');
    assert.equal(p.cmdline, 'boot=live fetch=http://10.1.0.1:8080/images/debian/2/filesystem.squashfs BOOTIF=01-aa-bb-cc-00-01-01 console=ttyS0,115200n8 quiet lang=de');
    assert.deepEqual(p.root, { transport: 'http', location: 'http://10.1.0.1:8080/images/debian/2/filesystem.squashfs' });
    assert.match(p.script, /^#!ipxe\n/);
    assert.match(p.script, /\nkernel http:\/\/10\.1\.0\.1:8080\/images\/debian\/2\/vmlinuz initrd=initrd\.img boot=live .* BOOTIF=01-\$\{mac:hexhyp\} /);
    assert.match(p.script, /\ninitrd --name initrd\.img http:\/\/10\.1\.0\.1:8080\/images\/debian\/2\/initrd\.img/);
    assert.ok(!p.script.includes('&amp;') && !p.script.includes('&#x3D;'), 'never HTML-escaped');
  });

  test('machine image pinned to a version, machine args after branch args', async () => {
    const p = img(await planner().plan({ mac: 'aa:bb:cc:00:01:02' }));
    assert.equal(p.image.version, 1);
    assert.match(p.cmdline, /quiet lang=de lang=fr$/);
  });

  test('a pinned version that is not ready, or has no kernel, is an error plan', async () => {
    const r = recorder();
    const p = await planner(r.bus).plan({ mac: 'aa:bb:cc:00:01:06' });
    assert.equal(p.kind, 'error');
    assert.match((p as { reason: string }).reason, /version 3 is importing/);
    assert.match(p.script, /^#!ipxe\n/);
    assert.match(p.script, /version 3 is importing/);
    assert.match(p.script, /sanboot --no-describe --drive 0x80/);
    assert.equal(r.events[0]?.stage, 'plan.error');
    assert.equal(r.events[0]?.branchId, lab);
    const q = await planner().plan({ mac: 'aa:bb:cc:00:01:07' });
    assert.match((q as { reason: string }).reason, /has no kernel/);
  });

  test('local: UEFI exits to the firmware, BIOS boots the first disk', async () => {
    const p = await planner().plan({ mac: 'aa:bb:cc:00:01:03', arch: 7 });
    assert.equal(p.kind, 'local');
    assert.match(p.script, /iseq \$\{platform\} efi && goto localboot_efi/);
    assert.match(p.script, /:localboot_efi\nexit\n/);
    assert.match(p.script, /sanboot --no-describe --drive 0x80 \|\| exit/);
  });

  test('once: image while pending, local after the root was fetched', async () => {
    const p = img(await planner().plan({ mac: 'aa:bb:cc:00:01:04' }));
    assert.equal(p.action, 'once');
    assert.equal(await markRootFetched(t.db, 'aa:bb:cc:00:01:04'), true);
    assert.equal(await markRootFetched(t.db, 'aa:bb:cc:00:01:04'), false);
    const q = await planner().plan({ mac: 'aa:bb:cc:00:01:04' });
    assert.equal(q.kind, 'local');
    assert.equal((q as { action: string }).action, 'once');
  });

  test('transport: machine over branch over version over image', async () => {
    const p = img(await planner().plan({ mac: 'aa:bb:cc:00:01:05' }));
    assert.equal(p.cmdline.split(' ').slice(0, 2).join(' '), 'root=/dev/nbd0 nbdroot=10.1.0.5,debian@2,nbd0');
    await t.db.updateTable('branches').set({ transport: 'http-lazy' }).where('id', '=', lab).execute();
    try {
      const q = img(await planner().plan({ mac: 'aa:bb:cc:00:01:01' }));
      assert.match(q.cmdline, /^boot=live httpfs=http:\/\/10\.1\.0\.1:8080\/images\/debian\/2\/filesystem\.squashfs /);
      // ubuntu (casper) cannot do http-lazy: explicit error
      await t.db.updateTable('branches').set({ default_image: 'ubuntu' }).where('id', '=', lab).execute();
      const e = await planner().plan({ mac: 'aa:bb:cc:00:01:01' });
      assert.equal(e.kind, 'error');
      assert.match((e as { reason: string }).reason, /casper has no lazy http root/);
    } finally {
      await t.db.updateTable('branches').set({ transport: null, default_image: 'debian' }).where('id', '=', lab).execute();
    }
  });

  test('casper over nfs from the image transport, version args replace image args', async () => {
    const b = await addBranch(t.db, { name: 'casperlab', default_image: 'ubuntu', server_nfs: '10.2.0.9:/exports/bb' });
    const p = img(await planner().plan({ mac: 'aa:bb:cc:00:02:01', branchId: b }));
    assert.equal(p.cmdline, 'boot=casper netboot=nfs nfsroot=10.2.0.9:/exports/bb/ubuntu/1 ignore_uuid ip=dhcp BOOTIF=01-aa-bb-cc-00-02-01 console=ttyS0,115200n8 splash');
  });

  test('unknown machines get the branch default (by DHCP hint or by subnet)', async () => {
    assert.equal(img(await planner().plan({ mac: 'aa:bb:cc:00:09:09', branchId: lab })).image.name, 'debian');
    assert.equal(img(await planner().plan({ mac: 'aa:bb:cc:00:09:09', clientIp: '10.1.0.77' })).image.name, 'debian');
  });

  test('no branch: error plan, recorded', async () => {
    const r = recorder();
    for (const c of [{ mac: 'aa:bb:cc:00:01:08' }, { mac: 'aa:bb:cc:00:09:0a', clientIp: '192.168.1.1' }]) {
      const p = await planner(r.bus).plan(c);
      assert.equal(p.kind, 'error');
      assert.match((p as { reason: string }).reason, /no branch/);
    }
    assert.deepEqual(r.events.map((e) => e.stage), ['plan.error', 'plan.error']);
    const q = recorder();
    await planner(q.bus).plan({ mac: 'aa:bb:cc:00:01:08', preview: true });
    assert.equal(q.events.length, 0, 'previews record nothing');
  });

  test('newest ready version when the image has no current version; failed ones are skipped', async () => {
    const b = await addBranch(t.db, { default_image: 'fedora' });
    const p = img(await planner().plan({ mac: 'aa:bb:cc:00:03:01', branchId: b }));
    assert.equal(p.image.version, 2);
    assert.equal(p.cmdline, 'root=live:http://10.1.0.1:8080/images/fedora/2/squashfs.img rd.live.image rd.live.overlay.overlayfs=1 rd.neednet=1 ip=dhcp BOOTIF=01-aa-bb-cc-00-03-01 console=ttyS0,115200n8');
    const b2 = await addBranch(t.db, { default_image: 'fedora@1' });
    assert.equal(img(await planner().plan({ mac: 'aa:bb:cc:00:03:02', branchId: b2 })).image.version, 1);
    const b3 = await addBranch(t.db, { default_image: 'fedora@3' });
    assert.match(((await planner().plan({ mac: 'aa:bb:cc:00:03:03', branchId: b3 })) as { reason: string }).reason, /version 3 is failed/);
    const b4 = await addBranch(t.db, { default_image: 'nope' });
    assert.match(((await planner().plan({ mac: 'aa:bb:cc:00:03:04', branchId: b4 })) as { reason: string }).reason, /"nope" does not exist/);
    const b5 = await addBranch(t.db, { default_image: 'fedora', transport: 'cifs' });
    assert.match(((await planner().plan({ mac: 'aa:bb:cc:00:03:05', branchId: b5 })) as { reason: string }).reason, /dracut cannot boot a squashfs image from cifs/);
    const b6 = await addBranch(t.db, { default_image: null });
    assert.match(((await planner().plan({ mac: 'aa:bb:cc:00:03:06', branchId: b6 })) as { reason: string }).reason, /has no default image/);
  });

  test('custom flavor: only the admin\'s arguments, no initrd needed', async () => {
    const b = await addBranch(t.db, { default_image: 'custom' });
    const p = img(await planner().plan({ mac: 'aa:bb:cc:00:04:01', branchId: b }));
    assert.equal(p.cmdline, 'console=ttyS0,115200n8 root=/dev/sda1 init=/bin/sh');
    assert.equal(p.initrdUrl, '');
    assert.ok(!/\ninitrd /.test(p.script), p.script);
  });

  test('menu: branch images with timeout and default; missing ones shown as unavailable', async () => {
    const b = await addBranch(t.db, { name: 'menulab', default_action: 'menu', default_image: 'fedora', menu_images: ['debian', 'fedora', 'ghost'], menu_timeout_s: 7 });
    const p = await planner().plan({ mac: 'aa:bb:cc:00:05:01', branchId: b });
    assert.equal(p.kind, 'menu');
    assert.match(p.script, /^#!ipxe\n(#.*\n)*menu branchboot - menulab\n/);
    assert.match(p.script, /\nitem img0 debian v2\n/);
    assert.match(p.script, /\nitem img1 fedora v2\n/);
    assert.match(p.script, /\nitem --gap ghost \(unavailable: menu image ghost does not exist\)\n/);
    assert.match(p.script, /\nchoose --timeout 7000 --default img1 target \|\| goto local\n/);
    assert.match(p.script, /\n:img0\n.*\nkernel http:\/\/10\.1\.0\.1:8080\/images\/debian\/2\/vmlinuz initrd=initrd\.img boot=live/);
    assert.match(p.script, /\n:local\n/);
    const e = await addBranch(t.db, { default_action: 'menu' });
    assert.equal((await planner().plan({ mac: 'aa:bb:cc:00:05:02', branchId: e })).kind, 'error');
  });

  test('an image version\'s own template; a broken one is an error plan', async () => {
    const b = await addBranch(t.db, { default_image: 'tmpl@1' });
    const p = img(await planner().plan({ mac: 'aa:bb:cc:00:06:01', branchId: b }));
    assert.equal(p.script.split('\n')[1], 'echo tmpl 1');
    assert.match(p.script, /^kernel http:\/\/10\.1\.0\.1:8080\/images\/tmpl\/1\/vmlinuz boot=live /m);
    const b2 = await addBranch(t.db, { default_image: 'tmpl@2' });
    const q = await planner().plan({ mac: 'aa:bb:cc:00:06:02', branchId: b2 });
    assert.equal(q.kind, 'error');
    assert.match((q as { reason: string }).reason, /template error/);
  });

  test('a broken database gives an error plan, not an exception', async () => {
    const u = tempDb();
    const pl = createPlanner({ config: cfg(), db: u.db, log: silentLog });
    await u.close();
    const p = await pl.plan({ mac: MAC, arch: 0 });
    assert.equal(p.kind, 'error');
    assert.equal((await pl.firstFile({ mac: MAC, arch: 7 })).bootfile, 'snponly.efi');
    // TFTP still gets a file: boot the local disk, and say why.
    const f = (await pl.generatedFile('pxelinux.cfg/01-aa-bb-cc-00-00-01', { ip: '10.1.0.9' }))?.toString() ?? '';
    assert.match(f, /SAY branchboot cannot boot this machine: /);
    assert.match(f, /LOCALBOOT 0/);
  });
});

describe('SMBIOS UUID', { timeout: 20_000 }, () => {
  test('a registered PC booting from another NIC is still itself; placeholder UUIDs are not', async () => {
    const t = tempDb();
    try {
      const b = await addBranch(t.db, { default_image: 'debian' });
      const other = await addBranch(t.db, { default_action: 'local' });
      await addImage(t.db, { name: 'debian', flavor: 'live-boot' }, [{ version: 1 }]);
      await addMachine(t.db, { mac: 'aa:bb:cc:00:00:01', branch_id: b });
      await t.db.updateTable('machines').set({ uuid: '4c4c4544-0042-3510-8052-b4c04f4e4c31' }).execute();
      // The second NIC, as DHCP recorded it: discovered, in whatever branch its packet came from.
      await addMachine(t.db, { mac: 'aa:bb:cc:00:00:02', branch_id: other });
      await t.db.updateTable('machines').set({ state: 'discovered', uuid: '4c4c4544-0042-3510-8052-b4c04f4e4c31' }).where('mac', '=', 'aa:bb:cc:00:00:02').execute();
      const planner = createPlanner({ config: testConfig(), db: t.db, log: silentLog });
      assert.equal((await planner.plan({ mac: 'aa:bb:cc:00:00:02', uuid: '4c4c4544-0042-3510-8052-b4c04f4e4c31' })).kind, 'image');
      assert.equal((await planner.plan({ mac: 'aa:bb:cc:00:00:02' })).kind, 'local');
      await t.db.updateTable('machines').set({ uuid: '03000200-0400-0500-0006-000700080009' }).execute();
      assert.equal((await planner.plan({ mac: 'aa:bb:cc:00:00:02', uuid: '03000200-0400-0500-0006-000700080009' })).kind, 'local');
    } finally {
      await t.close();
    }
  });
});
