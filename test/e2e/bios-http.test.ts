// Case 2 of issue 6: as case 1, but the root is the whole squashfs fetched over HTTP from the
// block store's assembled-image URL (live-boot's fetch=), into RAM.
import { test } from 'node:test';
import { runCase, MAC_HEXHYP } from '../helpers/vm/run-case.ts';
import { labInventory } from '../helpers/vm/inventory.ts';

const MAC = '52:54:00:e2:02:01';
// Arguments as an admin types them (double quotes the kernel reads as one value, "=" and ","
// inside values, an empty value): real iPXE passes them on word by word, and /proc/cmdline must
// equal the script's kernel line (run-case.ts). Module-style names, so nothing acts on them.
const ADMIN_ARGS = 'bb.quoted="two words" bb.list=a,b=c bb.empty=';
// A variable, not a literal: LabOptions' machine type predates kernelArgs (the inventory has it).
const machine = { mac: MAC, hostname: 'vm-bios-http', image: 'e2e-http', kernelArgs: ADMIN_ARGS };

test('e2e 2: BIOS + iPXE ROM → branchboot DHCP → script → kernel → root over HTTP (fetch=) → marker', { timeout: 420_000 }, async (t) => {
  await runCase(t, {
    name: 'bios-http',
    needs: ['dhcp'],
    inventory: labInventory({
      dhcp: 'authoritative',
      images: [{ name: 'e2e-http', flavor: 'live-boot', transport: 'http' }],
      machines: [machine],
    }),
    images: [{ name: 'e2e-http', marker: 'root-over-http', flavor: 'live-boot' }],
    vms: [{
      name: 'vm-bios-http', mac: MAC, firmware: 'bios', marker: 'root-over-http',
      expectEvents: ['dhcp.offer', 'dhcp.ack', 'http.script', 'http.kernel', 'http.initrd', 'http.root'],
      mustHave: ['boot=live', /^fetch=http:\/\/10\.88\.0\.1:8080\/images\/e2e-http\/1\/[\w.-]+$/, `BOOTIF=01-${MAC_HEXHYP(MAC)}`, 'console=ttyS0,115200n8', 'bb.quoted="two', 'words"', 'bb.list=a,b=c', 'bb.empty='],
    }],
  });
});
