// Fast checks (no root, no VM) of the pieces the VM cases lean on, so a broken helper shows up
// as itself rather than as a VM that never prints its marker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeCpio } from '../helpers/vm/cpio.ts';
import { ipxeGaveUp, procCmdlineArgs, scriptKernelArgs } from '../helpers/vm/scenario.ts';
import { machineTimeline } from '../helpers/vm/run-case.ts';
import { readBootOutcome } from '../helpers/vm/console.ts';
import { plainConsole } from '../helpers/vm/qemu.ts';
import type { TimelineEvent } from '../helpers/vm/timeline.ts';

test('cpio: busybox cpio reads back directories, files, symlinks and the console node', (t) => {
  if (spawnSync('busybox', ['cpio', '--help'], { encoding: 'utf8' }).error) return t.skip('no busybox');
  const archive = writeCpio([
    { type: 'file', path: '/bin/hello', data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
    { type: 'dir', path: '/bin' },
    { type: 'symlink', path: '/bin/sh', target: 'busybox' },
    { type: 'chardev', path: '/dev/console', major: 5, minor: 1 },
    { type: 'dir', path: '/dev' },
    { type: 'file', path: '/odd', data: Buffer.from('abc') },
  ]);
  const list = spawnSync('busybox', ['cpio', '-t', '-v'], { input: archive, encoding: 'utf8' });
  assert.equal(list.status, 0, list.stderr);
  const lines = list.stdout.trim().split('\n');
  // Parents come before children (the kernel's unpacker does not create missing folders).
  assert.ok(lines.findIndex((l) => / bin$/.test(l)) < lines.findIndex((l) => / bin\/hello$/.test(l)));
  assert.match(list.stdout, /^crw------- .* dev\/console$/m);
  assert.match(list.stdout, /^lrwxrwxrwx .* bin\/sh -> busybox$/m);
  assert.match(list.stdout, /^-rwxr-xr-x .* bin\/hello$/m);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bbt-cpio-'));
  try {
    const x = spawnSync('busybox', ['cpio', '-i', '-d'], { input: writeCpio([{ type: 'file', path: '/a/b', data: Buffer.from('xyz1') }]), cwd: dir, encoding: 'utf8' });
    assert.equal(x.status, 0, x.stderr);
    assert.equal(fs.readFileSync(path.join(dir, 'a', 'b'), 'utf8'), 'xyz1');
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test('scriptKernelArgs: the arguments of the kernel line, MAC filled in, iPXE options and || chains dropped', () => {
  const script = '#!ipxe\necho x\nkernel --name vmlinuz http://10.0.0.1/images/a/1/vmlinuz initrd=initrd.img root=/dev/nbd0 BOOTIF=01-${mac:hexhyp} quiet || goto failed\ninitrd --name initrd.img http://x/i\n';
  assert.deepEqual(scriptKernelArgs(script, '52:54:00:AA:bb:01'), ['initrd=initrd.img', 'root=/dev/nbd0', 'BOOTIF=01-52-54-00-aa-bb-01', 'quiet']);
  assert.deepEqual(scriptKernelArgs('#!ipxe\nkernel http://x/vmlinuz\n', 'aa:bb:cc:dd:ee:ff'), []);
});

test('procCmdlineArgs: UEFI puts the image name first, BIOS does not', () => {
  assert.deepEqual(procCmdlineArgs('vmlinuz initrd=initrd.img quiet', 'uefi'), ['initrd=initrd.img', 'quiet']);
  assert.deepEqual(procCmdlineArgs('initrd=initrd.img quiet', 'bios'), ['initrd=initrd.img', 'quiet']);
  assert.deepEqual(procCmdlineArgs('initrd=initrd.img quiet', 'uefi'), ['initrd=initrd.img', 'quiet']);
});

test('readBootOutcome and plainConsole: markers through ANSI paint and CRLF', () => {
  const raw = '\x1bc\x1b[?7l\x1b[2JSeaBIOS\r\nbbtest: x\r\nBBTEST-ROOT-SOURCE: nbd 10.0.0.1 a@1 /dev/nbd0 4096 bytes\r\nBBTEST-MARKER: m-1\r\nBBTEST-CMDLINE: a=1 b\r\n';
  assert.equal(plainConsole(raw).split('\n')[0], 'SeaBIOS');
  assert.deepEqual(readBootOutcome(raw), { marker: 'm-1', cmdline: 'a=1 b', rootSource: 'nbd 10.0.0.1 a@1 /dev/nbd0 4096 bytes' });
  assert.equal(readBootOutcome('BBTEST-FAIL: udhcpc got no lease on eth0\n').failure, 'udhcpc got no lease on eth0');
});

test('ipxeGaveUp: the script retry loop twice, or the firmware giving up', () => {
  assert.equal(ipxeGaveUp('branchboot: could not load x v1; retrying in 10 s\n'), false);
  assert.equal(ipxeGaveUp('could not load x\n...\ncould not load x\n'), true);
  assert.equal(ipxeGaveUp('No more network devices\n'), true);
  assert.equal(ipxeGaveUp('BBTEST-MARKER: ok\n'), false);
});

test('machineTimeline: MAC-tagged events plus MAC-less ones from the same address, after the start', () => {
  const ev = (id: number, mac: string | null, ip: string | null, stage: string, at = 1000 + id): TimelineEvent => ({ id, at, mac, ip, stage, detail: '{}' });
  const events = [
    ev(1, null, '10.0.0.1', 'http.kernel', 10),            // before the boot (the test's own precheck)
    ev(2, 'aa:bb:cc:dd:ee:01', null, 'dhcp.offer'),
    ev(3, 'aa:bb:cc:dd:ee:01', '10.0.0.61', 'http.script'),
    ev(4, null, '10.0.0.61', 'http.kernel'),
    ev(5, null, '10.0.0.62', 'http.kernel'),                // someone else
    ev(6, 'AA:BB:CC:DD:EE:02', '10.0.0.62', 'http.script'),
  ];
  const tl = machineTimeline(events, 'aa:bb:cc:dd:ee:01', 1000);
  assert.deepEqual(tl.events.map((e) => e.id), [2, 3, 4]);
  assert.equal(tl.byIpOnly, 1);
  assert.deepEqual(machineTimeline(events, 'aa:bb:cc:dd:ee:02', 1000).events.map((e) => e.id), [5, 6]);
});
