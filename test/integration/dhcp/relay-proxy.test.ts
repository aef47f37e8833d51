// A client behind a real relay (isc-dhcp-relay) gets an address from its branch's pool; in
// proxy mode a real authoritative server (dnsmasq) gives the address and we give the boot file.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createTestNet, canUseNetns } from '../../helpers/netns.ts';
import { hookScript, startServer, waitFor, type RunningServer } from './harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');

describe('relay and proxy', { skip: !canUseNetns() && 'needs root and ip netns' }, () => {
  test('dhcrelay: the branch subnet is chosen by giaddr, option 82 is recorded', { timeout: 60_000 }, async () => {
    const mac = '52:54:00:78:00:01';
    const net = await createTestNet({
      segments: ['core', 'branch'],
      hosts: {
        server: [{ segment: 'core', addr: '10.77.0.1/24' }],
        relay: [{ segment: 'core', addr: '10.77.0.2/24' }, { segment: 'branch', addr: '10.88.0.1/24' }],
        client: [{ segment: 'branch', mac }],
      },
    });
    let srv: RunningServer | undefined;
    try {
      await net.hosts.server!.run(['ip', 'route', 'add', '10.88.0.0/24', 'via', '10.77.0.2']);
      srv = await startServer(net.hosts.server!, [
        { cidr: '10.77.0.0/24', mode: 'authoritative', ranges: ['10.77.0.100-10.77.0.110'] },
        { cidr: '10.88.0.0/24', mode: 'authoritative', ranges: ['10.88.0.50-10.88.0.60'], gateway: '10.88.0.1', branch: 'north' },
      ]);
      // -a: add option 82 (circuit id = the downstream interface); -iu/-id: upstream/downstream.
      const relay = net.hosts.relay!.spawn(['dhcrelay', '-d', '-4', '-a', '-iu', 'eth0', '-id', 'eth1', '10.77.0.1']);
      let relayErr = ''; relay.stderr?.on('data', (d: Buffer) => { relayErr += d.toString(); });
      const log = path.join(srv.t.dir, 'client.log');
      const script = hookScript(srv.t.dir, 'udhcpc.sh', `echo "$1 ip=$ip router=$router serverid=$serverid" >> ${log}`);
      await new Promise((r) => setTimeout(r, 500));
      const c = net.hosts.client!.spawn(['busybox', 'udhcpc', '-f', '-i', 'eth0', '-s', script, '-t', '10', '-T', '1', '-A', '1', '-q']);
      const bound = await waitFor(() => /^bound .*$/m.exec(read(log))?.[0], 25_000, 'relayed client bound').catch((e: Error) => { throw new Error(`${e.message}\nrelay: ${relayErr}\nserver: ${srv?.stderr()}`); });
      assert.match(bound, /ip=10\.88\.0\.5\d /);
      assert.match(bound, /router=10\.88\.0\.1/);
      assert.match(bound, /serverid=10\.77\.0\.1/);
      const l = await srv.t.handle.db.selectFrom('leases').selectAll().where('mac', '=', mac).executeTakeFirstOrThrow();
      assert.equal(l.subnet_id, srv.t.subnetIds.get('10.88.0.0/24'));
      assert.equal(Buffer.from(l.relay_circuit ?? '', 'hex').toString(), 'eth1');
      c.kill('SIGKILL');
    } finally { await net.destroy(); await srv?.stop(); }
  });

  test('proxy mode next to dnsmasq: address from dnsmasq, boot file from us (67 and 4011)', { timeout: 90_000 }, async () => {
    const mac = '52:54:00:78:00:02';
    const net = await createTestNet({ hosts: { server: { addr: '10.77.0.1/24' }, dnsmasq: { addr: '10.77.0.2/24' }, client: { mac } } });
    let srv: RunningServer | undefined;
    try {
      srv = await startServer(net.hosts.server!, [{ cidr: '10.77.0.0/24', mode: 'proxy' }]);
      const dir = srv.t.dir;
      net.hosts.dnsmasq!.spawn(['dnsmasq', '-k', '--conf-file=/dev/null', '--port=0', '--no-ping', '--log-facility=-', '--interface=eth0', '--user=root',
        '--dhcp-range=10.77.0.150,10.77.0.160,255.255.255.0,1h', `--dhcp-leasefile=${path.join(dir, 'dnsmasq.leases')}`, `--pid-file=${path.join(dir, 'dnsmasq.pid')}`]);
      await new Promise((r) => setTimeout(r, 800));
      // A plain client: dnsmasq gives the address, we stay silent (no boot info wanted).
      const log = path.join(dir, 'client.log');
      const script = hookScript(dir, 'udhcpc.sh', `echo "$1 ip=$ip serverid=$serverid" >> ${log}
case "$1" in bound|renew) ip addr replace "$ip/$mask" dev "$interface"; ip route replace default dev "$interface";; esac`);
      await net.hosts.client!.run(['busybox', 'udhcpc', '-f', '-q', '-i', 'eth0', '-s', script, '-t', '10', '-T', '1', '-n'], { timeoutMs: 20_000 });
      const bound = /^bound .*$/m.exec(read(log))?.[0] ?? '';
      assert.match(bound, /ip=10\.77\.0\.15\d .*serverid=10\.77\.0\.2/);
      const myIp = /ip=(\S+)/.exec(bound)![1]!;
      // Now as a PXE ROM: both offers arrive; ours has no address and the boot file.
      const r = await net.hosts.client!.run([process.execPath, '--import', 'tsx', path.join(ROOT, 'test/integration/dhcp/pxe-probe.ts'), mac, '10.77.0.1', myIp], { timeoutMs: 40_000, cwd: ROOT });
      const out = JSON.parse(r.stdout) as { offers: Array<{ yiaddr: string; serverId: string; file?: string; vendorClass?: string }>; ack?: { type: number; file?: string; yiaddr: string } };
      const fromDnsmasq = out.offers.find((o) => o.serverId === '10.77.0.2');
      const fromUs = out.offers.find((o) => o.serverId === '10.77.0.1');
      assert.ok(fromDnsmasq && /^10\.77\.0\.15\d$/.test(fromDnsmasq.yiaddr), JSON.stringify(out));
      assert.ok(fromUs, JSON.stringify(out));
      assert.equal(fromUs.yiaddr, '0.0.0.0');
      assert.equal(fromUs.file, 'undionly.kpxe');
      assert.equal(fromUs.vendorClass, 'PXEClient');
      assert.equal(out.ack?.type, 5);
      assert.equal(out.ack?.file, 'undionly.kpxe');
      assert.equal(out.ack?.yiaddr, '0.0.0.0');
      assert.equal((await srv.t.handle.db.selectFrom('leases').selectAll().execute()).length, 0, 'proxy mode never leases');
    } finally { await net.destroy(); await srv?.stop(); }
  });
});
