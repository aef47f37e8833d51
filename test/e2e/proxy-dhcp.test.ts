// Case 4 of issue 6: a stock DHCP server (dnsmasq, addresses only, no PXE options) beside
// branchboot in proxy mode: the PXE ROM takes its address from dnsmasq and its boot answer
// from branchboot, and the VM still boots.
import path from 'node:path';
import { test } from 'node:test';
import { runCase, MAC_HEXHYP } from '../helpers/vm/run-case.ts';
import { labInventory } from '../helpers/vm/inventory.ts';

const MAC = '52:54:00:e2:04:01';

test('e2e 4: dnsmasq gives addresses, branchboot in proxy mode gives the boot → marker', { timeout: 420_000 }, async (t) => {
  await runCase(t, {
    name: 'proxy-dhcp',
    needs: ['dhcp', 'nbd'],
    tools: ['dnsmasq'],
    inventory: labInventory({
      dhcp: 'proxy',
      images: [{ name: 'e2e-proxy', flavor: 'nbd-root', transport: 'nbd' }],
      machines: [{ mac: MAC, hostname: 'vm-proxy', image: 'e2e-proxy' }],
    }),
    images: [{ name: 'e2e-proxy', marker: 'proxy-root', flavor: 'nbd-root' }],
    beforeBoot: (sc) => {
      // Addresses only: dnsmasq knows nothing of PXE; --no-ping keeps its offer fast.
      sc.vn.server.spawn(['timeout', '3600', 'dnsmasq', '--keep-in-foreground', '--port=0', '--bind-interfaces', `--interface=${sc.vn.server.ifnames[0]}`,
        '--dhcp-range=10.88.0.50,10.88.0.99,255.255.255.0', `--dhcp-leasefile=${path.join(sc.out, 'dnsmasq.leases')}`,
        '--no-ping', '--log-dhcp', `--log-facility=${path.join(sc.out, 'dnsmasq.log')}`]);
    },
    vms: [{
      name: 'vm-proxy', mac: MAC, firmware: 'bios', marker: 'proxy-root',
      // No dhcp.ack: the client takes its lease from dnsmasq; branchboot only offers the boot.
      expectEvents: ['dhcp.offer', 'http.script', 'http.kernel', 'http.initrd', 'nbd.connect'],
      mustHave: ['root=/dev/nbd0', /^nbdroot=10\.88\.0\.1(,|:10809\/)e2e-proxy(@1)?(,nbd0)?$/, `BOOTIF=01-${MAC_HEXHYP(MAC)}`, 'console=ttyS0,115200n8'],
    }],
  });
});
