// Packet codec, option negotiation and name checks: the strict edges.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parsePacket, encodeRequest, encodeOack, encodeError } from '../../../src/tftp/packet.ts';
import { negotiate } from '../../../src/tftp/options.ts';
import { checkName } from '../../../src/tftp/paths.ts';
import { toNetascii } from '../../../src/tftp/source.ts';

const raw = (...parts: (number[] | string)[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const limits = { maxBlksize: 65464, maxWindowBytes: 64 * 1024 };

describe('tftp packet codec', () => {
  test('parses a UEFI-style RRQ with options, names as sent, mode lower-cased', () => {
    const p = parsePacket(raw([0, 1], 'snponly.efi\0OCTET\0blksize\0' + '1468\0tsize\0' + '0\0windowsize\0' + '4\0'));
    assert.deepEqual(p, { op: 'rrq', filename: 'snponly.efi', mode: 'octet', options: [{ name: 'blksize', value: '1468' }, { name: 'tsize', value: '0' }, { name: 'windowsize', value: '4' }] });
    assert.deepEqual(parsePacket(encodeRequest('wrq', 'x', 'octet')), { op: 'wrq', filename: 'x', mode: 'octet', options: [] });
  });

  test('refuses malformed requests with a reason', () => {
    const bad: [Buffer, RegExp][] = [
      [raw([0]), /shorter/],
      [raw([0, 1], 'file\0octet'), /without terminating NUL/],
      [raw([0, 1], 'file\0octet\0blksize\0' + '1468'), /without terminating NUL/],
      [raw([0, 1], '\0octet\0'), /empty filename/],
      [raw([0, 1], 'file\0\0'), /empty mode/],
      [raw([0, 1], 'file\0'), /without filename and mode/],
      [raw([0, 1], 'file\0octet\0blksize\0'), /option without a value/],
      [raw([0, 1], 'file\0octet\0\0' + '5\0'), /empty option name/],
      [raw([0, 1], 'fi\x01le\0octet\0'), /non-printable/],
      [raw([0, 1], 'f\xe9\0octet\0'), /non-printable/],
      [raw([0, 1], 'file\0octet\0' + 'a\0b\0'.repeat(40)), /too many/],
      [raw([0, 1], 'x'.repeat(2000) + '\0octet\0'), /longer than/],
      [raw([0, 1], 'x'.repeat(300) + '\0octet\0'), /too long/],
      [raw([0, 9]), /unknown opcode/],
      [raw([0, 4, 1]), /short ACK/],
    ];
    for (const [b, why] of bad) {
      const p = parsePacket(b);
      assert.equal(p.op, 'invalid', b.toString('latin1'));
      assert.match((p as { reason: string }).reason, why);
    }
  });

  test('ACK, ERROR, OACK round trips', () => {
    assert.deepEqual(parsePacket(raw([0, 4, 0xff, 0xfe])), { op: 'ack', block: 65534 });
    assert.deepEqual(parsePacket(encodeError(2, 'access violation')), { op: 'error', code: 2, message: 'access violation' });
    assert.deepEqual(parsePacket(raw([0, 5, 0, 8], 'no NUL \xff')), { op: 'error', code: 8, message: 'no NUL ?' });
    assert.deepEqual(parsePacket(encodeOack([{ name: 'tsize', value: '42' }])), { op: 'oack', options: [{ name: 'tsize', value: '42' }] });
    assert.ok(encodeError(0, 'x'.repeat(1000)).length < 130);
  });
});

describe('tftp option negotiation', () => {
  const o = (pairs: Record<string, string>) => Object.entries(pairs).map(([name, value]) => ({ name, value }));

  test('blksize: range, config cap, garbage, and the path MTU rule', () => {
    assert.equal(negotiate(o({ blksize: '1468' }), 10, limits).blksize, 1468);
    assert.equal(negotiate(o({ blksize: '70000' }), 10, limits).blksize, 65464);
    assert.equal(negotiate(o({ blksize: '8192' }), 10, { ...limits, maxBlksize: 1432 }).blksize, 1432);
    for (const v of ['7', '0', '-5', '+512', '0x200', '1e3', ' 512', '', '99999999999']) {
      const n = negotiate(o({ blksize: v }), 10, limits);
      assert.equal(n.blksize, 512, v);
      assert.deepEqual(n.oack, [], v);
    }
    // A frame-sized request over a smaller MTU is lowered; a fragmenting request is honoured.
    assert.equal(negotiate(o({ blksize: '1468' }), 10, { ...limits, pathMtu: 1400 }).blksize, 1368);
    assert.equal(negotiate(o({ blksize: '1468' }), 10, { ...limits, pathMtu: 1500 }).blksize, 1468);
    assert.equal(negotiate(o({ blksize: '65464' }), 10, { ...limits, pathMtu: 1500 }).blksize, 65464);
  });

  test('tsize is the exact size; timeout 1-255; windowsize capped by bytes in flight', () => {
    const n = negotiate(o({ TSIZE: '0', timeout: '3', blksize: '1468', windowsize: '16' }), 123456, limits);
    assert.deepEqual(n.oack, [{ name: 'TSIZE', value: '123456' }, { name: 'timeout', value: '3' }, { name: 'blksize', value: '1468' }, { name: 'windowsize', value: '16' }]);
    assert.equal(n.timeoutMs, 3000);
    assert.equal(negotiate(o({ timeout: '0' }), 1, limits).oack.length, 0);
    assert.equal(negotiate(o({ timeout: '256' }), 1, limits).oack.length, 0);
    // Window before blksize in the request: the cap still uses the final block size.
    assert.equal(negotiate(o({ windowsize: '16', blksize: '65464' }), 1, limits).windowsize, 1);
    assert.equal(negotiate(o({ windowsize: '16', blksize: '8192' }), 1, limits).windowsize, 8);
    assert.equal(negotiate(o({ windowsize: '0' }), 1, limits).oack.length, 0);
    assert.equal(negotiate(o({ windowsize: '65536' }), 1, limits).oack.length, 0);
    // Repeats: the first wins; unknown options are left out.
    assert.deepEqual(negotiate([{ name: 'blksize', value: '1024' }, { name: 'blksize', value: '2048' }, { name: 'multicast', value: '' }], 1, limits).oack, [{ name: 'blksize', value: '1024' }]);
  });
});

describe('tftp file names', () => {
  test('plain relative names pass', () => {
    for (const n of ['undionly.kpxe', 'pxelinux.cfg/01-aa-bb-cc-dd-ee-ff', 'grub/x86_64-efi/normal.mod', 'a..b', '...x']) {
      assert.deepEqual(checkName(n), { ok: true, rel: n });
    }
  });
  test('traversal and disguises are refused', () => {
    for (const n of ['', '..', '../x', 'a/../../x', '/etc/passwd', 'a\\b', '..\\x', '%2e%2e/x', 'a%2Fb', 'x%00', 'a//b', 'a/./b', 'a/', 'x\0y', 'a\x01']) {
      assert.equal(checkName(n).ok, false, JSON.stringify(n));
    }
  });
  test('netascii conversion', () => {
    assert.equal(toNetascii(Buffer.from('a\nb\rc')).toString('latin1'), 'a\r\nb\r\0c');
    const same = Buffer.from('no line ends');
    assert.equal(toNetascii(same), same);
  });
});
