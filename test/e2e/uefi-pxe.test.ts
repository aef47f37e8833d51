// Case 3 of issue 6: UEFI as on real lab PCs — OVMF, the NIC without an iPXE ROM, so the
// firmware's own PXE client asks branchboot's DHCP, fetches snponly.efi over branchboot's
// TFTP (tsize probe, error-8 abort, then blksize+windowsize), and iPXE takes over: a second
// DHCP round with user class "iPXE" gets the script URL → kernel → root → marker.
import { test } from 'node:test';
import { runCase, MAC_HEXHYP } from '../helpers/vm/run-case.ts';
import { labInventory } from '../helpers/vm/inventory.ts';

const MAC = '52:54:00:e2:03:01';

test('e2e 3: UEFI firmware PXE → TFTP snponly.efi → iPXE → script → kernel → marker', { timeout: 480_000 }, async (t) => {
  await runCase(t, {
    name: 'uefi-pxe',
    uefi: true,
    needs: ['dhcp', 'tftp'],
    inventory: labInventory({
      dhcp: 'authoritative',
      images: [{ name: 'e2e-uefi', flavor: 'live-boot', transport: 'http' }],
      machines: [{ mac: MAC, hostname: 'vm-uefi', image: 'e2e-uefi' }],
    }),
    images: [{ name: 'e2e-uefi', marker: 'uefi-root', flavor: 'live-boot' }],
    vms: [{
      name: 'vm-uefi', mac: MAC, firmware: 'uefi', marker: 'uefi-root', timeoutMs: 240_000,
      // tftp.file: the firmware fetched snponly.efi from branchboot, not from anywhere else.
      expectEvents: ['dhcp.offer', 'dhcp.ack', 'tftp.file', 'http.script', 'http.kernel', 'http.initrd', 'http.root'],
      mustHave: ['boot=live', /^fetch=http:\/\/10\.88\.0\.1:8080\/images\/e2e-uefi\/1\//, `BOOTIF=01-${MAC_HEXHYP(MAC)}`, 'console=ttyS0,115200n8', /^initrd=/],
    }],
  });
});
