// One server directly attached to two LANs, no relay and no dhcp.interfaces: a client's
// broadcast DISCOVER carries no address that names its subnet, so the server must know which
// interface it came in on (IP_PKTINFO on the native socket) and answer from that LAN's pool,
// out of that interface. With Node's dgram this could not be told, and such a broadcast was
// ambiguous (a warning, no answer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createTestNet, canUseNetns } from '../../helpers/netns.ts';
import { hookScript, startServer, waitFor } from './harness.ts';

const A = { cidr: '10.77.0.0/24', mode: 'authoritative' as const, ranges: ['10.77.0.100-10.77.0.199'], gateway: '10.77.0.1', leaseSeconds: 600 };
const B = { cidr: '10.78.0.0/24', mode: 'authoritative' as const, ranges: ['10.78.0.100-10.78.0.199'], gateway: '10.78.0.1', leaseSeconds: 600 };
const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '');

const twoLans = () => createTestNet({
  segments: ['lana', 'lanb'],
  hosts: {
    server: [{ segment: 'lana', addr: '10.77.0.1/24' }, { segment: 'lanb', addr: '10.78.0.1/24' }],
    ca: [{ segment: 'lana', mac: '52:54:00:77:10:01' }],
    cb: [{ segment: 'lanb', mac: '52:54:00:78:10:01' }],
  },
});

test('two directly attached LANs: each client gets an address of its own LAN, from that LAN\'s server address', { skip: !canUseNetns() && 'needs root and ip netns', timeout: 90_000 }, async () => {
  const net = await twoLans();
  let srv: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    srv = await startServer(net.hosts.server!, [A, B]);
    const bound: Record<string, string> = {};
    for (const [host, lan] of [['ca', '10\\.77'], ['cb', '10\\.78']] as const) {
      const log = path.join(srv.t.dir, `${host}.log`);
      const script = hookScript(srv.t.dir, `${host}.sh`, `echo "$1 ip=$ip serverid=$serverid router=$router" >> ${log}`);
      net.hosts[host]!.spawn(['busybox', 'udhcpc', '-f', '-i', 'eth0', '-s', script, '-V', 'PXEClient', '-t', '10', '-T', '1', '-A', '1']);
      bound[host] = await waitFor(() => /^bound .*$/m.exec(read(log))?.[0], 30_000, `${host} bound`);
      assert.match(bound[host]!, new RegExp(`ip=${lan}\\.0\\.1\\d\\d serverid=${lan}\\.0\\.1 router=${lan}\\.0\\.1`), srv.stderr());
    }
    assert.doesNotMatch(srv.stderr(), /ambiguous|several attached subnets/);
  } finally {
    await net.destroy();
    await srv?.stop();
  }
});

// A server with a second LAN it was not told to serve (a management network): broadcasts from
// there are not answered, neither when that subnet is missing from the inventory nor when
// dhcp.interfaces leaves its interface out. Before IP_PKTINFO, such a broadcast was taken for
// the one attached subnet served, and its client was offered an address of the other LAN.
for (const variant of ['subnet B not in the inventory', 'dhcp.interfaces names only eth0'] as const) {
  test(`a broadcast from a LAN not served gets no answer (${variant})`, { skip: !canUseNetns() && 'needs root and ip netns', timeout: 90_000 }, async () => {
    const net = await twoLans();
    let srv: Awaited<ReturnType<typeof startServer>> | undefined;
    try {
      srv = variant === 'subnet B not in the inventory' ? await startServer(net.hosts.server!, [A]) : await startServer(net.hosts.server!, [A, B], {}, { interfaces: ['eth0'] });
      const logs: Record<string, string> = {};
      for (const host of ['ca', 'cb']) {
        logs[host] = path.join(srv.t.dir, `${host}.log`);
        const script = hookScript(srv.t.dir, `${host}.sh`, `echo "$1 ip=$ip serverid=$serverid" >> ${logs[host]}`);
        net.hosts[host]!.spawn(['busybox', 'udhcpc', '-f', '-i', 'eth0', '-s', script, '-t', '20', '-T', '1', '-A', '1']);
      }
      const a = await waitFor(() => /^bound .*$/m.exec(read(logs.ca!))?.[0], 30_000, 'ca bound');
      assert.match(a, /ip=10\.77\.0\.1\d\d serverid=10\.77\.0\.1/);
      // udhcpc sent a DISCOVER every second meanwhile; give cb a few more.
      await new Promise((r) => setTimeout(r, 4000));
      assert.doesNotMatch(read(logs.cb!), /^bound/m);
      const leases = await srv.t.handle.db.selectFrom('leases').select(['mac', 'ip']).execute();
      assert.deepEqual(leases.map((l) => l.mac), ['52:54:00:77:10:01']);
      // Not even offered: an offer out of the other LAN's interface would hold an address of
      // that pool for a client that can never take it.
      const offers = await srv.t.handle.db.selectFrom('boot_events').select('stage').where('mac', '=', '52:54:00:78:10:01').where('stage', 'in', ['dhcp.offer', 'dhcp.ack']).execute();
      assert.equal(offers.length, 0, 'cb was offered an address');
    } finally {
      await net.destroy();
      await srv?.stop();
    }
  });
}
