// Every value an admin types (image descriptions, kernel arguments of image, branch and machine)
// read back the way iPXE reads a script line: core/exec.c splits at whitespace, ends a command
// at a word "||", "&&" or ";", and drops the rest from a word starting with "#" — before any
// ${…} is expanded, with no quoting. The real iPXE run of these scripts is
// test/integration/boot/ipxe-scripts.test.ts; this is its grammar, on every input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPlanner } from '../../../src/boot/planner.ts';
import { KERNEL_CMDLINE_MAX } from '../../../src/boot/cmdline-limits.ts';
import type { BootPlan } from '../../../src/boot/types.ts';
import { addBranch, addImage, addMachine, silentLog, tempDb, testConfig, type TestDb } from './fixtures.ts';

/** One script line → its commands, as iPXE's system() runs them (exec.c: split_command, command_terminator). */
function ipxeCommands(line: string): string[][] {
  const tokens = line.split(/\s+/).filter(Boolean);
  const out: string[][] = [];
  let cur: string[] = [];
  for (const tok of tokens) {
    if (tok.startsWith('#')) break;
    if (tok === '||' || tok === '&&' || tok === ';') { out.push(cur); cur = []; continue; }
    cur.push(tok);
  }
  out.push(cur);
  return out.filter((c) => c.length > 0);
}

/** The kernel line of an image script must be exactly: kernel URL initrd=initrd.img <cmdline> || goto failed. */
function assertKernelLine(p: Extract<BootPlan, { kind: 'image' }>): void {
  const line = p.script.split('\n').find((l) => l.startsWith('kernel '));
  assert.ok(line, p.script);
  const cmds = ipxeCommands(line);
  const ipxeLine = p.cmdline.replace(/BOOTIF=01-[0-9a-f-]{17}/, 'BOOTIF=01-${mac:hexhyp}');
  assert.deepEqual(cmds, [['kernel', p.kernelUrl, 'initrd=initrd.img', ...ipxeLine.split(' ')], ['goto', 'failed']], line);
}

let t: TestDb;
let branch: number;
let n = 0;
const planner = () => createPlanner({ config: testConfig({ 'boot.consoleArgs': 'console=ttyS0,115200n8' }), db: t.db, log: silentLog });

before(async () => {
  t = tempDb();
  await addImage(t.db, { name: 'deb', flavor: 'live-boot', description: 'Lab build ; beta # 2 && more || less', kernel_args: 'quiet splash' }, [{ version: 1 }]);
  branch = await addBranch(t.db, { name: 'lab', cidr: '10.1.0.0/24', kernel_args: 'lang=de_DE.UTF-8 keyboard-layouts=de', menu_images: ['deb'], default_action: 'menu' });
});
after(() => t.close());

async function planWith(kernelArgs: string): Promise<BootPlan> {
  const mac = `aa:bb:cc:0e:00:${(++n).toString(16).padStart(2, '0')}`;
  const image = await t.db.selectFrom('images').select('id').where('name', '=', 'deb').executeTakeFirstOrThrow();
  await addMachine(t.db, { mac, branch_id: branch, image_id: image.id, action: 'image', kernel_args: kernelArgs });
  return planner().plan({ mac, serverAddress: '10.1.0.1', preview: true });
}

test('kernel arguments an admin types reach the kernel line as one iPXE command', async () => {
  // Quotes (the kernel reads "a b" as one value), "=" and "," inside values, ${…} for iPXE to fill in.
  for (const args of ['systemd.unit=graphical.target "bb.label=a b" x=\'y\'', 'hostname=${hostname} ip=${net0/ip}', 'a=1,2,3 b==c', 'c#d x;y a||b']) {
    const p = await planWith(args);
    assert.equal(p.kind, 'image', p.kind === 'error' ? p.reason : '');
    if (p.kind === 'image') assertKernelLine(p);
  }
});

test('a word iPXE reads as a comment or command separator is an error plan, not a truncated line', async () => {
  for (const [args, word] of [['quiet # debug', '#'], ['#nomodeset', '#nomodeset'], ['a ; b', ';'], ['x || y', '||'], ['x && y', '&&']] as const) {
    const p = await planWith(args);
    assert.equal(p.kind, 'error', `${args}: ${p.kind === 'image' ? p.script : ''}`);
    if (p.kind !== 'error') continue;
    assert.ok(p.reason.includes(`kernel argument "${word}" would end the iPXE command line`), p.reason);
    // The error script itself stays well-formed: every echo is one command.
    for (const l of p.script.split('\n').filter((x) => x.startsWith('echo'))) assert.equal(ipxeCommands(l).length, 1, l);
  }
});

test('a command line longer than the kernel keeps is an error plan', async () => {
  const fits = await planWith('x'.repeat(1500));
  assert.equal(fits.kind, 'image');
  const long = await planWith(Array.from({ length: 200 }, (_, i) => `arg${i}=value${i}`).join(' '));
  assert.equal(long.kind, 'error');
  if (long.kind === 'error') assert.match(long.reason, new RegExp(`kernel command line is \\d+ bytes; Linux keeps only ${KERNEL_CMDLINE_MAX}`));
});

test('image descriptions with ";", "#", "&&", "||" stay one menu item', async () => {
  const p = await planner().plan({ mac: 'aa:bb:cc:0e:01:01', branchId: branch, serverAddress: '10.1.0.1', preview: true });
  assert.equal(p.kind, 'menu');
  const items = p.script.split('\n').filter((l) => l.startsWith('item ') || l.startsWith('echo '));
  assert.ok(items.length >= 3, p.script);
  for (const l of items) assert.equal(ipxeCommands(l).length, 1, `${l}\n${p.script}`);
  assert.match(p.script, /\nitem img0 deb v1 - Lab build beta 2 more less\n/);
});
