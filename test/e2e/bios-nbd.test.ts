// Case 1 of issue 6: BIOS with iPXE in the NIC ROM (QEMU's default, from ipxe-qemu) →
// branchboot DHCP (authoritative) → iPXE script over HTTP → kernel + initrd → root squashfs
// from the block store over NBD → switch_root → marker.
import { test } from 'node:test';
import { runCase, MAC_HEXHYP } from '../helpers/vm/run-case.ts';
import { labInventory } from '../helpers/vm/inventory.ts';

const MAC = '52:54:00:e2:01:01';

test('e2e 1: BIOS + iPXE ROM → branchboot DHCP → script → kernel → root over NBD → marker', { timeout: 420_000 }, async (t) => {
  await runCase(t, {
    name: 'bios-nbd',
    needs: ['dhcp', 'nbd'],
    inventory: labInventory({
      dhcp: 'authoritative',
      images: [{ name: 'e2e-nbd', flavor: 'nbd-root', transport: 'nbd' }],
      machines: [{ mac: MAC, hostname: 'vm-bios-nbd', image: 'e2e-nbd' }],
    }),
    images: [{ name: 'e2e-nbd', marker: 'root-over-nbd', flavor: 'nbd-root' }],
    vms: [{
      name: 'vm-bios-nbd', mac: MAC, firmware: 'bios', marker: 'root-over-nbd',
      expectEvents: ['dhcp.offer', 'dhcp.ack', 'http.script', 'http.kernel', 'http.initrd', 'nbd.connect'],
      mustHave: ['root=/dev/nbd0', /^nbdroot=10\.88\.0\.1(,|:10809\/)e2e-nbd(@1)?(,nbd0)?$/, 'ip=dhcp', `BOOTIF=01-${MAC_HEXHYP(MAC)}`, 'console=ttyS0,115200n8'],
    }],
  });
});
