// A desktop on a LAN the server is attached to but does not serve, writing a served subnet's
// address where a client with an address would (ciaddr), or sending from one: real datagrams
// over a real bridge into a real `serve`. Nothing may be offered, bound or recorded for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestNet, canUseNetns } from '../../helpers/netns.ts';
import { startServer } from './harness.ts';

const A = { cidr: '10.77.0.0/24', mode: 'authoritative' as const, ranges: ['10.77.0.100-10.77.0.199'], gateway: '10.77.0.1', leaseSeconds: 600 };
const MAC = '52:54:00:78:20:01';

// One BOOTREQUEST per argument "type:ciaddr:dest[:giaddr]", sent from port 68 out of eth0 (from 0.0.0.0
// while eth0 has no address, as a client before its first lease).
const SENDER = String.raw`
import socket, struct, sys
mac = bytes.fromhex('${MAC.replace(/:/g, '')}')
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b'eth0')
s.bind(('0.0.0.0', 68))
for i, spec in enumerate(sys.argv[1:]):
    t, ciaddr, dest, giaddr = (spec.split(':') + ['0.0.0.0'])[:4]
    p = struct.pack('!BBBBIHH4s4s4s4s16s64s128s', 1, 1, 6, 0, 0x5ec0000 + i, 0, 0x8000, socket.inet_aton(ciaddr), b'\0' * 4, b'\0' * 4, socket.inet_aton(giaddr), mac + b'\0' * 10, b'', b'')
    p += bytes([99, 130, 83, 99, 53, 1, int(t), 61, 7, 1]) + mac + bytes([255])
    s.sendto(p, (dest, 67))
`;

test('a LAN not served: DISCOVER/REQUEST/INFORM claiming a served address, or relayed with its giaddr, get nothing and leave no lease', { skip: !canUseNetns() && 'needs root and ip netns', timeout: 90_000 }, async () => {
  const net = await createTestNet({
    segments: ['lana', 'lanb'],
    hosts: {
      server: [{ segment: 'lana', addr: '10.77.0.1/24' }, { segment: 'lanb', addr: '10.78.0.1/24' }],
      cb: [{ segment: 'lanb', mac: MAC }],
    },
  });
  let srv: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    srv = await startServer(net.hosts.server!, [A]);
    const cb = net.hosts.cb!;
    const send = async (...specs: string[]) => {
      const r = await cb.run(['python3', '-c', SENDER, ...specs]);
      assert.equal(r.code, 0, r.stderr);
    };
    // Without an address: broadcasts from 0.0.0.0 naming 10.77.0.77 as ciaddr.
    await send('1:10.77.0.77:255.255.255.255', '3:10.77.0.77:255.255.255.255', '8:10.77.0.77:255.255.255.255');
    // With its staff-LAN address: broadcast, and unicast to the server's address on the served LAN.
    assert.equal((await cb.run(['ip', 'addr', 'add', '10.78.0.20/24', 'dev', 'eth0'])).code, 0);
    assert.equal((await cb.run(['ip', 'route', 'add', '10.77.0.0/24', 'via', '10.78.0.1'])).code, 0);
    await send('3:10.77.0.77:255.255.255.255', '8:10.77.0.77:10.77.0.1', '3:10.77.0.77:10.77.0.1', '1:0.0.0.0:10.77.0.1');
    // Posing as a relay of the served LAN: giaddr our own address there, or another one of it.
    await send('1:0.0.0.0:10.78.0.1:10.77.0.1', '1:0.0.0.0:10.77.0.1:10.77.0.9', '3:0.0.0.0:10.78.0.1:10.77.0.9');
    await new Promise((r) => setTimeout(r, 1500));
    await srv.t.handle.db.selectFrom('leases').select('ip').execute().then((rows) => assert.deepEqual(rows, [], 'a lease was offered or bound'));
    const answered = await srv.t.handle.db.selectFrom('boot_events').select('stage').where('mac', '=', MAC).where('stage', 'in', ['dhcp.offer', 'dhcp.ack', 'dhcp.nak', 'dhcp.inform']).execute();
    assert.deepEqual(answered, [], 'the server answered a client of the LAN it does not serve');
  } finally {
    await net.destroy();
    await srv?.stop();
  }
});
