// The scripts that boot no image, run by the iPXE real lab PCs run: QEMU (TCG) with OVMF and the
// NIC without a ROM, so the firmware's PXE client fetches snponly.efi from branchboot's TFTP and
// that iPXE (Debian's 1.0.0+git-20190125) fetches the script over HTTP — the console goes to the
// serial port under UEFI. Checks the syntax real iPXE must accept in the local, menu and error
// scripts (iseq ${platform}, menu/item --gap/choose --timeout, prompt --key --timeout) and
// that each ends in the local-disk path ("exit" back to the firmware under UEFI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { vmSkipReason } from '../../helpers/vm/prerequisites.ts';
import { createScenario, NotReady, type Scenario } from '../../helpers/vm/scenario.ts';
import { runVm, plainConsole } from '../../helpers/vm/qemu.ts';

const LOCAL = '52:54:00:b0:07:01';
const ERROR = '52:54:00:b0:07:02';
const MENU = '52:54:00:b0:07:03';

function inventory(): unknown {
  const ip = '10.88.0.1';
  return {
    branches: [{
      name: 'lab',
      subnets: [{ cidr: '10.88.0.0/24', dhcp: 'authoritative', gateway: ip, dns: [ip], range: '10.88.0.100-10.88.0.199' }],
      servers: { http: `http://${ip}:8080`, tftp: ip },
      defaultImage: 'never-imported',
      menu: { images: ['never-imported'], timeout: 2 },
    }],
    // An image without any version: every plan that wants it is an error plan.
    images: [{ name: 'never-imported', flavor: 'live-boot', transport: 'http' }],
    machines: [
      { mac: LOCAL, hostname: 'vm-local', branch: 'lab', action: 'local' },
      { mac: ERROR, hostname: 'vm-error', branch: 'lab', action: 'image', image: 'never-imported' },
      { mac: MENU, hostname: 'vm-menu', branch: 'lab', action: 'menu' },
    ],
  };
}

/** Boots until the console shows `done` (the run then ends at once); a timeout fails. */
async function bootUntil(sc: Scenario, name: string, mac: string, done: RegExp, timeoutMs: number): Promise<string> {
  const r = await runVm({
    netns: sc.vn.switchNs, tap: sc.vn.addTap(), mac, firmware: 'uefi', timeoutMs,
    logFile: path.join(sc.out, `${name}.console.log`),
    giveUpWhen: (text) => done.test(plainConsole(text)),
  });
  const text = plainConsole(r.console);
  assert.ok(r.gaveUp && !r.timedOut, `${name}: the console never reached ${done}:\n${text.slice(-3000)}`);
  return text;
}

test('local, menu and error scripts in real iPXE (UEFI)', { timeout: 420_000 }, async (t) => {
  const skip = vmSkipReason({ uefi: true });
  if (skip) return t.skip(skip);
  let sc: Scenario | undefined;
  try {
    sc = await createScenario('boot-ipxe-scripts');
    sc.apply(inventory());
    await sc.serve(['dhcp', 'tftp']);
    await sc.vn.startRouterAdvert();
    // After "exit", OVMF goes on to its next boot option; the first line it prints about that ends the run.
    const afterExit = /[\s\S]*?(BdsDxe: (loading|failed|No bootable)|Shell>|UEFI Interactive Shell|Start PXE over IPv6|>>Start HTTP)/;
    const [local, error, menu] = await Promise.all([
      bootUntil(sc, 'vm-local', LOCAL, new RegExp(`booting the local disk${afterExit.source}`), 150_000),
      bootUntil(sc, 'vm-error', ERROR, new RegExp(`Press r to retry now${afterExit.source}`), 200_000),
      bootUntil(sc, 'vm-menu', MENU, new RegExp(`branchboot - lab${afterExit.source}`), 150_000),
    ]);
    assert.match(local, /booting the local disk/, local.slice(-3000));
    assert.doesNotMatch(local, /Could not|not found|syntax/i, local.slice(-3000));
    assert.match(local, /BdsDxe|Shell>|Start PXE over IPv6|Start HTTP/, `iPXE exited to the firmware\n${local.slice(-2000)}`);

    assert.match(error, /branchboot cannot boot this machine \(52:54:00:b0:07:02\):/, error.slice(-3000));
    assert.match(error, /image never-imported has no ready version/);
    assert.match(error, /Press r to retry now, or wait 30 s to boot the local disk/);
    assert.doesNotMatch(error, /Could not|syntax/i, error.slice(-3000));

    assert.match(menu, /branchboot - lab/, menu.slice(-3000));
    assert.match(menu, /never-imported \(unavailable: /);
    assert.match(menu, /Local disk/);
    assert.doesNotMatch(menu, /Could not|syntax/i, menu.slice(-3000));
  } catch (err) {
    if (err instanceof NotReady) return t.skip(err.message);
    throw err;
  } finally {
    await sc?.destroy();
  }
});
