// The first file per firmware: is it where the plan points? With Debian's ipxe package (the
// default tftp.roots), the x86 binaries are; ARM64 and IA32 builds are the admin's to add. When a
// binary is in no root, the machine only shows "file not found": the log must say what to install.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { createPlanner } from '../../../src/boot/planner.ts';
import type { Logger } from '../../../src/log.ts';
import { addBranch, addMachine, tempDb, testConfig } from './fixtures.ts';

function capture(): { log: Logger; lines: () => { msg: string; file?: string }[] } {
  const out: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => { out.push(s); } } as unknown as pino.DestinationStream) as unknown as Logger;
  return { log, lines: () => out.map((l) => JSON.parse(l) as { msg: string; file?: string }) };
}

// client arch (option 93), vendor class HTTPClient → the file the firmware asks for
const ARCHES: [number, boolean, string][] = [
  [0, false, 'undionly.kpxe'], [7, false, 'snponly.efi'], [9, false, 'snponly.efi'], [16, true, 'snponly.efi'],
  [11, false, 'arm64-efi/snponly.efi'], [19, true, 'arm64-efi/snponly.efi'], [6, false, 'i386-efi/snponly.efi'],
];

test('no iPXE binaries installed: each missing first file is one clear warning, not silence', async () => {
  const t = tempDb();
  const empty = path.join(t.dir, 'tftp');
  fs.mkdirSync(empty);
  try {
    const b = await addBranch(t.db, { name: 'lab', cidr: '10.1.0.0/24' });
    const remote = await addBranch(t.db, { name: 'remote', server_tftp: '10.9.0.2' });
    await addMachine(t.db, { mac: 'aa:bb:cc:0f:00:01', branch_id: b });
    await addMachine(t.db, { mac: 'aa:bb:cc:0f:00:02', branch_id: remote });
    const c = capture();
    const planner = createPlanner({ config: testConfig({ 'tftp.roots': [empty] }), db: t.db, log: c.log });
    for (const [arch, httpBoot, file] of ARCHES) {
      const ff = await planner.firstFile({ mac: 'aa:bb:cc:0f:00:01', arch, httpBoot, serverAddress: '10.1.0.1' });
      assert.equal(ff.bootfile, httpBoot ? `http://10.1.0.1:8080/boot/bin/${file}` : file);
      await planner.firstFile({ mac: 'aa:bb:cc:0f:00:01', arch, httpBoot, serverAddress: '10.1.0.1' });
    }
    const warned = c.lines().filter((l) => l.msg.startsWith('boot: '));
    // One per distinct file, however many DISCOVERs ask.
    assert.deepEqual(warned.map((l) => l.file), ['undionly.kpxe', 'snponly.efi', 'arm64-efi/snponly.efi', 'i386-efi/snponly.efi']);
    assert.match(warned[0]!.msg, new RegExp(`undionly\\.kpxe, which is in none of tftp.roots \\(${empty}\\): they will get "file not found"; install Debian's ipxe package`));
    assert.match(warned[2]!.msg, /put an iPXE build for this architecture there as arm64-efi\/snponly\.efi/);
    // A branch served by its own TFTP server: its files are not ours to check.
    const c2 = capture();
    const p2 = createPlanner({ config: testConfig({ 'tftp.roots': [empty] }), db: t.db, log: c2.log });
    assert.deepEqual(await p2.firstFile({ mac: 'aa:bb:cc:0f:00:02', arch: 0, serverAddress: '10.1.0.1' }), { bootfile: 'undionly.kpxe', tftpServer: '10.9.0.2' });
    assert.deepEqual(c2.lines(), []);
  } finally {
    await t.close();
  }
});

test('with Debian\'s ipxe package in the default root, every x86 first file is there', async (t) => {
  const root = '/usr/lib/ipxe';
  if (!fs.existsSync(path.join(root, 'undionly.kpxe'))) return t.skip('Debian package ipxe is not installed');
  const db = tempDb();
  try {
    const b = await addBranch(db.db, { name: 'lab' });
    await addMachine(db.db, { mac: 'aa:bb:cc:0f:01:01', branch_id: b });
    const c = capture();
    const config = testConfig();
    assert.deepEqual(config.tftp.roots, [root], 'the default tftp.roots');
    for (const efiBinary of ['snponly.efi', 'ipxe.efi']) {
      const planner = createPlanner({ config: testConfig({ 'boot.efiBinary': efiBinary }), db: db.db, log: c.log });
      for (const [arch, httpBoot] of ARCHES.filter(([a]) => [0, 7, 9, 16].includes(a))) {
        const ff = await planner.firstFile({ mac: 'aa:bb:cc:0f:01:01', arch, httpBoot, serverAddress: '10.1.0.1' });
        const rel = ff.bootfile.replace(/^http:\/\/10\.1\.0\.1:8080\/boot\/bin\//, '');
        assert.ok(fs.statSync(path.join(root, rel)).size > 10_000, `arch ${arch}: ${rel} in ${root}`);
      }
    }
    assert.deepEqual(c.lines().filter((l) => l.msg.startsWith('boot: ')), []);
  } finally {
    await db.close();
  }
});
