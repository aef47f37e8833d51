// buildReply's boot fields: the options for a TFTP first file are built once per name and
// server and shared by later replies; a reply must still carry its own server, and a URL (an
// iPXE script, an HTTP Boot binary) never the TFTP server's name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReply, type BootInfo } from '../../../src/dhcp/reply.ts';
import { clientFacts } from '../../../src/dhcp/client.ts';
import { decodePacket, type DhcpPacket } from '../../../src/dhcp/packet.ts';
import { MessageType } from '../../../src/dhcp/constants.ts';
import { clientPacket, ip } from './helpers.ts';

function request(): DhcpPacket {
  const r = decodePacket(clientPacket({ type: 1, mac: '02:00:00:00:00:01', options: [[60, 'PXEClient:Arch:00000:UNDI:002001'], [93, [0, 0]]] }));
  assert.ok(r.ok);
  return r.packet;
}

function answer(boot: BootInfo): { siaddr: number; file: string; o66?: string; o67?: string } {
  const req = request();
  const buf = buildReply(req, clientFacts(req), { type: MessageType.Offer, serverId: ip('10.1.0.1'), yiaddr: ip('10.1.0.100'), boot });
  assert.ok(buf);
  const copy = Buffer.from(buf); copy[0] = 1; // decodePacket reads requests
  const r = decodePacket(copy);
  assert.ok(r.ok);
  return {
    siaddr: r.packet.siaddr, file: r.packet.file.toString('latin1').replace(/\0.*$/s, ''),
    ...(r.packet.options.has(66) && { o66: r.packet.options.get(66)!.toString() }),
    ...(r.packet.options.has(67) && { o67: r.packet.options.get(67)!.toString() }),
  };
}

test('one TFTP file name for two servers: each reply names its own', () => {
  const a = { file: { bootfile: 'undionly.kpxe', tftpServer: '10.1.0.1' }, nextServer: ip('10.1.0.1') };
  const b = { file: { bootfile: 'undionly.kpxe', tftpServer: '10.2.0.1' }, nextServer: ip('10.2.0.1') };
  const c = { file: { bootfile: 'undionly.kpxe' }, nextServer: ip('10.3.0.7') };
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(answer(a), { siaddr: ip('10.1.0.1'), file: 'undionly.kpxe', o66: '10.1.0.1', o67: 'undionly.kpxe' });
    assert.deepEqual(answer(b), { siaddr: ip('10.2.0.1'), file: 'undionly.kpxe', o66: '10.2.0.1', o67: 'undionly.kpxe' });
    // No TFTP server from the planner: next-server is the subnet's (or ours), and 66 names it.
    assert.deepEqual(answer(c), { siaddr: ip('10.3.0.7'), file: 'undionly.kpxe', o66: '10.3.0.7', o67: 'undionly.kpxe' });
  }
});

test('a URL is no TFTP name; an empty first file names nothing', () => {
  const url = 'http://10.1.0.1:8080/boot/ipxe/02-00-00-00-00-01';
  for (let i = 0; i < 2; i++) {
    assert.deepEqual(answer({ file: { bootfile: url }, nextServer: ip('10.1.0.1') }), { siaddr: ip('10.1.0.1'), file: url, o67: url });
    assert.deepEqual(answer({ file: { bootfile: '', unsupported: 'no binary' }, nextServer: ip('10.1.0.1') }), { siaddr: 0, file: '' });
  }
});
