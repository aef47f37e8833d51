import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decodePacket, encodePacket } from '../../../src/dhcp/packet.ts';
import { readClientArch, readClientUuid, readRelayInfo, readUserClasses, readMaxMessageSize } from '../../../src/dhcp/options.ts';
import { clientPacket, macBytes } from './helpers.ts';

describe('dhcp packet codec', () => {
  test('round-trips header and options', () => {
    const buf = clientPacket({ type: 1, mac: '52:54:00:12:34:56', xid: 0xdeadbeef, flags: 0x8000, giaddr: '10.1.2.3', options: [[57, [5, 192]], [93, [0, 7]]] });
    const r = decodePacket(buf);
    assert.ok(r.ok);
    assert.equal(r.packet.xid, 0xdeadbeef);
    assert.equal(r.packet.flags, 0x8000);
    assert.equal(r.packet.giaddr, (10 << 24 | 1 << 16 | 2 << 8 | 3) >>> 0);
    assert.equal(readClientArch(r.packet.options), 7);
    assert.equal(readMaxMessageSize(r.packet.options), 1472);
    assert.deepEqual(r.packet.chaddr.subarray(0, 6), macBytes('52:54:00:12:34:56').subarray(0, 6));
  });

  test('rejects truncated, wrong cookie, overrunning option, missing length byte, hlen > 16, replies', () => {
    const good = clientPacket({ type: 1, mac: '52:54:00:00:00:01' });
    assert.equal(decodePacket(good.subarray(0, 239)).ok, false);
    const cookie = Buffer.from(good); cookie[236] = 0; assert.match(String(!decodePacket(cookie).ok && (decodePacket(cookie) as { reason: string }).reason), /cookie/);
    const over = Buffer.concat([good.subarray(0, 240), Buffer.from([60, 50, 65, 66])]);
    assert.match((decodePacket(over) as { reason: string }).reason, /overruns/);
    const nolen = Buffer.concat([good.subarray(0, 240), Buffer.from([60])]);
    assert.match((decodePacket(nolen) as { reason: string }).reason, /no length/);
    const hlen = Buffer.from(good); hlen[2] = 17; assert.equal(decodePacket(hlen).ok, false);
    const reply = Buffer.from(good); reply[0] = 2; assert.equal(decodePacket(reply).ok, false);
  });

  test('joins split options (RFC 3396) and reads overloaded file/sname (RFC 2132 §9.3)', () => {
    const base = clientPacket({ type: 1, mac: '52:54:00:00:00:02', options: [[52, [1]]] });
    const b = Buffer.from(base);
    // option 60 in the file field
    Buffer.from([60, 3, 80, 88, 69, 255]).copy(b, 108);
    const r = decodePacket(Buffer.concat([b.subarray(0, b.indexOf(255, 240)), Buffer.from([60, 2, 67, 76, 255])]));
    assert.ok(r.ok);
    assert.equal(r.packet.options.get(60)!.toString(), 'CLPXE');
  });

  test('user class: raw iPXE and RFC 3004 forms', () => {
    const raw = decodePacket(clientPacket({ type: 1, mac: '52:54:00:00:00:03', options: [[77, 'iPXE']] }));
    assert.ok(raw.ok);
    assert.deepEqual(readUserClasses(raw.packet.options), ['iPXE']);
    const rfc = decodePacket(clientPacket({ type: 1, mac: '52:54:00:00:00:03', options: [[77, Buffer.concat([Buffer.from([4]), Buffer.from('iPXE'), Buffer.from([3]), Buffer.from('lab')])]] }));
    assert.ok(rfc.ok);
    assert.deepEqual(readUserClasses(rfc.packet.options), ['iPXE', 'lab']);
  });

  test('option 82 sub-options and 97 UUID in SMBIOS order', () => {
    const r = decodePacket(clientPacket({
      type: 1, mac: '52:54:00:00:00:04',
      options: [[97, [0, 0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]], [82, [1, 2, 0xab, 0xcd, 2, 1, 0x07]]],
    }));
    assert.ok(r.ok);
    assert.equal(readClientUuid(r.packet.options), '00112233-4455-6677-8899-aabbccddeeff');
    const ri = readRelayInfo(r.packet.options);
    assert.equal(ri?.circuitId, 'abcd');
    assert.equal(ri?.remoteId, '07');
  });

  test('encoder keeps within the client maximum size and keeps option 82 last', () => {
    const big: Array<[number, Buffer]> = [[53, Buffer.from([2])], [54, Buffer.alloc(4)]];
    for (let i = 0; i < 10; i++) big.push([200 + i, Buffer.alloc(100, i)]);
    big.push([82, Buffer.from([1, 1, 9])]);
    const out = encodePacket({ op: 2, htype: 1, hlen: 6, xid: 1, flags: 0, ciaddr: 0, yiaddr: 0, siaddr: 0, giaddr: 0, chaddr: Buffer.alloc(16), options: big }, 548);
    assert.ok(out && out.length <= 548);
    const r = decodePacket(Buffer.concat([Buffer.from([1]), out.subarray(1)]));
    assert.ok(r.ok);
    assert.deepEqual([...r.packet.options.keys()].at(-1), 82);
  });
});
