// Case 5 of issue 6: two machines (two MACs) in one run, assigned different images, boot at
// the same time and each reaches its own image's marker.
import { test } from 'node:test';
import { runCase, MAC_HEXHYP } from '../helpers/vm/run-case.ts';
import { labInventory } from '../helpers/vm/inventory.ts';

const MAC_A = '52:54:00:e2:05:0a';
const MAC_B = '52:54:00:e2:05:0b';

test('e2e 5: two machines, two assignments, two different images in one run', { timeout: 480_000 }, async (t) => {
  await runCase(t, {
    name: 'two-machines',
    needs: ['dhcp', 'nbd'],
    inventory: labInventory({
      dhcp: 'authoritative',
      images: [
        { name: 'e2e-alpha', flavor: 'nbd-root', transport: 'nbd' },
        { name: 'e2e-beta', flavor: 'live-boot', transport: 'http' },
      ],
      machines: [
        { mac: MAC_A, hostname: 'vm-alpha', image: 'e2e-alpha' },
        { mac: MAC_B, hostname: 'vm-beta', image: 'e2e-beta' },
      ],
    }),
    images: [
      { name: 'e2e-alpha', marker: 'image-alpha', flavor: 'nbd-root' },
      { name: 'e2e-beta', marker: 'image-beta', flavor: 'live-boot' },
    ],
    vms: [
      { name: 'vm-alpha', mac: MAC_A, firmware: 'bios', marker: 'image-alpha', timeoutMs: 240_000,
        expectEvents: ['dhcp.ack', 'http.script', 'http.kernel', 'http.initrd', 'nbd.connect'],
        mustHave: [/^nbdroot=10\.88\.0\.1(,|:10809\/)e2e-alpha/, `BOOTIF=01-${MAC_HEXHYP(MAC_A)}`] },
      { name: 'vm-beta', mac: MAC_B, firmware: 'bios', marker: 'image-beta', timeoutMs: 240_000,
        expectEvents: ['dhcp.ack', 'http.script', 'http.kernel', 'http.initrd', 'http.root'],
        mustHave: [/^fetch=http:\/\/10\.88\.0\.1:8080\/images\/e2e-beta\//, `BOOTIF=01-${MAC_HEXHYP(MAC_B)}`] },
    ],
  });
});
