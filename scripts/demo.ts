// `npm run demo`: branchboot booting a real VM, end to end, in about a minute. It builds a
// throwaway network (namespace + bridge), starts `branchboot serve` on it, imports a small demo
// image, boots one QEMU VM from the network and streams the VM's serial console and the boot
// timeline branchboot records (DHCP → script → kernel → initrd → root) to this terminal, then
// tears everything down. Needs root (namespaces, taps) and the packages in scripts/apt/e2e.txt.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBranchboot, DEFAULT_CONSOLE_ARGS } from '../test/helpers/vm/branchboot.ts';
import { readBootOutcome } from '../test/helpers/vm/console.ts';
import { buildInitramfs } from '../test/helpers/vm/initramfs.ts';
import { labInventory } from '../test/helpers/vm/inventory.ts';
import { ensureKernel } from '../test/helpers/vm/kernel.ts';
import { vmSkipReason } from '../test/helpers/vm/prerequisites.ts';
import { plainConsole, runVm } from '../test/helpers/vm/qemu.ts';
import { buildRootImage } from '../test/helpers/vm/rootimage.ts';
import { ipxeGaveUp } from '../test/helpers/vm/scenario.ts';
import { formatEvent, TimelineReader, type TimelineEvent } from '../test/helpers/vm/timeline.ts';
import { createVmNet } from '../test/helpers/vm/vmnet.ts';

const MAC = '52:54:00:de:00:01';
const tty = process.stdout.isTTY;
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const cyan = (s: string) => (tty ? `\x1b[36m${s}\x1b[0m` : s);
const t0 = Date.now();
const stamp = () => dim(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s]`);
const indent = (text: string) => `${text.trimEnd().replace(/^/gm, '    ')}\n`;
const say = (s: string) => process.stdout.write(`${stamp()} ${bold(s)}\n`);

async function main(): Promise<number> {
  const why = vmSkipReason();
  if (why) {
    process.stderr.write(`demo: cannot run here: ${why}\n`);
    return 1;
  }
  const firmware = process.argv.includes('--uefi') ? 'uefi' : 'bios';
  const transport = process.argv.includes('--http') ? 'http' : 'nbd';
  say('preparing the kernel, the initramfs and a demo image (cached after the first run)');
  const kernel = await ensureKernel();
  const initrd = await buildInitramfs(kernel);
  const image = await buildRootImage({ marker: 'hello-from-branchboot' });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'branchboot-demo-'));
  const vn = await createVmNet();
  // quiet: the kernel's own boot messages would bury the steps the demo is about.
  const bb = createBranchboot(vn, dir, { consoleArgs: `${DEFAULT_CONSOLE_ARGS} quiet` });
  const abort = new AbortController();
  const cleanup = async () => {
    abort.abort();
    await bb.stop();
    await vn.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => { say('interrupted: cleaning up'); abort.abort(); });
  try {
    say(`network ${vn.serverIp}/24 in namespace ${vn.server.ns}; branchboot data in ${dir}`);
    const flavor = transport === 'nbd' ? 'nbd-root' : 'live-boot';
    const inv = path.join(dir, 'inventory.yaml');
    const { stringify } = await import('yaml');
    fs.writeFileSync(inv, stringify(labInventory({
      dhcp: 'authoritative',
      images: [{ name: 'demo', flavor, transport }],
      machines: [{ mac: MAC, hostname: 'demo-pc', image: 'demo' }],
    })));
    say('$ branchboot apply inventory.yaml');
    process.stdout.write(indent(bb.cliOk(['apply', inv])));
    say('$ branchboot image import root.squashfs --name demo');
    process.stdout.write(indent(bb.cliOk(['image', 'import', image, '--name', 'demo', '--flavor', flavor, '--kernel', kernel.vmlinuz, '--initrd', initrd.path], 300_000)));
    say('$ branchboot serve');
    await bb.start();
    await vn.startRouterAdvert();
    const script = bb.get(`/boot/${MAC}.ipxe`);
    say(`the iPXE script branchboot will hand ${MAC}:`);
    process.stdout.write(indent(script.body));

    say(`booting a ${firmware.toUpperCase()} VM (QEMU, TCG) from the network; console below, boot events in cyan`);
    const timeline = new TimelineReader(path.join(dir, 'var', 'branchboot.db'));
    await new Promise((res) => setTimeout(res, 300));   // events reach the database in 100 ms batches
    timeline.next();   // skip the preview request above: only the VM's own steps from here
    // Events carry the server's clock (same host): stamp them on the demo's own time line.
    const showEvent = (e: TimelineEvent) => process.stdout.write(`${dim(`[${((e.at - t0) / 1000).toFixed(1).padStart(5)} s]`)} ${cyan(`event ${formatEvent(e, e.at).replace(/^\+\s*[\d.]+ s\s+/, '')}`)}\n`);
    const poll = setInterval(() => {
      for (const e of timeline.next(MAC)) showEvent(e);
    }, 250);
    let partial = '';
    const result = await runVm({
      netns: vn.switchNs, tap: vn.addTap(), mac: MAC, firmware,
      timeoutMs: 240_000, logFile: path.join(dir, 'console.log'), signal: abort.signal,
      giveUpWhen: ipxeGaveUp,
      onConsole: (text) => {
        // Whole lines only: an escape sequence split across two reads must not leak half-stripped.
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines.map(plainConsole)) if (l.trim()) process.stdout.write(`${stamp()} ${dim('│')} ${l}\n`);
      },
    });
    await new Promise((res) => setTimeout(res, 400));
    clearInterval(poll);
    for (const e of timeline.next(MAC)) showEvent(e);
    timeline.close();
    const o = readBootOutcome(result.console);
    if (o.marker) {
      say(`the VM booted the demo image over ${transport} and printed "${o.marker}" in ${(result.durationMs / 1000).toFixed(1)} s`);
      return 0;
    }
    say(`the VM did not finish: ${o.failure ?? (result.timedOut ? 'timed out' : result.gaveUp ? 'iPXE gave up' : 'no marker')}`);
    return 1;
  } finally {
    say('cleaning up (VM, branchboot, namespaces)');
    await cleanup();
  }
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
