// The VM harness by itself, with no branchboot in the loop: the cached Debian kernel and the
// test initramfs boot directly (-kernel/-initrd), take a lease from dnsmasq, attach the test
// root over NBD from qemu-nbd, switch_root and print the marker. When this fails, the
// branchboot cases below cannot be trusted either; when only they fail, branchboot is at fault.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ensureKernel } from '../helpers/vm/kernel.ts';
import { buildInitramfs } from '../helpers/vm/initramfs.ts';
import { buildRootImage } from '../helpers/vm/rootimage.ts';
import { runVm } from '../helpers/vm/qemu.ts';
import { createVmNet } from '../helpers/vm/vmnet.ts';
import { vmSkipReason } from '../helpers/vm/prerequisites.ts';
import { artifactDir } from '../helpers/vm/artifacts.ts';
import { consoleTail, readBootOutcome } from '../helpers/vm/console.ts';

test('harness: direct kernel boot, DHCP from dnsmasq, root over NBD from qemu-nbd → marker', { timeout: 240_000 }, async (t) => {
  const skip = vmSkipReason({ tools: ['dnsmasq', 'qemu-nbd'] });
  if (skip) return t.skip(skip);
  const out = artifactDir('harness');
  const kernel = await ensureKernel();
  const initrd = await buildInitramfs(kernel);
  const image = await buildRootImage({ marker: 'harness-root' });
  const vn = await createVmNet();
  try {
    const ip = vn.serverIp;
    vn.server.spawn(['timeout', '600', 'dnsmasq', '--keep-in-foreground', '--port=0', '--bind-interfaces', `--interface=${vn.server.ifnames[0]}`,
      '--dhcp-range=10.88.0.100,10.88.0.199,255.255.255.0', `--dhcp-leasefile=${path.join(out, 'leases')}`, '--no-ping']);
    vn.server.spawn(['timeout', '600', 'qemu-nbd', '--read-only', '--persistent', '--export-name=root', '--format=raw', `--bind=${ip}`, image]);
    const append = `console=ttyS0,115200n8 panic=-1 root=/dev/nbd0 nbdroot=${ip},root,nbd0`;
    const r = await runVm({
      netns: vn.switchNs, tap: vn.addTap(), mac: '52:54:00:bb:00:01', firmware: 'bios',
      direct: { kernel: kernel.vmlinuz, initrd: initrd.path, append },
      timeoutMs: 120_000, logFile: path.join(out, 'console.log'),
    });
    const o = readBootOutcome(r.console);
    assert.equal(o.failure, undefined, `initramfs failed: ${o.failure}\n${consoleTail(r.console)}`);
    assert.equal(r.timedOut, false, `VM timed out\n${consoleTail(r.console)}`);
    assert.equal(o.marker, 'harness-root', consoleTail(r.console));
    assert.equal(o.cmdline, append);
    assert.match(o.rootSource ?? '', /^nbd 10\.88\.0\.1 root \/dev\/nbd0/);
    t.diagnostic(`boot to marker: ${r.durationMs} ms`);
  } finally {
    await vn.destroy();
  }
});
